"""Confusion matrices of video classification, counted and drawn with matplotlib (no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .accuracy import ArrayLike, as_numpy


# Above these class counts, per-cell numbers and then class-name ticks become unreadable and are left out.
MAX_CLASSES_WITH_CELL_VALUES = 30
MAX_CLASSES_WITH_NAMES = 120


def predicted_labels(predictions: ArrayLike) -> np.ndarray:
    """`(N,)` predicted class indices from `(N,)` labels or `(N, K)` scores (argmax, ties to the lower index)."""
    predictions = as_numpy(predictions)
    if predictions.ndim == 2:
        return predictions.argmax(axis=1)
    if predictions.ndim != 1:
        raise ValueError(f"predictions must be [N] class indices or [N, K] scores, got shape {predictions.shape}.")
    return predictions.astype(np.int64)


def confusion_matrix(predictions: ArrayLike, references: ArrayLike, num_classes: int) -> np.ndarray:
    """Count videos per (true class, predicted class).

    Args:
        predictions: `(N,)` predicted class indices, or `(N, K)` scores.
        references: `(N,)` true class indices.
        num_classes: `K`.

    Returns:
        `np.ndarray` of int64, shape `(K, K)`: row = true class, column = predicted class.
    """
    predicted = predicted_labels(predictions)
    references = as_numpy(references).astype(np.int64)
    if predicted.shape != references.shape:
        raise ValueError(f"Got {predicted.shape[0]} predictions for {references.shape[0]} references.")
    for name, labels in (("predictions", predicted), ("references", references)):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"{name} must be class indices in [0, {num_classes}).")
    return np.bincount(references * num_classes + predicted, minlength=num_classes**2).reshape(num_classes, num_classes)


def confusion_matrix_png(
    predictions: ArrayLike,
    references: ArrayLike,
    class_names: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str = "Confusion matrix",
) -> Path:
    """Draw the row-normalised confusion matrix (each true class sums to 1) as a PNG.

    Small label sets show class names and per-cell percentages; up to `MAX_CLASSES_WITH_NAMES` classes show names
    only; larger ones (Kinetics-400/600) show the matrix alone, indexed by class id, at about 5 pixels per class.

    Args:
        predictions: `(N,)` predicted class indices, or `(N, K)` scores.
        references: `(N,)` true class indices.
        class_names: `K` class names.
        path: Output PNG file.
        title: Figure title.

    Returns:
        `path` as a `Path`.
    """
    from matplotlib.figure import Figure  # the object API: no pyplot state, no GUI backend

    num_classes = len(class_names)
    counts = confusion_matrix(predictions, references, num_classes)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)

    side = float(np.clip(3 + 0.3 * num_classes, 6, 20)) if num_classes <= MAX_CLASSES_WITH_NAMES else 20.0
    figure = Figure(figsize=(side + 1.5, side), dpi=100)
    axes = figure.add_subplot()
    image = axes.imshow(rates, cmap="Blues", vmin=0.0, vmax=1.0, interpolation="nearest")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.02, label="fraction of the true class")
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(title)
    if num_classes <= MAX_CLASSES_WITH_NAMES:
        font_size = 8 if num_classes <= MAX_CLASSES_WITH_CELL_VALUES else 6
        ticks = np.arange(num_classes)
        axes.set_xticks(ticks, labels=class_names, rotation=90, fontsize=font_size)
        axes.set_yticks(ticks, labels=class_names, fontsize=font_size)
    if num_classes <= MAX_CLASSES_WITH_CELL_VALUES:
        for true_class, predicted_class in zip(*np.nonzero(counts)):
            rate = rates[true_class, predicted_class]
            axes.text(
                predicted_class,
                true_class,
                f"{100 * rate:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if rate > 0.5 else "black",
            )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", bbox_inches="tight")
    return path
