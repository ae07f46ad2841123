"""Fine-tuning and evaluating X-CLIP with the original recipe, through Accelerate.

- `main(argv)`: the training script (`scripts/train.py`, `xclip train`): fine-tuning, few-shot, zero-shot and
  multi-view evaluation, checkpoints with exact resume, best-model export. `xclip evaluate`
  (`xclip.training.evaluate_command`) runs its evaluation with the config filled in from a model and a video list.
- The pieces it is built from, for other scripts: `load_config` (the original's YAML keys as dataclasses),
  `build_optimizer` / `build_lr_scheduler` (the eight AdamW groups, warm-up + cosine per iteration), `MixupCutmix`,
  `ClassTexts`, `train_one_epoch` / `predict`, `save_training_state` / `load_training_state`, `export_model`.
- `make_motion_dataset`: a tiny synthetic dataset only motion separates, for tests and demos.

`main` needs the package's `train` extras and names a missing one before it starts, not half-way through a run.
"""

from .blending import MixupCutmix, smoothed_one_hot, soft_target_cross_entropy
from .checkpointing import TrainerState, latest_checkpoint, load_training_state, save_training_state
from .config import ConfigError, ExperimentConfig, load_config
from .engine import Predictions, predict, train_one_epoch
from .export import export_model
from .model_setup import build_model
from .optimization import build_lr_scheduler, build_optimizer, freeze_text_tower, parameter_groups
from .run import main, parse_args
from .text import ClassTexts
from .toy import MOTION_CLASSES, make_motion_dataset

__all__ = [
    "MOTION_CLASSES",
    "ClassTexts",
    "ConfigError",
    "ExperimentConfig",
    "MixupCutmix",
    "Predictions",
    "TrainerState",
    "build_lr_scheduler",
    "build_model",
    "build_optimizer",
    "export_model",
    "freeze_text_tower",
    "latest_checkpoint",
    "load_config",
    "load_training_state",
    "main",
    "make_motion_dataset",
    "parameter_groups",
    "parse_args",
    "predict",
    "save_training_state",
    "smoothed_one_hot",
    "soft_target_cross_entropy",
    "train_one_epoch",
]
