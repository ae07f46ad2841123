"""The user-facing ways to run a model, as the demo shows them: the zero-shot pipeline and the `xclip` command."""

from __future__ import annotations

import contextlib
import io
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..data import VideoSet
from .plots import ContactSheetRow

__all__ = ["classify_examples", "load_zero_shot_classifier", "run_classify_command"]


def load_zero_shot_classifier(model: str | os.PathLike) -> Any:
    """`pipeline("zero-shot-video-classification", model=model)`, as users call it (importing `xclip`, which this
    package does, registered the task)."""
    from transformers import pipeline

    return pipeline("zero-shot-video-classification", model=str(model))


def classify_examples(classifier: Any, video_set: VideoSet, group: str, count: int) -> list[ContactSheetRow]:
    """Scores `count` videos of `video_set` (the first video of evenly spaced classes) against its class names."""
    first_of_class = {label: video for video, label in reversed(list(zip(video_set.videos, video_set.labels)))}
    labels = sorted(first_of_class)
    chosen = [labels[round(position)] for position in _evenly_spaced(len(labels), count)]
    videos = [str(first_of_class[label]) for label in chosen]
    predictions = classifier(videos, candidate_labels=list(video_set.class_names))
    return [
        ContactSheetRow(Path(video), group, video_set.class_names[label], prediction)
        for video, label, prediction in zip(videos, chosen, predictions)
    ]


def _evenly_spaced(total: int, count: int) -> list[float]:
    count = min(count, total)
    return [index * (total - 1) / max(count - 1, 1) for index in range(count)]


def run_classify_command(video: str | os.PathLike, labels: Sequence[str], model: str | os.PathLike) -> tuple[str, str]:
    """Runs `xclip classify VIDEO --labels ... --model MODEL --top-k 3` in this process.

    Returns:
        The command line and what it printed.

    Raises:
        RuntimeError: the command failed (its error message).
    """
    from ..cli import main

    argv = ["classify", str(video), "--labels", ",".join(labels), "--model", str(model), "--top-k", "3"]
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        status = main(argv)
    if status != 0:
        raise RuntimeError(f"xclip classify failed: {errors.getvalue().strip()}")
    return shlex.join(["xclip", *argv]), printed.getvalue()
