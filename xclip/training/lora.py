"""LoRA fine-tuning with peft (`MODEL.LORA.*`) and its merged export.

peft is one of the `train` extras: it is imported where it is used, so that the rest of `xclip.training` imports
without it (the training script names it when missing, `check_training_extras`).
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING

import torch
from torch import nn

from .config import LoraSettings
from .optimization import set_xclip_modules_trainable

if TYPE_CHECKING:
    from peft import PeftModel

__all__ = ["add_lora_adapters", "merged_copy"]

logger = logging.getLogger(__name__)


def add_lora_adapters(model: nn.Module, settings: LoraSettings) -> PeftModel:
    """Wraps `model` with LoRA adapters on `settings.TARGET_MODULES`; only the adapters train, plus X-CLIP's own
    parts when `settings.TRAIN_XCLIP_MODULES` (training from CLIP, they start random, so adapters alone cannot
    learn them).

    Raises:
        ValueError: the target pattern matches no layer of the model.
    """
    from peft import LoraConfig, get_peft_model

    lora_config = LoraConfig(
        r=settings.R,
        lora_alpha=settings.ALPHA,
        lora_dropout=settings.DROPOUT,
        target_modules=settings.TARGET_MODULES,
    )
    try:
        peft_model = get_peft_model(model, lora_config)
    except ValueError as error:
        raise ValueError(
            f"MODEL.LORA.TARGET_MODULES {settings.TARGET_MODULES!r} does not select layers of this model ({error})."
        ) from error
    if settings.TRAIN_XCLIP_MODULES:
        set_xclip_modules_trainable(peft_model)
    trainable, total = peft_model.get_nb_trainable_parameters()
    logger.info("LoRA: training %d of %d parameters (%.2f%%)", trainable, total, 100 * trainable / total)
    return peft_model


@torch.no_grad()
def merged_copy(model: nn.Module) -> nn.Module:
    """The plain model with its adapters folded into the weights (`W + scale * B A`), leaving `model` (still
    training) untouched; `model` itself when it has no adapters.

    Merges a deep copy: merging in place and unmerging afterwards would perturb the training weights by rounding.
    """
    try:
        from peft import PeftModel
    except ImportError:  # without peft no model has adapters
        return model
    if not isinstance(model, PeftModel):
        return model
    return copy.deepcopy(model).merge_and_unload()
