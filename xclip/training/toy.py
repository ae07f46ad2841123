"""A toy video dataset that only motion can solve, for tests, demos and smoke runs of the training script.

Each video shows a bright square over a noisy background that stays still, or moves along one of three axes (either
way along it). Every frame on its own looks alike across classes (the square starts anywhere and wraps around the
borders), so a model must compare frames to classify: the cross-frame parts of X-CLIP have to work. The classes do
not depend on the direction along the axis, so they survive the original's horizontal flips and do not need the
frames' order (which a from-scratch model learns slowly, through the MIT's temporal embedding alone).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.labels import write_label_names
from ..video.synthetic import write_video

__all__ = ["MOTION_CLASSES", "ToyDataset", "make_motion_dataset", "motion_frames"]

MOTION_CLASSES = ("staying still", "moving sideways", "moving up and down", "moving diagonally")
_AXES = {  # (rows, columns) per frame, before a random sign
    "staying still": (0, 0),
    "moving sideways": (0, 1),
    "moving up and down": (1, 0),
    "moving diagonally": (1, 1),
}


@dataclass(frozen=True)
class ToyDataset:
    """Where `make_motion_dataset` wrote a split: `DATA.ROOT`, the video list and the labels CSV."""

    root: Path
    list_file: Path
    labels_csv: Path
    class_names: tuple[str, ...]


def motion_frames(
    motion: str, rng: np.random.Generator, num_frames: int = 16, size: int = 32, square: int = 8, speed: int = 2
) -> np.ndarray:
    """One video of class `motion`: uint8 `[num_frames, size, size, 3]`, a square moving `speed` pixels per frame."""
    step_y, step_x = np.array(_AXES[motion]) * rng.choice([-1, 1], size=2)
    frames = rng.integers(0, 40, size=(num_frames, size, size, 3), dtype=np.uint8)
    colour = rng.integers(180, 256, size=3)
    top, left = rng.integers(size, size=2)
    for index in range(num_frames):
        rows = (np.arange(square) + top + step_y * speed * index) % size
        columns = (np.arange(square) + left + step_x * speed * index) % size
        frames[index][np.ix_(rows, columns)] = colour
    return frames


def make_motion_dataset(
    root: str | os.PathLike,
    videos_per_class: int = 16,
    *,
    split: str = "train",
    num_frames: int = 16,
    size: int = 32,
    seed: int = 0,
) -> ToyDataset:
    """Writes `videos_per_class` H.264 videos per motion class under `root/<split>/`, the list `root/<split>.txt`
    (`<relative path> <label>` lines, relative to `root`) and `root/labels.csv`.

    Args:
        split: file-name prefix, so that train and validation splits can share `root` (use different seeds).
        num_frames, size: frames per video and frame side (even, for H.264's 4:2:0 chroma).

    Returns:
        The paths to put in `DATA.ROOT`, `DATA.TRAIN_FILE`/`VAL_FILE` and `DATA.LABEL_LIST`.
    """
    root = Path(root)
    (root / split).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = []
    for label, name in enumerate(MOTION_CLASSES):
        for index in range(videos_per_class):
            relative = f"{split}/{name.replace(' ', '_')}_{index:03d}.mp4"
            write_video(root / relative, motion_frames(name, rng, num_frames, size), fps=8, options={"crf": "18"})
            lines.append(f"{relative} {label}\n")
    list_file = root / f"{split}.txt"
    list_file.write_text("".join(lines), encoding="utf-8")
    labels_csv = write_label_names(MOTION_CLASSES, root / "labels.csv")
    return ToyDataset(root, list_file, labels_csv, MOTION_CLASSES)
