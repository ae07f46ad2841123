"""Video-level accuracy as the original X-CLIP reports it: top-1 and top-5 in percent, plus mean-class accuracy.

A video counts as correct at top-k when its label is among the k highest scores. Ties are broken towards the lower
class index (the order of a stable sort), so results never depend on the hardware. Mean-class accuracy is the
average of the per-class top-1 accuracies over the classes that have at least one video; the original does not
report it, but it is the usual figure for unbalanced test sets such as HMDB-51 and UCF-101 splits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

import numpy as np
import torch


ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]


def as_numpy(values: ArrayLike) -> np.ndarray:
    """NumPy view of an array, a (CPU or GPU, any dtype) tensor, or nested lists.

    Half-precision tensors become float32 (NumPy has no bfloat16); float64 stays float64, since scores are made
    float64 on purpose (see `aggregate_views`)."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        return (values.float() if values.dtype in (torch.float16, torch.bfloat16) else values).numpy()
    return np.asarray(values)


def label_ranks(scores: ArrayLike, references: ArrayLike) -> np.ndarray:
    """Rank of each video's true class among its scores (0 = highest), ties broken towards the lower class index.

    Args:
        scores: `(N, K)` class scores (logits or probabilities).
        references: `(N,)` true class indices.

    Returns:
        `np.ndarray` of int64, shape `(N,)`.
    """
    scores, references = _checked(scores, references)
    true_scores = scores[np.arange(len(references)), references][:, None]
    lower_index = np.arange(scores.shape[1])[None, :] < references[:, None]
    return ((scores > true_scores) | ((scores == true_scores) & lower_index)).sum(axis=1)


def compute_video_accuracy(
    scores: ArrayLike, references: ArrayLike, num_classes: int | None = None
) -> dict[str, Any]:
    """Top-1, top-5, mean-class and per-class accuracy, in percent.

    Args:
        scores: `(N, K)` class scores per video (e.g. `aggregate_views` of the multi-view logits).
        references: `(N,)` true class indices in `[0, K)`.
        num_classes: Expected `K`, checked against `scores` when given.

    Returns:
        A dict with `top1`, `top5`, `mean_class_accuracy` (floats in percent), `per_class_accuracy` (`(K,)` top-1
        accuracy per class, `None` for a class without videos), `class_counts` (`(K,)` videos per class) and
        `num_videos`. With fewer than 5 classes, top-5 counts all classes (100 %).

    Raises:
        ValueError: Shapes disagree, there are no videos, a label is out of range, or a score is not finite.
    """
    scores, references = _checked(scores, references)
    if num_classes is not None and scores.shape[1] != num_classes:
        raise ValueError(f"scores have {scores.shape[1]} classes, expected num_classes={num_classes}.")
    ranks = label_ranks(scores, references)
    num_classes = scores.shape[1]
    counts = np.bincount(references, minlength=num_classes)
    correct = np.bincount(references, weights=ranks == 0, minlength=num_classes)
    present = counts > 0
    per_class = np.where(present, 100.0 * correct / np.maximum(counts, 1), np.nan)
    return {
        "top1": float(100.0 * np.mean(ranks < 1)),
        "top5": float(100.0 * np.mean(ranks < 5)),
        "mean_class_accuracy": float(np.mean(per_class[present])),
        "per_class_accuracy": [float(value) if is_present else None for value, is_present in zip(per_class, present)],
        "class_counts": counts.tolist(),
        "num_videos": int(len(references)),
    }


def _checked(scores: ArrayLike, references: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    scores = as_numpy(scores)
    references = as_numpy(references)
    if scores.ndim != 2:
        raise ValueError(f"scores must be [num_videos, num_classes], got shape {scores.shape}.")
    if references.shape != (scores.shape[0],):
        raise ValueError(f"references must be [num_videos] = [{scores.shape[0]}], got shape {references.shape}.")
    if len(references) == 0:
        raise ValueError("No videos to evaluate.")
    if not np.issubdtype(references.dtype, np.integer):
        raise ValueError(f"references must be integer class indices, got {references.dtype}.")
    if references.min() < 0 or references.max() >= scores.shape[1]:
        raise ValueError(
            f"references must be in [0, {scores.shape[1]}), got values from {references.min()} to {references.max()}."
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values (a diverged model?); accuracy would be meaningless.")
    return scores, references.astype(np.int64)
