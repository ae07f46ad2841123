"""The best model of a run as a transformers folder: weights and config (with the class names), processor, card."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import ModelCard
from torch import nn

from ..files import staged_folder
from ..model_cards import PAPER_URL, build_model_card, model_card_metadata, usage_snippet
from ..modeling.modeling_xclip_classification import set_class_names
from ..processing import build_processor
from .config import ExperimentConfig
from .lora import merged_copy

__all__ = ["export_model"]

logger = logging.getLogger(__name__)


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
        _model_card(config, class_names, metrics).save(staging / "README.md")
    logger.info("Exported the model to %s", folder)
    return folder


def _model_card(config: ExperimentConfig, class_names: Sequence[str], metrics: Mapping[str, Any]) -> ModelCard:
    shown = ", ".join(f"`{name}`" for name in class_names[:20]) + (" ..." if len(class_names) > 20 else "")
    results = " | ".join(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}"
                         for key, value in metrics.items())
    lora = " with LoRA adapters (merged into these weights)" if config.MODEL.LORA.ENABLE else ""
    body = f"""# X-CLIP fine-tuned on {config.DATA.DATASET}

X-CLIP ([paper]({PAPER_URL}), ECCV 2022) {config.MODEL.ARCH}, {config.DATA.NUM_FRAMES} frames of
{config.DATA.INPUT_SIZE}x{config.DATA.INPUT_SIZE} px, trained with the `xclip` package's `scripts/train.py`{lora}
from `{config.MODEL.PRETRAINED or 'random initialisation'}`.

## Validation (single view)

{results}

## Classes

{len(class_names)} classes, stored as `id2label` in `config.json`: {shown}

## Usage

{usage_snippet("path/to/this/folder", stored_class_names=True)}
## Training configuration

```yaml
{config.to_yaml()}```
"""
    return build_model_card(model_card_metadata(), body)
