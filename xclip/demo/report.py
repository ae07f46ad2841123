"""The demo's report: `report.md` (results next to chance, predictions, timings, commands, artefacts) and
`summary.json` (the same numbers for scripts and tests)."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..files import write_text_atomically
from .motion_task import DemoTask
from .runs import ScriptRun

__all__ = ["Evaluation", "PipelineResult", "DemoReport", "write_report"]


@dataclass(frozen=True)
class Evaluation:
    """One accuracy of the demo, from the training script's `metrics.json`.

    Attributes:
        key: `"closed_set"`, `"few_shot"` or `"zero_shot"`.
        title: what is measured, e.g. "closed-set: seen sentences, new videos".
        run: the training-script call that measured it.
    """

    key: str
    title: str
    run: ScriptRun

    @property
    def accuracy(self) -> float:
        return float(self.run.metrics["top1"])

    @property
    def num_classes(self) -> int:
        return int(self.run.metrics["num_classes"])

    @property
    def num_videos(self) -> int:
        return int(self.run.metrics["num_videos"])

    @property
    def chance(self) -> float:
        """Top-1 accuracy of a uniform random guess, in percent (the test sets have equal videos per class)."""
        return 100.0 / self.num_classes

    def summary(self) -> dict[str, Any]:
        return {
            "top1": self.accuracy,
            "chance": self.chance,
            "num_classes": self.num_classes,
            "num_videos": self.num_videos,
            "per_class_accuracy": self.run.metrics.get("per_class_accuracy", {}),
            "output": str(self.run.output),
            "command": self.run.command,
        }


@dataclass(frozen=True)
class PipelineResult:
    """`pipeline("zero-shot-video-classification")` on one video: what it was, and the top labels."""

    video: Path
    description: str
    predictions: list[dict[str, Any]]


@dataclass
class DemoReport:
    """Everything the report shows."""

    title: str
    model: str  # the model folder evaluated (the trained one, or --model)
    trained: bool
    seed: int
    task: DemoTask
    evaluations: list[Evaluation]
    pipeline_results: list[PipelineResult]
    timings: Mapping[str, float]
    total_seconds: float
    reproduce: str  # the command line that reruns the demo
    figures: Mapping[str, str]  # caption -> path relative to the report
    classify_output: str = ""
    classify_command: str = ""
    artefacts: Mapping[str, str] = field(default_factory=dict)  # what -> path relative to the report


def write_report(report: DemoReport, folder: str | os.PathLike) -> Path:
    """Writes `folder/report.md` and `folder/summary.json`; returns the report's path."""
    folder = Path(folder)
    summary = {
        "seed": report.seed,
        "model": report.model,
        "trained_from_scratch": report.trained,
        **{evaluation.key: evaluation.summary() for evaluation in report.evaluations},
        "pipeline": [
            {"video": str(result.video), "description": result.description, "predictions": result.predictions}
            for result in report.pipeline_results
        ],
        "timings_seconds": dict(report.timings),
        "total_seconds": report.total_seconds,
    }
    write_text_atomically(folder / "summary.json", json.dumps(summary, indent=2) + "\n")
    return write_text_atomically(folder / "report.md", _markdown(report))


def _markdown(report: DemoReport) -> str:
    sections = [
        f"# {report.title}",
        _introduction(report),
        "## Results",
        _table(
            ["evaluation", "classes", "test videos", "top-1", "chance"],
            [[evaluation.title, evaluation.num_classes, evaluation.num_videos, f"**{evaluation.accuracy:.1f}%**",
              f"{evaluation.chance:.1f}%"] for evaluation in report.evaluations],
        ),
        "Chance is the top-1 accuracy of a uniform random guess among the evaluation's sentences (every class has "
        "the same number of test videos).",
        *[f"![{caption}]({path})" for caption, path in report.figures.items()],
        "## The sentences",
        _sentences(report.task),
        "## The zero-shot pipeline",
        "`pipeline(\"zero-shot-video-classification\", model=...)` after `import xclip`, top 3 labels:",
        *[_pipeline_block(result) for result in report.pipeline_results],
    ]
    if report.classify_output:
        sections += ["## The `xclip` command", f"```console\n$ {report.classify_command}\n"
                     f"{report.classify_output.rstrip()}\n```"]
    sections += [
        "## Timings",
        _table(["stage", "seconds"], [[name, f"{seconds:.1f}"] for name, seconds in report.timings.items()]
               + [["**total**", f"**{report.total_seconds:.1f}**"]]),
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}; load "
        f"average when the report was written: {_load_average()}.",
        "## Reproduce",
        f"```bash\n{report.reproduce}\n```",
        "The demo ran the training script for each evaluation, in the same process:",
        "```bash\n" + "\n".join(evaluation.run.command for evaluation in report.evaluations) + "\n```",
    ]
    if report.artefacts:
        sections += ["## Artefacts", "\n".join(f"- {what}: `{path}`" for what, path in report.artefacts.items())]
    return "\n\n".join(sections) + "\n"


def _introduction(report: DemoReport) -> str:
    if report.trained:
        return (
            "A tiny X-CLIP was trained from random initialisation on the CPU with `scripts/train.py` on synthetic "
            "videos where only the motion tells the classes apart, then tested closed-set on new videos, few-shot on "
            "new classes, and zero-shot on sentences it never saw. "
            f"The trained model is a transformers folder: `{report.model}`."
        )
    return (
        f"The checkpoint `{report.model}` was evaluated without training on the demo's synthetic motion videos: "
        "every evaluation is zero-shot for it."
    )


def _sentences(task: DemoTask) -> str:
    groups = {
        "Trained on (closed-set test)": task.seen,
        "Held out from training (zero-shot test)": task.held_out,
        "New classes (few-shot)": task.few_shot,
    }
    return "\n".join(
        f"- {name}: " + ", ".join(f'"{motion.text}"' for motion in classes) for name, classes in groups.items()
    )


def _pipeline_block(result: PipelineResult) -> str:
    rows = [[prediction["label"], f"{prediction['score']:.1%}"] for prediction in result.predictions[:3]]
    return f"{result.description} (`{result.video}`):\n\n" + _table(["label", "score"], rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _load_average() -> str:
    try:
        return ", ".join(f"{value:.2f}" for value in os.getloadavg()) + " (1, 5, 15 min)"
    except OSError:
        return "unknown"
