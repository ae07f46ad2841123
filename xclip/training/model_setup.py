"""The model a run starts from: CLIP weights, an X-CLIP folder, or a random model of the config's geometry."""

from __future__ import annotations

import logging
from pathlib import Path

from torch import nn
from transformers import PretrainedConfig

from ..conversion.geometry import CLIP_ARCHITECTURES, CLIPArchitecture
from ..model_source import ModelFolderError, load_checked_config
from ..modeling import XCLIPConfig, XCLIPModel
from .config import ExperimentConfig

__all__ = ["ARCHITECTURES", "build_model", "enable_gradient_checkpointing", "random_model_config"]

logger = logging.getLogger(__name__)


# `MODEL.ARCH`: OpenAI's ViTs, and a toy for tests and demos that trains on 2 CPU cores in seconds, with frames of
# DATA.INPUT_SIZE (a multiple of 8).
ARCHITECTURES = {**CLIP_ARCHITECTURES, "tiny": CLIPArchitecture(None, 8, 32, 2, 2, 32, 2, 2, 32, xclip_heads=2)}


def random_model_config(config: ExperimentConfig) -> XCLIPConfig:
    """The `XCLIPConfig` of `MODEL.ARCH` with `DATA.NUM_FRAMES` frames, `DATA.INPUT_SIZE` pixels.

    Raises:
        ValueError: unknown architecture, or an input size the architecture was not built for.
    """
    arch = ARCHITECTURES.get(config.MODEL.ARCH)
    if arch is None:
        raise ValueError(f"MODEL.ARCH {config.MODEL.ARCH!r} is unknown; expected one of {sorted(ARCHITECTURES)}.")
    image_size = arch.image_size or config.DATA.INPUT_SIZE
    if image_size != config.DATA.INPUT_SIZE:
        raise ValueError(
            f"MODEL.ARCH {config.MODEL.ARCH} takes {image_size}x{image_size} frames, but DATA.INPUT_SIZE is "
            f"{config.DATA.INPUT_SIZE}."
        )
    return arch.xclip_geometry(config.DATA.NUM_FRAMES, image_size).to_config(
        vision_config={"drop_path_rate": config.MODEL.DROP_PATH_RATE},
        # CLIP's trained temperature, which the original keeps (MODEL.FIX_TEXT freezes it).
        logit_scale_init_value=4.6052,
    )


def build_model(config: ExperimentConfig) -> XCLIPModel:
    """The model to train or evaluate, from `MODEL.PRETRAINED`:

    - None: a randomly initialised X-CLIP of `MODEL.ARCH` (offline tests and demos; not useful for real training);
    - a transformers CLIP folder or OpenAI's CLIP file (`ViT-B-16.pt`): X-CLIP built on those weights, as the
      original starts every run (its own parts initialised as the original's);
    - an X-CLIP folder (`save_pretrained` output, e.g. this script's `best_model`): loaded with the run's
      `MODEL.DROP_PATH_RATE`, e.g. to train few-shot from a Kinetics-400 model or to evaluate zero-shot; with
      `MODEL.RESIZE_FRAMES`, a model of another frame count becomes a `DATA.NUM_FRAMES`-frame one. Original `.pth`
      checkpoints are converted first with `scripts/convert_original_checkpoint.py`.

    Raises:
        ModelFolderError: an X-CLIP folder is incomplete or broken, or its weights do not have the shapes its
            config.json gives.
        ValueError: the source's frame size disagrees with `DATA.INPUT_SIZE`, or its frame count with
            `DATA.NUM_FRAMES` and `MODEL.RESIZE_FRAMES` is off.
    """
    source = config.MODEL.PRETRAINED
    if source is None:
        model_config = random_model_config(config)
        clip_weights = ARCHITECTURES[config.MODEL.ARCH].hub_id
        if clip_weights is None:  # a toy architecture, which has no pretrained weights
            logger.info("No MODEL.PRETRAINED: a randomly initialised %s X-CLIP", config.MODEL.ARCH)
        else:  # the original would have started from CLIP: a run that forgot --pretrained learns little
            logger.warning(
                "No MODEL.PRETRAINED (--pretrained): training a randomly initialised %s X-CLIP. The original starts "
                "from CLIP's weights: --pretrained %s", config.MODEL.ARCH, clip_weights,
            )
        return XCLIPModel(model_config)
    if _model_type(source) == XCLIPConfig.model_type:
        # The frame encoder builds its drop path modules from the config, so the run's rate goes in before loading
        # (and is saved with the model), as `from_clip` does for CLIP weights.
        try:
            xclip_config = load_checked_config(source, XCLIPConfig, XCLIPModel)
        except ModelFolderError as error:
            raise ModelFolderError(f"MODEL.PRETRAINED {source}: {error}") from None
        xclip_config.vision_config.drop_path_rate = config.MODEL.DROP_PATH_RATE
        model = XCLIPModel.from_pretrained(source, config=xclip_config)
        trained_frames = model.config.vision_config.num_frames
        if config.MODEL.RESIZE_FRAMES and trained_frames != config.DATA.NUM_FRAMES:
            # Loaded at its own count first: `from_pretrained` with the new count in its config would refuse the
            # embedding, or with `ignore_mismatched_sizes` replace it by a random one.
            logger.info(
                "MODEL.RESIZE_FRAMES: %s was trained with %d frames; its temporal position embedding is interpolated "
                "to %d frames", source, trained_frames, config.DATA.NUM_FRAMES,
            )
            model.resize_num_frames(config.DATA.NUM_FRAMES)
    else:
        model = XCLIPModel.from_clip(
            source, num_frames=config.DATA.NUM_FRAMES, drop_path_rate=config.MODEL.DROP_PATH_RATE
        )
    _check_geometry(model.config, config, source)
    return model


def enable_gradient_checkpointing(model: nn.Module) -> None:
    """Activation checkpointing of every encoder layer (`TRAIN.USE_CHECKPOINT`), in whichever name this
    transformers version has (renamed `activation_checkpointing_enable` in 5.23)."""
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})


def _model_type(source: str) -> str | None:
    """The `model_type` of a folder or Hub id; None for a file (OpenAI's CLIP) or anything without a config, which
    `from_clip` then reports precisely."""
    if Path(source).is_file():
        return None
    try:
        config_dict, _ = PretrainedConfig.get_config_dict(source)
    except (OSError, ValueError):
        return None
    return config_dict.get("model_type")


def _check_geometry(model_config: XCLIPConfig, config: ExperimentConfig, source: str) -> None:
    vision = model_config.vision_config
    if vision.num_frames != config.DATA.NUM_FRAMES:
        raise ValueError(
            f"{source} was trained with {vision.num_frames} frames, but DATA.NUM_FRAMES is "
            f"{config.DATA.NUM_FRAMES}; the MIT's temporal position embedding fixes the frame count. Use a config "
            "with the model's frame count, or --opts MODEL.RESIZE_FRAMES True to interpolate that embedding to "
            "DATA.NUM_FRAMES frames and fine-tune at that count."
        )
    if vision.image_size != config.DATA.INPUT_SIZE:
        raise ValueError(
            f"{source} takes {vision.image_size}x{vision.image_size} frames but DATA.INPUT_SIZE is "
            f"{config.DATA.INPUT_SIZE}."
        )
