"""What a run leaves in `OUTPUT` besides checkpoints: the per-iteration log, plots, and evaluation reports."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accelerate import Accelerator

from ..evaluation import build_metrics_report, confusion_matrix_png, write_per_class_accuracy
from ..files import write_text_atomically
from .config import ExperimentConfig
from .engine import Predictions, StepRecord

if TYPE_CHECKING:
    from evaluate import EvaluationModule  # imported where used: an optional extra

__all__ = ["StepLog", "evaluation_report", "plot_training_curves", "tracker_hparams", "write_json"]

logger = logging.getLogger(__name__)

STEP_LOG = "train_steps.jsonl"
METRICS_FILE = "metrics.json"  # the report of a run's last evaluation


class StepLog:
    """Per-iteration logging: every iteration to `OUTPUT/train_steps.jsonl` (epoch, iteration, loss, lr; main
    process), every `print_freq` iterations to the Accelerate trackers (TensorBoard).

    The file is strict JSON Lines: a non-finite loss (a diverged step) is written as `null` and read back as NaN.

    Args:
        resumed_epochs: epochs already done by the checkpoint a run resumes from. Their lines are kept; lines of
            later epochs (written after that checkpoint by the interrupted run) are dropped, and the new lines
            continue the kept lines' iteration numbers, so the file reads as one uninterrupted run even when the
            resumed run has another number of iterations per epoch (another batch size or number of processes).
    """

    def __init__(self, accelerator: Accelerator, output_dir: Path, print_freq: int, resumed_epochs: int = 0):
        self.accelerator = accelerator
        self.print_freq = print_freq
        self._file = None
        self._next_iteration: int | None = None  # where the kept lines' numbering goes on
        self._shift: int | None = None  # added to the schedule's iteration numbers; set by the first new line
        self._last_iteration: int | None = None
        if accelerator.is_main_process:  # the only process that writes the file or logs to the trackers
            kept = [record for record in self.read(output_dir) if record.epoch <= resumed_epochs]
            if kept:
                self._next_iteration = kept[-1].iteration + 1
            path = output_dir / STEP_LOG
            write_text_atomically(path, "".join(map(_json_line, kept)))
            self._file = path.open("a", encoding="utf-8")

    def write(self, record: StepRecord) -> None:
        if self._shift is None:
            self._shift = 0 if self._next_iteration is None else self._next_iteration - record.iteration
        record = replace(record, iteration=record.iteration + self._shift)
        self._last_iteration = record.iteration
        if self._file is not None:
            self._file.write(_json_line(record))
            self._file.flush()
        if record.iteration % self.print_freq == 0:
            self.accelerator.log({"train/loss": record.loss, "train/lr": record.lr}, step=record.iteration)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    @property
    def last_iteration(self) -> int | None:
        """The iteration number of the last line written by this run (main process), None before the first."""
        return self._last_iteration

    @staticmethod
    def read(output_dir: str | os.PathLike) -> list[StepRecord]:
        """The records of `OUTPUT/train_steps.jsonl`, in order (none if it does not exist).

        A last line that is not a whole record, as a run killed while writing it leaves, is left out with a warning.

        Raises:
            ValueError: another line is not a step record (naming the file and line).
        """
        path = Path(output_dir) / STEP_LOG
        if not path.is_file():
            return []
        lines = [(number, line) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if line.strip()]
        records = []
        for number, line in lines:
            try:
                records.append(StepRecord(**_finite_or_nan(json.loads(line))))
            except (ValueError, TypeError) as error:  # TypeError: missing or unknown fields
                if number != lines[-1][0]:
                    raise ValueError(f"{path} line {number} is not a step record ({error}).") from error
                logger.warning("%s: its last line is cut short (a run stopped while writing it); left out", path)
        if records and records[0].epoch == 0:  # written before epochs were numbered from 1 (29a2172)
            records = [replace(record, epoch=record.epoch + 1) for record in records]
        return records


def _json_line(record: StepRecord) -> str:
    fields = {key: None if isinstance(value, float) and not math.isfinite(value) else value
              for key, value in asdict(record).items()}
    return json.dumps(fields, allow_nan=False) + "\n"


def _finite_or_nan(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: math.nan if value is None else value for key, value in fields.items()}


def tracker_hparams(config: ExperimentConfig) -> dict[str, int | float | str | bool]:
    """The config flattened (`"TRAIN.LR"`) into values TensorBoard's hparams accept (lists and None as text)."""
    return {
        key: value if isinstance(value, (int, float, str, bool)) else str(value)
        for key, value in config.flat().items()
    }


def evaluation_report(
    predictions: Predictions,
    class_names: Sequence[str],
    metric: EvaluationModule,
    num_views: int,
    files: tuple[Path, str] | None = None,
    source: str = "the evaluation set",
) -> dict[str, Any]:
    """Accuracy of the readable videos with the `video_accuracy` metric, as a `build_metrics_report` dict.

    Args:
        metric: the loaded `video_accuracy` metric (an `evaluate` module).
        files: `(folder, name)` to also write `<name>_per_class.csv` and `<name>_confusion.png` there.
        source: the videos' list, for the error when none of them could be read.

    Raises:
        ValueError: no video could be read.
    """
    scores, labels = predictions.scores[predictions.valid], predictions.labels[predictions.valid]
    if len(labels) == 0:
        raise ValueError(
            f"No readable video to evaluate: none of the {len(predictions.valid)} videos of {source} could be read "
            "(each is named in a warning above); check DATA.ROOT and the video list."
        )
    result = metric.compute(predictions=scores.tolist(), references=labels.tolist(), num_classes=len(class_names))
    if files is not None:
        folder, name = files
        write_per_class_accuracy(result, class_names, folder / f"{name}_per_class.csv")
        confusion_matrix_png(scores, labels, class_names, folder / f"{name}_confusion.png", title=name)
    return build_metrics_report(
        result, class_names=class_names, num_unreadable=predictions.num_unreadable, num_views=num_views
    )


def write_json(path: Path, content: Mapping[str, Any]) -> None:
    write_text_atomically(path, json.dumps(content, indent=2) + "\n")


def plot_training_curves(output_dir: Path, history: Sequence[Mapping[str, Any]]) -> None:
    """`OUTPUT/loss_curve.png` (loss per iteration, and its per-epoch mean) and `OUTPUT/accuracy.png` (validation
    top-1/top-5 per epoch)."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, no display needed

    steps = StepLog.read(output_dir)
    if steps:
        last_iteration = {step.epoch: step.iteration for step in steps}  # later steps overwrite earlier ones
        epochs = [entry for entry in history if entry["epoch"] in last_iteration]
        figure = Figure(figsize=(8, 4.5))
        axes = figure.add_subplot()
        axes.plot([step.iteration for step in steps], [step.loss for step in steps], lw=0.6, alpha=0.5,
                  label="iteration")
        axes.plot([last_iteration[entry["epoch"]] for entry in epochs], [entry["train_loss"] for entry in epochs],
                  marker="o", label="epoch mean")
        axes.set_xlabel("iteration")
        axes.set_ylabel("training loss")
        axes.set_title("Training loss")
        axes.legend()
        figure.savefig(output_dir / "loss_curve.png")
    evaluated = [entry for entry in history if "val_top1" in entry]
    if evaluated:
        figure = Figure(figsize=(8, 4.5))
        axes = figure.add_subplot()
        epochs = [entry["epoch"] for entry in evaluated]
        axes.plot(epochs, [entry["val_top1"] for entry in evaluated], marker="o", label="top-1")
        axes.plot(epochs, [entry["val_top5"] for entry in evaluated], marker="s", label="top-5")
        axes.set_xlabel("epoch")
        axes.set_ylabel("validation accuracy (%)")
        axes.set_ylim(0, 100)
        axes.set_title("Validation accuracy (single view)")
        axes.legend()
        figure.savefig(output_dir / "accuracy.png")
