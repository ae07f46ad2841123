"""The original X-CLIP's optimisation recipe: which parameters train, the eight AdamW groups, and the LR schedule.

Parameter rules of the original, mapped onto this package's parameter names (the original's in brackets):

- X-CLIP's own parts train at 10x the base LR: the message layers `*.message_*` [`message_`], the MIT `mit.*`
  [`mit`] and the prompt generator with its input projection `prompts_*` [`prompts`]. Everything else is CLIP and
  uses the base LR.
- `MODEL.FIX_TEXT` freezes what is neither the video tower (`vision_model.*`, `visual_projection`
  [`visual.*`]) nor one of X-CLIP's own parts: the text tower, `text_projection` and `logit_scale`.
- No weight decay for 1-D parameters (LayerNorms, `class_embedding`, `prompts_generator.alpha`), biases and position
  embeddings (`position_embedding` [`positional_embedding`]); decay for everything else. Quirk kept from the
  original: its "1-D" test misses 0-D tensors, so when the text is trained (`FIX_TEXT=False`) the scalar
  `logit_scale` lands in a group *with* weight decay.

The groups are (CLIP, MIT, prompts, message) x (decay, no decay), in the original's order; empty groups (e.g. with
LoRA, where most parameters are frozen) are left out.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

import torch
from torch import nn

from ..modeling import xclip_own_part

__all__ = [
    "IterationLRSchedule",
    "WarmupCosine",
    "build_lr_scheduler",
    "build_optimizer",
    "freeze_text_tower",
    "parameter_groups",
    "set_xclip_modules_trainable",
    "text_tower_trains",
]

logger = logging.getLogger(__name__)

# Searched anywhere in a parameter's name, like X-CLIP's own parts, so that wrapper prefixes match.
_VIDEO_TOWER = re.compile(r"(^|\.)(vision_model|visual_projection)\.")
_POSITION_EMBEDDING = "position_embedding"

ADAMW_BETAS = (0.9, 0.98)
ADAMW_EPS = 1e-8
XCLIP_PARTS_LR_SCALE = 10.0
MIN_LR_FRACTION = 0.01  # lr_min = LR / 100, the same absolute value for every group


def xclip_part(name: str) -> str:
    """`"mit"`, `"prompts"`, `"message"` for X-CLIP's own parameters, `"clip"` for CLIP's."""
    return xclip_own_part(name) or "clip"


def _is_text_side(name: str) -> bool:
    """The text tower, `text_projection` and `logit_scale`: neither the video tower nor X-CLIP's own parts."""
    return xclip_part(name) == "clip" and not _VIDEO_TOWER.search(name)


def freeze_text_tower(model: nn.Module) -> list[str]:
    """`MODEL.FIX_TEXT`: freezes the text tower, `text_projection` and `logit_scale`; returns the frozen names."""
    frozen = []
    for name, parameter in model.named_parameters():
        if _is_text_side(name):
            parameter.requires_grad_(False)
            frozen.append(name)
    return frozen


def text_tower_trains(model: nn.Module) -> bool:
    """Whether any text-side parameter (LoRA adapters included) is trainable, i.e. whether the class texts must be
    encoded again at every step instead of once."""
    return any(parameter.requires_grad and _is_text_side(name) for name, parameter in model.named_parameters())


def set_xclip_modules_trainable(model: nn.Module) -> list[str]:
    """Unfreezes X-CLIP's own parts (message layers, MIT, prompt generator), e.g. next to LoRA adapters."""
    names = []
    for name, parameter in model.named_parameters():
        if xclip_part(name) != "clip" and "lora_" not in name:
            parameter.requires_grad_(True)
            names.append(name)
    return names


def _without_weight_decay(name: str, parameter: torch.Tensor) -> bool:
    return parameter.ndim == 1 or name.endswith(".bias") or _POSITION_EMBEDDING in name


def parameter_groups(model: nn.Module, lr: float, weight_decay: float) -> list[dict]:
    """The original's AdamW groups over the trainable parameters of `model`.

    Returns:
        Up to eight `{"params", "lr", "weight_decay", "name"}` dicts, ordered (CLIP, MIT, prompts, message) x
        (decay, no decay); `name` such as `"mit/no_decay"` is for logging and tests.
    """
    groups: dict[tuple[str, bool], list[nn.Parameter]] = {
        (part, decay): [] for part in ("clip", "mit", "prompts", "message") for decay in (True, False)
    }
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            groups[(xclip_part(name), not _without_weight_decay(name, parameter))].append(parameter)
    return [
        {
            "params": parameters,
            "lr": lr if part == "clip" else lr * XCLIP_PARTS_LR_SCALE,
            "weight_decay": weight_decay if decay else 0.0,
            "name": f"{part}/{'decay' if decay else 'no_decay'}",
        }
        for (part, decay), parameters in groups.items()
        if parameters
    ]


def build_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW with betas (0.9, 0.98), eps 1e-8 over `parameter_groups`; the fused kernel on CUDA.

    Raises:
        ValueError: no parameter of `model` is trainable.
    """
    groups = parameter_groups(model, lr, weight_decay)
    if not groups:
        raise ValueError("Nothing to train: every parameter of the model is frozen.")
    on_cuda = all(parameter.is_cuda for group in groups for parameter in group["params"])
    optimizer = torch.optim.AdamW(groups, betas=ADAMW_BETAS, eps=ADAMW_EPS, fused=on_cuda or None)
    for group in groups:
        logger.info(
            "Optimizer group %-18s %5d tensors, %11d parameters, lr %.3g, weight decay %g",
            group["name"], len(group["params"]), sum(p.numel() for p in group["params"]), group["lr"],
            group["weight_decay"],
        )
    return optimizer


@dataclass(frozen=True)
class WarmupCosine:
    """The LR of one group at iteration `t`, as timm's `CosineLRScheduler(t_initial=total, lr_min=min_lr,
    warmup_t=warmup, warmup_lr_init=0, cycle_limit=1)`: linear from 0 to `base_lr` over the warm-up, then the cosine
    `min_lr + (base_lr - min_lr) (1 + cos(pi t / total)) / 2` over the *whole* run (warm-up included, so the cosine
    has already started when the warm-up ends), then `min_lr`."""

    base_lr: float
    min_lr: float
    warmup_iterations: int
    total_iterations: int

    def __call__(self, iteration: int) -> float:
        if iteration < self.warmup_iterations:
            return self.base_lr * iteration / self.warmup_iterations
        if iteration >= self.total_iterations:
            return self.min_lr
        cosine = 0.5 * (1.0 + math.cos(math.pi * iteration / self.total_iterations))
        return self.min_lr + (self.base_lr - self.min_lr) * cosine


class IterationLRSchedule:
    """Sets every group's LR from the iteration number, like timm's `step_update(t)` in the original.

    As there, the loop calls `set_iteration(t)` after the optimizer step that ends mini-batch `t` (counting from the
    start of training), so each step runs at the LR set after the previous one, and the first at the LR of iteration
    0 (0 with warm-up). The LR is a pure function of the iteration, so a resumed run needs no scheduler state:
    `step_iteration_before(epoch, ...)` says where the previous epoch left it. Iterations are the mini-batches of one
    process (`len(train_dataloader)` per epoch), as in the original, so the schedule does not depend on the number of
    processes, and mini-batches that only accumulate gradients count too.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, schedules: list[WarmupCosine]):
        if len(schedules) != len(optimizer.param_groups):
            raise ValueError(f"Got {len(schedules)} schedules for {len(optimizer.param_groups)} parameter groups.")
        self.optimizer = optimizer
        self.schedules = schedules
        self.set_iteration(0)

    def set_iteration(self, iteration: int) -> None:
        for group, schedule in zip(self.optimizer.param_groups, self.schedules):
            group["lr"] = schedule(iteration)

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    @staticmethod
    def step_iteration_before(epoch: int, iterations_per_epoch: int, accumulation_steps: int) -> int:
        """The iteration of the last optimizer step before epoch `epoch` (0-based) starts: the LR that epoch's first
        step runs at. Each epoch steps after its mini-batches `k * accumulation_steps - 1`; 0 before the first."""
        if epoch == 0:
            return 0
        return epoch * iterations_per_epoch - iterations_per_epoch % accumulation_steps - 1


def build_lr_scheduler(
    optimizer: torch.optim.Optimizer, base_lr: float, iterations_per_epoch: int, epochs: int, warmup_epochs: int
) -> IterationLRSchedule:
    """The original's per-iteration warm-up + cosine schedule over every group of `optimizer`, each from its own
    initial LR (`base_lr` or 10x) down to the same floor, `base_lr / 100`.

    Raises:
        ValueError: `iterations_per_epoch` is 0 (fewer training videos than one batch on every process).
    """
    if iterations_per_epoch < 1:
        raise ValueError(
            f"The training data gives {iterations_per_epoch} batches per epoch; it needs at least one (fewer videos "
            "than processes x TRAIN.BATCH_SIZE?)."
        )
    min_lr = base_lr * MIN_LR_FRACTION
    schedules = []
    for group in optimizer.param_groups:
        peak = group.setdefault("initial_lr", group["lr"])  # PyTorch schedulers' convention for the starting LR
        schedules.append(
            WarmupCosine(peak, min_lr, warmup_epochs * iterations_per_epoch, epochs * iterations_per_epoch)
        )
    return IterationLRSchedule(optimizer, schedules)
