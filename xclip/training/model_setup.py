"""The model a run starts from: CLIP weights, an X-CLIP folder, or a random model of the config's geometry."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from torch import nn
from transformers import PretrainedConfig

from ..modeling import XCLIPConfig, XCLIPModel
from .config import ExperimentConfig

__all__ = ["ARCHITECTURES", "build_model", "enable_gradient_checkpointing", "random_model_config"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Architecture:
    """Sizes of a CLIP geometry (`MODEL.ARCH`); X-CLIP's own parts follow the original (MIT of 1 layer, prompt
    generator of 2 layers, both `embed_dim // 64` heads unless given)."""

    image_size: int | None  # None: DATA.INPUT_SIZE
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    text_width: int
    text_layers: int
    text_heads: int
    embed_dim: int
    xclip_heads: int


ARCHITECTURES = {
    "ViT-B/32": Architecture(224, 32, 768, 12, 12, 512, 12, 8, 512, 8),
    "ViT-B/16": Architecture(224, 16, 768, 12, 12, 512, 12, 8, 512, 8),
    "ViT-L/14": Architecture(224, 14, 1024, 24, 16, 768, 12, 12, 768, 12),
    "ViT-L/14@336px": Architecture(336, 14, 1024, 24, 16, 768, 12, 12, 768, 12),
    # For tests and demos: trains on 2 CPU cores in seconds; frames of DATA.INPUT_SIZE (a multiple of 8).
    "tiny": Architecture(None, 8, 32, 2, 2, 32, 2, 2, 32, 2),
}


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
    return XCLIPConfig(
        text_config={
            "hidden_size": arch.text_width,
            "intermediate_size": 4 * arch.text_width,
            "num_hidden_layers": arch.text_layers,
            "num_attention_heads": arch.text_heads,
        },
        vision_config={
            "hidden_size": arch.vision_width,
            "intermediate_size": 4 * arch.vision_width,
            "num_hidden_layers": arch.vision_layers,
            "num_attention_heads": arch.vision_heads,
            "image_size": image_size,
            "patch_size": arch.patch_size,
            "num_frames": config.DATA.NUM_FRAMES,
            "mit_hidden_size": arch.embed_dim,
            "mit_intermediate_size": 4 * arch.embed_dim,
            "mit_num_attention_heads": arch.xclip_heads,
            "drop_path_rate": config.MODEL.DROP_PATH_RATE,
        },
        projection_dim=arch.embed_dim,
        prompt_num_attention_heads=arch.xclip_heads,
        # CLIP's trained temperature, which the original keeps (and freezes with MODEL.FIX_TEXT).
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
        ValueError: the source's frame size disagrees with `DATA.INPUT_SIZE`, or its frame count with
            `DATA.NUM_FRAMES` and `MODEL.RESIZE_FRAMES` is off.
    """
    source = config.MODEL.PRETRAINED
    if source is None:
        logger.info("No MODEL.PRETRAINED: a randomly initialised %s X-CLIP", config.MODEL.ARCH)
        return XCLIPModel(random_model_config(config))
    if _model_type(source) == XCLIPConfig.model_type:
        # The frame encoder builds its drop path modules from the config, so the run's rate goes in before loading
        # (and is saved with the model), as `from_clip` does for CLIP weights.
        xclip_config = XCLIPConfig.from_pretrained(source)
        xclip_config.vision_config.drop_path_rate = config.MODEL.DROP_PATH_RATE
        model = XCLIPModel.from_pretrained(source, config=xclip_config)
        trained_frames = model.config.vision_config.num_frames
        if config.MODEL.RESIZE_FRAMES and trained_frames != config.DATA.NUM_FRAMES:
            # Loaded at its own count first: `from_pretrained` with the new count in its config would refuse the
            # embedding, or with `ignore_mismatched_sizes` replace it by a random one.
            logger.info(
                "MODEL.RESIZE_FRAMES: %s is a %d-frame model; its temporal position embedding is interpolated to %d "
                "frames", source, trained_frames, config.DATA.NUM_FRAMES,
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
            f"{source} is a {vision.num_frames}-frame model but DATA.NUM_FRAMES is {config.DATA.NUM_FRAMES}; the "
            "MIT's temporal position embedding fixes the frame count. Use a config with the model's frame count, or "
            "--opts MODEL.RESIZE_FRAMES True to interpolate that embedding to DATA.NUM_FRAMES frames and fine-tune "
            "at that count."
        )
    if vision.image_size != config.DATA.INPUT_SIZE:
        raise ValueError(
            f"{source} takes {vision.image_size}x{vision.image_size} frames but DATA.INPUT_SIZE is "
            f"{config.DATA.INPUT_SIZE}."
        )
