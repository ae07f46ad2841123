"""The demo's figures: accuracies next to chance, and sampled frames of test videos with their predicted labels."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..video import VideoReader

__all__ = ["AccuracyBar", "ContactSheetRow", "accuracy_bars_png", "contact_sheet_png"]

CORRECT, WRONG, CHANCE = "#1a7f37", "#cf222e", "#57606a"


@dataclass(frozen=True)
class AccuracyBar:
    """One evaluation: its name, top-1 accuracy and chance level (percent), and a line on what it measures."""

    name: str
    accuracy: float
    chance: float
    detail: str = ""


def accuracy_bars_png(bars: Sequence[AccuracyBar], path: str | os.PathLike, title: str) -> Path:
    """A bar per evaluation with its value, and its chance level as a dashed line across the bar."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, no display needed

    figure = Figure(figsize=(2.6 * len(bars) + 1.5, 4.8), layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(bars))
    axes.bar(positions, [bar.accuracy for bar in bars], width=0.6, color="#0969da")
    for position, bar in zip(positions, bars):
        axes.hlines(bar.chance, position - 0.38, position + 0.38, colors=CHANCE, linestyles="--", linewidth=2)
        axes.text(position, bar.accuracy + 1.5, f"{bar.accuracy:.1f}%", ha="center", va="bottom", fontsize=12,
                  fontweight="bold")
        # Below the chance line when the bar reaches above it, so the two labels never overlap.
        chance_y = bar.chance - 2 if bar.accuracy > bar.chance + 8 else bar.chance + 2
        axes.text(position + 0.4, chance_y, f"chance\n{bar.chance:.1f}%", ha="left",
                  va="top" if chance_y < bar.chance else "bottom", fontsize=9, color=CHANCE)
    axes.set_xticks(positions, labels=[f"{bar.name}\n{bar.detail}" if bar.detail else bar.name for bar in bars])
    axes.set_xlim(-0.6, len(bars) - 0.1)
    axes.set_ylim(0, 110)
    axes.set_yticks(range(0, 101, 20))
    axes.set_ylabel("top-1 accuracy (%)")
    axes.set_title(title)
    axes.spines[["top", "right"]].set_visible(False)
    figure.savefig(path, dpi=110)
    return Path(path)


@dataclass(frozen=True)
class ContactSheetRow:
    """A test video, its set, its true label and the model's predictions (`[{"label", "score"}]`, best first)."""

    video: Path
    group: str
    true_label: str
    predictions: list[dict[str, Any]]


def contact_sheet_png(
    rows: Sequence[ContactSheetRow], path: str | os.PathLike, frames_per_row: int = 4, title: str = ""
) -> Path:
    """Evenly spaced frames of each video, then its true label and the top predictions (green when right)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(1.25 * frames_per_row + 5.2, 1.35 * len(rows) + 0.6), layout="constrained")
    grid = figure.add_gridspec(len(rows), frames_per_row + 1, width_ratios=[1] * frames_per_row + [4.2])
    for row_index, row in enumerate(rows):
        with VideoReader(row.video) as reader:  # counting the frames builds the index the read uses
            total = reader.info.num_frames
            indices = np.linspace(0, total - 1, frames_per_row).round().astype(int)
            frames = reader.read(indices)
        for column, (index, frame) in enumerate(zip(indices, frames)):
            axes = figure.add_subplot(grid[row_index, column])
            axes.imshow(frame, interpolation="nearest")
            axes.set_xticks([])
            axes.set_yticks([])
            if row_index == 0:
                axes.set_title(f"frame {index + 1}/{total}", fontsize=8)
        text = figure.add_subplot(grid[row_index, frames_per_row])
        text.axis("off")
        best = row.predictions[0]
        lines = [
            (f"{row.group} - true: {row.true_label}", "black", "bold"),
            *[
                (f"{prediction['score']:5.1%}  {prediction['label']}",
                 (CORRECT if prediction["label"] == row.true_label else WRONG) if prediction is best else CHANCE,
                 "bold" if prediction is best else "normal")
                for prediction in row.predictions[:3]
            ],
        ]
        for line_index, (line, colour, weight) in enumerate(lines):
            text.text(0.0, 0.92 - 0.24 * line_index, line, color=colour, fontweight=weight, fontsize=9,
                      transform=text.transAxes, va="top", family="monospace" if line_index else None)
    if title:
        figure.suptitle(title, fontsize=11)
    figure.savefig(path, dpi=110)
    return Path(path)
