"""The `video_accuracy` metric folder, in the layout `evaluate.load` expects (`video_accuracy/video_accuracy.py`).

It is a package so that installing xclip ships the metric script with it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # evaluate is imported on use: importing xclip should not import it
    import evaluate


METRIC_PATH = Path(__file__).resolve().parent
"""The folder to pass to `evaluate.load`."""


def load_video_accuracy(**kwargs: Any) -> evaluate.EvaluationModule:
    """Load the `video_accuracy` metric with `evaluate`, from the package (no network, works with HF_HUB_OFFLINE=1).

    Args:
        **kwargs: Passed to `evaluate.load`, e.g. `experiment_id` to run several evaluations side by side.

    Returns:
        An `evaluate.EvaluationModule`: `compute(predictions=(N, K) scores, references=(N,) labels)` gives `top1`,
        `top5`, `mean_class_accuracy`, `per_class_accuracy`, `class_counts` and `num_videos`.
    """
    import evaluate

    return evaluate.load(os.fspath(METRIC_PATH), **kwargs)
