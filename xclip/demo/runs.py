"""The demo's calls of the training script (`xclip.training.main`, i.e. `scripts/train.py`): training from random
initialisation, few-shot fine-tuning, and zero-shot evaluation of a model on a label set it was not trained on."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..data import VideoSet
from ..model_source import load_checked_config
from ..text_utils import first_line

__all__ = ["DemoError", "ModelGeometry", "ScriptRun", "model_geometry", "run_training_script", "training_command"]

logger = logging.getLogger(__name__)


class DemoError(RuntimeError):
    """A problem the demo reports in one line: e.g. a model that cannot be loaded."""


@dataclass(frozen=True)
class ModelGeometry:
    """What a model's clips must look like: `DATA.NUM_FRAMES` frames of `DATA.INPUT_SIZE` pixels."""

    num_frames: int
    image_size: int

    def opts(self) -> list[str]:
        return ["DATA.NUM_FRAMES", str(self.num_frames), "DATA.INPUT_SIZE", str(self.image_size)]


def model_geometry(model: str | os.PathLike) -> ModelGeometry:
    """The frame count and frame size of an X-CLIP folder or Hub id, read from its config (a folder's weights are
    checked to fit it, from their headers).

    Raises:
        DemoError: the folder is missing or broken, the Hub cannot be reached (offline) or has no such model, the
            config is not an X-CLIP one, or the weights do not fit it.
    """
    from ..modeling import XCLIPConfig, XCLIPModel

    try:
        config = load_checked_config(model, XCLIPConfig, XCLIPModel)
    except (OSError, ValueError) as error:  # ModelFolderError included
        raise DemoError(f"cannot load model {os.fspath(model)!r}: {first_line(error)}") from None
    return ModelGeometry(config.vision_config.num_frames, config.vision_config.image_size)


def training_command(argv: Sequence[str]) -> str:
    """The shell command that runs the training script with `argv`, as the demo logs and reports it."""
    return shlex.join(["python", "scripts/train.py", *argv])


@dataclass(frozen=True)
class ScriptRun:
    """One call of the training script: its command line, its output folder and its `metrics.json` content."""

    argv: list[str]
    output: Path
    metrics: dict[str, Any]

    @property
    def command(self) -> str:
        return training_command(self.argv)


def run_training_script(
    config: str | os.PathLike,
    output: str | os.PathLike,
    test: VideoSet,
    *,
    train: VideoSet | None = None,
    pretrained: str | os.PathLike | None = None,
    opts: Sequence[str] = (),
) -> ScriptRun:
    """Runs `scripts/train.py -cfg config --output output` on the demo's videos, in this process.

    Args:
        test: the evaluation videos and their label set (`DATA.VAL_FILE`, `DATA.LABEL_LIST`, `DATA.NUM_CLASSES`).
        train: the training videos (`DATA.TRAIN_FILE`, same label set as `test`); None evaluates only
            (`--only_test`): the zero-shot protocol when `test`'s labels are new to the model.
        pretrained: the model to start from or evaluate (`--pretrained`); None trains a random one.
        opts: more `--opts` pairs, e.g. `["SEED", "0", "TRAIN.EPOCHS", "1"]`.
    """
    from ..training import main

    data_opts = ["DATA.ROOT", str(test.root), "DATA.VAL_FILE", str(test.list_file),
                 "DATA.LABEL_LIST", str(test.labels_csv), "DATA.NUM_CLASSES", str(len(test.class_names))]
    if train is not None:
        if train.class_names != test.class_names:
            raise ValueError(f"{train.list_file} and {test.list_file} have different label sets.")
        data_opts += ["DATA.TRAIN_FILE", str(train.list_file)]
    # Each demo run writes its folder afresh: an earlier demo's run there is replaced, not refused.
    argv = ["-cfg", str(config), "--output", str(output), "--log_with", "none", "--overwrite_output"]
    if pretrained is not None:
        argv += ["--pretrained", str(pretrained)]
    if train is None:
        argv.append("--only_test")
    argv += ["--opts", *data_opts, *opts]
    logger.info("Running: %s", training_command(argv))
    metrics = main(argv)
    return ScriptRun(argv=argv, output=Path(output), metrics=metrics)
