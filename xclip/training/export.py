"""The best model of a run as a transformers folder: weights and config (with the class names), processor, card."""

from __future__ import annotations

import copy
import functools
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard
from torch import nn

from ..conversion.geometry import clip_architecture_name
from ..files import staged_folder
from ..model_cards import PAPER_URL, build_model_card, model_card_metadata, usage_snippet
from ..model_source import names_a_hub_model
from ..modeling import XCLIPConfig, XCLIPVisionConfig
from ..modeling.modeling_xclip_classification import set_class_names
from ..processing import build_processor
from .config import ExperimentConfig
from .lora import merged_copy

__all__ = ["export_model"]

logger = logging.getLogger(__name__)

# The keys that name files or folders, which the card shows by their last component only: where they were on the
# machine that trained the model is nobody's business. Other values keep their slashes (`MODEL.ARCH ViT-L/14@336px`).
_PATH_KEYS = (
    "DATA.ROOT", "DATA.TRAIN_FILE", "DATA.VAL_FILE", "DATA.LABEL_LIST", "MODEL.PRETRAINED", "MODEL.RESUME",
    "TEST.ZERO_SHOT.SPLIT_FILES", "TEST.ZERO_SHOT.NOVEL_CLASSES_OF", "OUTPUT",
)

# Top-5 accuracy is 100% by construction with this many classes or fewer, so the card leaves it out.
_MAX_CLASSES_WITHOUT_TOP5 = 5


def export_model(
    model: nn.Module,
    folder: Path,
    class_names: Sequence[str],
    config: ExperimentConfig,
    metrics: Mapping[str, Any],
) -> Path:
    """Writes `folder` (replacing an older one only once the new one is complete): `save_pretrained` of the plain
    model (LoRA adapters merged in) with `id2label` in `config.json`, the matching `XCLIPProcessor`, and a model card.

    Args:
        model: the unwrapped model (`accelerator.unwrap_model`), possibly a peft model.
        metrics: what the card reports, e.g. `{"epoch": 3, "top1": 81.2, "top5": 95.0}`.
    """
    plain = merged_copy(model)
    set_class_names(plain.config, class_names)
    with staged_folder(folder) as staging:
        plain.save_pretrained(staging)
        build_processor(config.DATA.INPUT_SIZE, config.DATA.NUM_FRAMES).save_pretrained(staging)
        _model_card(plain.config, config, class_names, metrics).save(staging / "README.md")
    logger.info("Exported the model to %s", folder)
    return folder


def _model_card(
    model_config: XCLIPConfig,
    config: ExperimentConfig,
    class_names: Sequence[str],
    metrics: Mapping[str, Any],
) -> ModelCard:
    """The card of the exported model: its sizes are read from `model_config` (the saved model's own), since a run
    that starts from an X-CLIP folder takes that folder's geometry whatever `MODEL.ARCH` says."""
    vision = model_config.vision_config
    shown = ", ".join(f"`{name}`" for name in class_names[:20]) + (" ..." if len(class_names) > 20 else "")
    if len(class_names) <= _MAX_CLASSES_WITHOUT_TOP5:
        metrics = {key: value for key, value in metrics.items() if not key.startswith("top5")}
    results = " | ".join(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}"
                         for key, value in metrics.items())
    lora = " with LoRA adapters (merged into these weights)" if config.MODEL.LORA.ENABLE else ""
    pretrained = config.MODEL.PRETRAINED
    trained = "trained" if pretrained is None else "fine-tuned"
    origin = "random initialisation" if pretrained is None else _publishable_origin(pretrained)
    base_model = pretrained if pretrained is not None and names_a_hub_model(pretrained) else None
    body = f"""# X-CLIP {trained} on {config.DATA.DATASET}

X-CLIP ([paper]({PAPER_URL}), ECCV 2022) {_describe_vision_tower(vision)}, {vision.num_frames} frames of
{vision.image_size}x{vision.image_size} px, trained with the `xclip` package's `scripts/train.py`{lora}
from `{origin}`.

## Validation (single view)

{results}

## Classes

{len(class_names)} classes, stored as `id2label` in `config.json`: {shown}

## Usage

{usage_snippet("path/to/this/folder", stored_class_names=True)}
## Training configuration

```yaml
{_publishable_config(config).to_yaml()}```
"""
    # DATA.DATASET is a free name (`kinetics400`), not a Hub dataset id, so the card names no `datasets`.
    return build_model_card(model_card_metadata(base_model=base_model), body)


def _describe_vision_tower(vision: XCLIPVisionConfig) -> str:
    """`"ViT-B/16 (patch 16, width 768, 12 layers)"`: OpenAI's name when the image tower is one of its ViTs."""
    name = clip_architecture_name(vision.hidden_size, vision.num_hidden_layers, vision.patch_size, vision.image_size)
    sizes = f"patch {vision.patch_size}, width {vision.hidden_size}, {vision.num_hidden_layers} layers"
    return f"{name or 'custom ViT'} ({sizes})"


def _publishable(value: Any) -> Any:
    """The value of a `_PATH_KEYS` key (a string or a list of them) with each path cut to its last component."""
    if isinstance(value, list):
        return [_publishable(item) for item in value]
    if isinstance(value, str) and value:
        return os.path.basename(os.path.normpath(value)) or value  # `or`: the root folder has no last component
    return value


def _publishable_origin(pretrained: str) -> str:
    """`MODEL.PRETRAINED` as the card shows it: a Hub id whole, a local folder by its name."""
    return pretrained if names_a_hub_model(pretrained) else _publishable(pretrained)


def _publishable_config(config: ExperimentConfig) -> ExperimentConfig:
    """A copy of `config` with the paths of `_PATH_KEYS` cut to their last component (`MODEL.PRETRAINED`, which may
    be a Hub id, as `_publishable_origin` shows it)."""
    published = copy.deepcopy(config)
    for key in _PATH_KEYS:
        *groups, name = key.split(".")
        owner = functools.reduce(getattr, groups, published)
        value = getattr(owner, name)
        shown = _publishable_origin(value) if key == "MODEL.PRETRAINED" and value else _publishable(value)
        setattr(owner, name, shown)
    return published
