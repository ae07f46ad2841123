"""Writing generated clips as a dataset the training script reads: videos, a video list and a labels CSV."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..video.synthetic import write_video
from .labels import write_label_names
from .video_list import VideoRecord, write_video_list

__all__ = ["REPRODUCIBLE_H264", "VideoSet", "write_video_set"]

# x264's macroblock-tree rate control encodes flat synthetic frames to different bytes from run to run (measured: up
# to 7 distinct files in 30 encodings of one 8-frame clip); without it the same frames always give the same file.
REPRODUCIBLE_H264 = {"crf": "18", "x264-params": "mbtree=0"}


@dataclass(frozen=True)
class VideoSet:
    """Videos written by `write_video_set`: the training script's `DATA.ROOT`, a video list (`DATA.TRAIN_FILE` or
    `DATA.VAL_FILE`) and its labels CSV (`DATA.LABEL_LIST`)."""

    root: Path
    list_file: Path
    labels_csv: Path
    class_names: tuple[str, ...]
    videos: tuple[Path, ...]
    labels: tuple[int, ...]


def write_video_set(
    root: str | os.PathLike,
    name: str,
    class_names: Sequence[str],
    draw_clip: Callable[[int, np.random.Generator], np.ndarray],
    videos_per_class: int,
    rng: np.random.Generator,
    *,
    labels_file: str | None = None,
    fps: float = 8,
) -> VideoSet:
    """Writes `videos_per_class` H.264 clips per class as `root/<name>/<label>_<index>.mp4`, the list `root/<name>.txt`
    (paths relative to `root`) and the labels CSV `root/<labels_file>` (default `<name>_labels.csv`).

    Args:
        draw_clip: `(label, rng) -> uint8 (T, H, W, 3)` frames (H and W even, for H.264's 4:2:0 chroma).
        rng: drawn from in order, so the same generator state writes the same files, byte for byte.
    """
    root = Path(root)
    (root / name).mkdir(parents=True, exist_ok=True)
    records = []
    with tqdm(total=len(class_names) * videos_per_class, desc=f"videos {name}", leave=False) as progress:
        for label in range(len(class_names)):
            for index in range(videos_per_class):
                relative = f"{name}/{label:02d}_{index:03d}.mp4"
                write_video(root / relative, draw_clip(label, rng), fps=fps, options=REPRODUCIBLE_H264)
                records.append(VideoRecord(root / relative, label, relative_path=relative))
                progress.update()
    return VideoSet(
        root=root,
        list_file=write_video_list(records, root / f"{name}.txt"),
        labels_csv=write_label_names(class_names, root / (labels_file or f"{name}_labels.csv")),
        class_names=tuple(class_names),
        videos=tuple(record.source for record in records),
        labels=tuple(record.label for record in records),
    )
