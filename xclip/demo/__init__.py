"""The parts of `make demo` (`scripts/demo.py`): a synthetic motion task, its videos, the training-script runs that
train and evaluate on it, the user-facing calls it shows (pipeline, `xclip classify`), its figures and its report.

Needs the `train` extra (matplotlib for the figures).
"""

from .motion_task import DemoData, DemoSizes, DemoTask, MotionClass, default_task, generate_demo_data
from .plots import AccuracyBar, ContactSheetRow, accuracy_bars_png, contact_sheet_png
from .report import DemoReport, Evaluation, PipelineResult, write_report
from .runs import DemoError, ModelGeometry, ScriptRun, model_geometry, run_training_script
from .showcase import classify_examples, load_zero_shot_classifier, run_classify_command
from .timing import StageTimer

__all__ = [
    "AccuracyBar",
    "ContactSheetRow",
    "DemoData",
    "DemoError",
    "DemoReport",
    "DemoSizes",
    "DemoTask",
    "Evaluation",
    "ModelGeometry",
    "MotionClass",
    "PipelineResult",
    "ScriptRun",
    "StageTimer",
    "accuracy_bars_png",
    "classify_examples",
    "contact_sheet_png",
    "default_task",
    "generate_demo_data",
    "load_zero_shot_classifier",
    "model_geometry",
    "run_classify_command",
    "run_training_script",
    "write_report",
]
