"""Training checkpoints: Accelerate's full state per epoch, written atomically, the last few kept.

Layout: `OUTPUT/checkpoints/epoch_<N>/` holds what `accelerator.save_state` writes (model, optimizer, scaler,
every process's RNG states) plus `trainer_state.json` (epoch, best accuracy, per-epoch history). No LR scheduler
state is saved: the LR is a function of the iteration (`IterationLRSchedule`), recomputed on resume. A checkpoint
is first written to a hidden `.epoch_<N>.partial/` and renamed when complete (`xclip.files.staged_folder`), so a
run killed while saving leaves the previous checkpoint intact and at most a half-written hidden folder that resuming
ignores.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from torch import nn

from ..files import staged_folder, staging_folder_of
from ..model_source import check_safetensors_file, safetensors_shapes

__all__ = [
    "CHECKPOINT_CONFIG_FILE",
    "TrainerState",
    "check_same_model",
    "checkpoint_folders",
    "latest_checkpoint",
    "load_training_state",
    "save_training_state",
]

logger = logging.getLogger(__name__)

TRAINER_STATE_FILE = "trainer_state.json"
CHECKPOINT_CONFIG_FILE = "config.yaml"  # the config of the run that saved the checkpoint
_CHECKPOINT_NAME = re.compile(r"epoch_(\d+)")


@dataclass
class TrainerState:
    """What the loop needs to continue where it stopped, besides what Accelerate saves.

    Attributes:
        epoch: epochs completed.
        best_top1: best single-view top-1 (percent) so far, -1 before the first evaluation.
        best_epoch: the epoch that reached it (numbered from 1, as logged), 0 if none.
        history: one dict of metrics per completed epoch (loss, lr, accuracies, unreadable videos).
    """

    epoch: int = 0
    best_top1: float = -1.0
    best_epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)

    def forget_best(self) -> None:
        """Start the best score over, as before the first evaluation (the best model it described is elsewhere)."""
        self.best_top1, self.best_epoch = TrainerState.best_top1, TrainerState.best_epoch

    @classmethod
    def read(cls, folder: Path) -> TrainerState:
        path = folder / TRAINER_STATE_FILE
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{folder} is not a complete training checkpoint: {TRAINER_STATE_FILE} is missing."
            ) from None
        except (json.JSONDecodeError, TypeError) as error:
            raise ValueError(f"{path}: not a valid trainer state ({error}).") from error


def checkpoint_folders(output_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoints under `output_dir/checkpoints`, oldest epoch first."""
    root = Path(output_dir) / "checkpoints"
    if not root.is_dir():
        return []
    complete = [
        path
        for path in root.iterdir()
        if _CHECKPOINT_NAME.fullmatch(path.name) and (path / TRAINER_STATE_FILE).is_file()
    ]
    return sorted(complete, key=lambda path: int(_CHECKPOINT_NAME.fullmatch(path.name).group(1)))


def latest_checkpoint(output_dir: str | os.PathLike) -> Path | None:
    """The newest complete checkpoint (`TRAIN.AUTO_RESUME`), or None."""
    folders = checkpoint_folders(output_dir)
    return folders[-1] if folders else None


def save_training_state(
    accelerator: Accelerator,
    output_dir: str | os.PathLike,
    state: TrainerState,
    keep_last: int,
    config_yaml: str | None = None,
) -> Path:
    """Saves the full training state as `output_dir/checkpoints/epoch_<state.epoch>`; every process must call it.

    Args:
        keep_last: complete checkpoints to keep (older ones are deleted after the new one is in place); 0 keeps all.
        config_yaml: the run's config, kept in the checkpoint as `CHECKPOINT_CONFIG_FILE` so that a resumed run can
            tell which settings it changes (`OUTPUT/config.yaml` is rewritten by every launch).

    Returns:
        The checkpoint folder.
    """
    final = Path(output_dir) / "checkpoints" / f"epoch_{state.epoch}"
    # Every process writes its own RNG states into the staging folder; the main one creates it and moves it in place.
    staged = staged_folder(final) if accelerator.is_main_process else nullcontext(staging_folder_of(final))
    with staged as staging:
        accelerator.wait_for_everyone()
        accelerator.save_state(str(staging))
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            (staging / TRAINER_STATE_FILE).write_text(json.dumps(asdict(state), indent=1), encoding="utf-8")
            if config_yaml is not None:
                (staging / CHECKPOINT_CONFIG_FILE).write_text(config_yaml, encoding="utf-8")
    if accelerator.is_main_process:
        if keep_last > 0:
            for old in checkpoint_folders(output_dir)[:-keep_last]:
                shutil.rmtree(old)
        logger.info("Saved the training state to %s", final)
    accelerator.wait_for_everyone()
    return final


def check_same_model(weights: Path, model: Any) -> None:
    """Compare the names and shapes in a checkpoint's weights with `model`'s before loading, which would otherwise
    fail with a list of hundreds of keys or a size mismatch deep inside `load_state_dict`."""
    saved = {name: shape for name, (shape, _) in safetensors_shapes([weights]).items()}
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    hint = ("Resume with the checkpoint run's DATA.NUM_FRAMES, DATA.INPUT_SIZE, MODEL.ARCH and MODEL.LORA settings "
            "(its config.yaml), or start a new run from its best_model with --pretrained.")
    for name in sorted(saved.keys() & expected.keys()):
        if saved[name] != expected[name]:
            raise ValueError(f"Cannot resume from {weights.parent}: its {name} has shape {list(saved[name])}, this "
                             f"run's model {list(expected[name])}. {hint}")
    unknown, missing = sorted(saved.keys() - expected.keys()), sorted(expected.keys() - saved.keys())
    if unknown or missing:
        example = f"it has {unknown[0]!r}" if unknown else f"it lacks {missing[0]!r}"
        raise ValueError(f"Cannot resume from {weights.parent}: its model has other weights than this run's "
                         f"({len(unknown)} unknown, {len(missing)} missing; {example}). {hint}")


def load_training_state(accelerator: Accelerator, folder: str | os.PathLike, model: nn.Module) -> TrainerState:
    """Restores what `save_training_state` saved into the prepared objects; returns the trainer state.

    Args:
        model: the prepared model, which the checkpoint's weights are checked to fit before anything loads.

    Raises:
        FileNotFoundError: `folder` does not exist or is not a complete checkpoint.
        ValueError: the checkpoint's model has other weights or shapes than this run's (another frame count, frame
            size, architecture or LoRA setting).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Cannot resume: {folder} is not a checkpoint folder.")
    state = TrainerState.read(folder)
    for weights in sorted(folder.rglob("*.safetensors")):  # a broken file would fail deep inside load_state
        check_safetensors_file(weights)
    if (folder / "model.safetensors").is_file():
        check_same_model(folder / "model.safetensors", accelerator.unwrap_model(model))
    accelerator.load_state(str(folder))
    logger.info("Resumed from %s after epoch %d", folder, state.epoch)
    return state
