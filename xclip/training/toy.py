"""A toy video dataset that only motion can solve, for tests, demos and smoke runs of the training script.

Each video shows a bright square over a noisy background that stays still, or moves along one of three axes (either
way along it). Every frame on its own looks alike across classes (the square starts anywhere and wraps around the
borders), so a model must compare frames to classify: the cross-frame parts of X-CLIP have to work. The classes do
not depend on the direction along the axis, so they survive the original's horizontal flips and do not need the
frames' order (which a from-scratch model learns slowly, through the MIT's temporal embedding alone).
"""

from __future__ import annotations

import os

import numpy as np

from ..data import VideoSet, write_video_set
from ..video import ShapeMotion, ShapeStyle, render_moving_shape

__all__ = ["MOTION_CLASSES", "make_motion_dataset", "motion_frames"]

MOTION_CLASSES = ("staying still", "moving sideways", "moving up and down", "moving diagonally")
_AXES = {  # (rows, columns) per frame, before a random sign
    "staying still": (0, 0),
    "moving sideways": (0, 1),
    "moving up and down": (1, 0),
    "moving diagonally": (1, 1),
}
_SQUARE = ShapeStyle(shapes=("square",), radius=(4.0, 4.0), colour=(180, 256), wrap=True)


def motion_frames(
    motion: str, rng: np.random.Generator, num_frames: int = 16, size: int = 32, speed: float = 2.0
) -> np.ndarray:
    """One video of class `motion`: uint8 `(num_frames, size, size, 3)`, a square of side 8 moving `speed` pixels per
    frame (either way along the class's axis)."""
    velocity = np.array(_AXES[motion]) * rng.choice([-1, 1], size=2) * speed
    return render_moving_shape(
        ShapeMotion(velocity=tuple(velocity.tolist())), rng, num_frames=num_frames, size=size, style=_SQUARE
    )


def make_motion_dataset(
    root: str | os.PathLike,
    videos_per_class: int = 16,
    *,
    split: str = "train",
    num_frames: int = 16,
    size: int = 32,
    seed: int = 0,
) -> VideoSet:
    """Writes `videos_per_class` H.264 videos per motion class under `root/<split>/`, the list `root/<split>.txt`
    (`<relative path> <label>` lines, relative to `root`) and `root/labels.csv`.

    Args:
        split: dataset name, so that train and validation splits can share `root` (use different seeds).
        num_frames, size: frames per video and frame side (even, for H.264's 4:2:0 chroma).

    Returns:
        The paths to put in `DATA.ROOT`, `DATA.TRAIN_FILE`/`VAL_FILE` and `DATA.LABEL_LIST`.
    """

    def draw_clip(label: int, rng: np.random.Generator) -> np.ndarray:
        return motion_frames(MOTION_CLASSES[label], rng, num_frames, size)

    return write_video_set(
        root, split, MOTION_CLASSES, draw_clip, videos_per_class, np.random.default_rng(seed), labels_file="labels.csv"
    )
