"""Evaluation of X-CLIP video recognition: the `video_accuracy` metric (loads offline), multi-view aggregation,
confusion matrices, and the reports an evaluation writes."""

from .accuracy import compute_video_accuracy, label_ranks
from .confusion import confusion_matrix, confusion_matrix_png, predicted_labels
from .report import build_metrics_report, summarise_splits, write_per_class_accuracy, zero_shot_summary
from .video_accuracy import METRIC_PATH, load_video_accuracy
from .views import aggregate_views


__all__ = [
    "METRIC_PATH",
    "aggregate_views",
    "build_metrics_report",
    "compute_video_accuracy",
    "confusion_matrix",
    "confusion_matrix_png",
    "label_ranks",
    "load_video_accuracy",
    "predicted_labels",
    "summarise_splits",
    "write_per_class_accuracy",
    "zero_shot_summary",
]
