"""The demo's task: motion sentences, which of them train, which test few-shot and zero-shot, and their videos.

The label language has two factors, a speed and a direction: "a shape moving slowly to the left". Training sees six
of the eight speed x direction sentences; the other two ("moving quickly to the left", "moving slowly up") are
held out for zero-shot evaluation. Each of their words appears in other training sentences ("quickly" with right, up
and down; "to the left" slowly), so a model that learned what the words mean can score sentences it never saw. The
text tower has to train for that (`MODEL.FIX_TEXT: false`): a random one knows no words.

Diagonal motions ("a shape moving up and to the left") are new classes for few-shot learning: K videos each.

Every clip shows one shape over a noisy background, brightening over the clip (see `moving_shapes` for why); shape,
colour, size and start position are random (the whole path stays inside the frame), so only the motion tells classes
apart.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import VideoSet, write_video_set
from ..video import ShapeMotion, ShapeStyle, render_moving_shape

__all__ = [
    "DEMO_STYLE",
    "DemoData",
    "DemoSizes",
    "DemoTask",
    "MotionClass",
    "default_task",
    "generate_demo_data",
    "write_motion_set",
]

logger = logging.getLogger(__name__)

SPEEDS = {"slowly": 1.5, "quickly": 3.0}  # pixels per frame: a quick path of 8 frames crosses 2/3 of a 32-pixel frame
DIAGONAL_SPEED = 3.0
DIRECTIONS = {"to the left": (0, -1), "to the right": (0, 1), "up": (-1, 0), "down": (1, 0)}
DIAGONALS = {
    "up and to the left": (-1, -1),
    "up and to the right": (-1, 1),
    "down and to the left": (1, -1),
    "down and to the right": (1, 1),
}
HELD_OUT = (("quickly", "to the left"), ("slowly", "up"))

DEMO_STYLE = ShapeStyle(fade_in=0.7)
FRAMES_PER_SECOND = 8


@dataclass(frozen=True)
class MotionClass:
    """A class of the demo: its sentence (the text the model reads) and its motion."""

    text: str
    motion: ShapeMotion


@dataclass(frozen=True)
class DemoTask:
    """The three label sets of the demo.

    Attributes:
        seen: trained on; tested closed-set on new videos.
        held_out: sentences never trained on, made of the seen sentences' words; tested zero-shot.
        few_shot: new classes, learned from K videos each.
    """

    seen: tuple[MotionClass, ...]
    held_out: tuple[MotionClass, ...]
    few_shot: tuple[MotionClass, ...]


def _moving(direction: tuple[int, int], speed: float) -> ShapeMotion:
    unit = np.asarray(direction, dtype=float) / np.linalg.norm(direction)
    return ShapeMotion(velocity=tuple(float(value) for value in unit * speed))


def default_task() -> DemoTask:
    """The speed x direction sentences, split as the module describes."""
    grid = [
        (speed, direction, MotionClass(f"a shape moving {speed} {direction}", _moving(vector, pixels)))
        for direction, vector in DIRECTIONS.items()
        for speed, pixels in SPEEDS.items()
    ]
    return DemoTask(
        seen=tuple(motion for speed, direction, motion in grid if (speed, direction) not in HELD_OUT),
        held_out=tuple(motion for speed, direction, motion in grid if (speed, direction) in HELD_OUT),
        few_shot=tuple(
            MotionClass(f"a shape moving {name}", _moving(vector, DIAGONAL_SPEED)) for name, vector in DIAGONALS.items()
        ),
    )


def write_motion_set(
    classes: Sequence[MotionClass],
    root: str | os.PathLike,
    name: str,
    videos_per_class: int,
    rng: np.random.Generator,
    *,
    num_frames: int = 8,
    size: int = 32,
    style: ShapeStyle = DEMO_STYLE,
) -> VideoSet:
    """Writes `videos_per_class` clips of each class's motion under `root` as a dataset named `name`
    (`xclip.data.write_video_set`); the class names are the sentences."""

    def draw_clip(label: int, rng: np.random.Generator) -> np.ndarray:
        return render_moving_shape(classes[label].motion, rng, num_frames=num_frames, size=size, style=style)

    texts = [motion_class.text for motion_class in classes]
    return write_video_set(root, name, texts, draw_clip, videos_per_class, rng, fps=FRAMES_PER_SECOND)


@dataclass(frozen=True)
class DemoSizes:
    """Videos per class of each set."""

    train: int = 150
    test: int = 24
    few_shot_pool: int = 16  # the K-shot videos are drawn from these


@dataclass(frozen=True)
class DemoData:
    """Every set of the demo, under one root."""

    train: VideoSet
    test: VideoSet
    few_shot_train: VideoSet
    few_shot_test: VideoSet
    zero_shot_test: VideoSet


def generate_demo_data(
    task: DemoTask,
    root: str | os.PathLike,
    sizes: DemoSizes = DemoSizes(),
    *,
    seed: int = 0,
    num_frames: int = 8,
    size: int = 32,
) -> DemoData:
    """Writes the demo's five video sets under `root`; the same `seed` writes the same files.

    Each set draws from its own generator (`[seed, set number]`), so changing one set's size leaves the others alone.
    """
    plan = {
        "train": (task.seen, sizes.train),
        "test": (task.seen, sizes.test),
        "few_shot_train": (task.few_shot, sizes.few_shot_pool),
        "few_shot_test": (task.few_shot, sizes.test),
        "zero_shot_test": (task.held_out, sizes.test),
    }
    sets = {}
    for number, (name, (classes, videos_per_class)) in enumerate(plan.items()):
        rng = np.random.default_rng([seed, number])
        sets[name] = write_motion_set(classes, root, name, videos_per_class, rng, num_frames=num_frames, size=size)
        logger.info("Wrote %d videos of %d classes to %s", len(sets[name].videos), len(classes), Path(root) / name)
    return DemoData(**sets)
