"""What an evaluation writes: the `metrics.json` content, the per-class accuracy table, zero-shot split summaries."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..files import write_text_atomically


def summarise_splits(values: Sequence[float], ddof: int = 0) -> tuple[float, float]:
    """Mean and standard deviation of a metric over test splits (e.g. top-1 of the three zero-shot splits).

    Args:
        values: One value per split.
        ddof: Delta degrees of freedom of the standard deviation: 0 (default) for the population std that
            `np.std` gives, 1 for the sample std.

    Returns:
        `(mean, std)`; the std of a single split is 0.
    """
    if len(values) == 0:
        raise ValueError("No split values to summarise.")
    array = np.asarray(values, dtype=np.float64)
    std = float(array.std(ddof=ddof)) if len(array) > ddof else 0.0
    return float(array.mean()), std


def build_metrics_report(
    result: Mapping[str, Any],
    *,
    class_names: Sequence[str] | None = None,
    num_unreadable: int = 0,
    num_views: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """The dictionary an evaluation writes to `metrics.json`.

    Args:
        result: The output of the `video_accuracy` metric (or `compute_video_accuracy`).
        class_names: Names of the `K` classes, used as keys of `per_class_accuracy` (class indices when omitted).
        num_unreadable: Videos that could not be decoded and were excluded (items with `valid == 0`).
        num_views: Views per video (`TEST.NUM_CLIP * TEST.NUM_CROP`).
        **extra: More JSON-serialisable entries, e.g. `epoch=30`, `checkpoint="best"`, `split="split1"`.

    Returns:
        A JSON-serialisable dict with `top1`, `top5`, `mean_class_accuracy` (percent), `per_class_accuracy`
        (`{class name: percent or None}`), `class_counts` (`{class name: videos}`), `num_videos` (evaluated),
        `num_unreadable`, `num_classes`, `num_views`, and the `extra` entries.
    """
    per_class = list(result["per_class_accuracy"])
    if class_names is None:
        class_names = [str(index) for index in range(len(per_class))]
    if len(class_names) != len(per_class):
        raise ValueError(f"Got {len(class_names)} class names for {len(per_class)} classes.")
    reserved = set(extra) & {"top1", "top5", "mean_class_accuracy", "num_videos", "num_unreadable", "num_views"}
    if reserved:
        raise ValueError(f"extra entries would overwrite {sorted(reserved)}.")
    return {
        "top1": result["top1"],
        "top5": result["top5"],
        "mean_class_accuracy": result["mean_class_accuracy"],
        "num_videos": result["num_videos"],
        "num_unreadable": int(num_unreadable),
        "num_classes": len(per_class),
        "num_views": int(num_views),
        **extra,
        "per_class_accuracy": dict(zip(class_names, per_class)),
        "class_counts": dict(zip(class_names, result["class_counts"])),
    }


def zero_shot_summary(split_reports: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Mean and std over splits of the top-1, top-5 and mean-class accuracy, with the per-split reports.

    Args:
        split_reports: `{split name: build_metrics_report(...)}`.

    Returns:
        `{"top1_mean", "top1_std", "top5_mean", "top5_std", "mean_class_accuracy_mean", "mean_class_accuracy_std",
        "num_splits", "splits": split_reports}`; std as in `summarise_splits`.
    """
    summary: dict[str, Any] = {}
    for key in ("top1", "top5", "mean_class_accuracy"):
        summary[f"{key}_mean"], summary[f"{key}_std"] = summarise_splits(
            [report[key] for report in split_reports.values()]
        )
    summary["num_splits"] = len(split_reports)
    summary["splits"] = dict(split_reports)
    return summary


def write_per_class_accuracy(
    result: Mapping[str, Any], class_names: Sequence[str], path: str | os.PathLike
) -> Path:
    """Write the per-class accuracy as a CSV: `id,name,videos,top1` (top-1 in percent, empty for a class without
    videos), one row per class.

    Returns:
        `path` as a `Path`.
    """
    per_class = result["per_class_accuracy"]
    if len(class_names) != len(per_class):
        raise ValueError(f"Got {len(class_names)} class names for {len(per_class)} classes.")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name", "videos", "top1"])
    for index, (name, videos, accuracy) in enumerate(zip(class_names, result["class_counts"], per_class)):
        writer.writerow([index, name, videos, "" if accuracy is None or math.isnan(accuracy) else f"{accuracy:.2f}"])
    return write_text_atomically(path, buffer.getvalue())
