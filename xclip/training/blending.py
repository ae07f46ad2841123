"""Mixup / CutMix on video batches with label smoothing, and the soft-target loss, as the original X-CLIP trains.

Per batch (the original's `CutmixMixupBlending`): labels become smoothed one-hot targets (`off = s / K`,
`on = 1 - s + off`); then, with probability `switch_prob`, CutMix pastes one box, shared by every frame, from a
partner video (lambda ~ Beta(cutmix_alpha, cutmix_alpha), corrected to the box's actual area after clipping to the
frame), otherwise Mixup blends whole videos (lambda ~ Beta(mixup_alpha, mixup_alpha)). Partners are a random
permutation of the (per-process) batch. Targets blend with the same lambda.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ["MixupCutmix", "smoothed_one_hot", "soft_target_cross_entropy"]


def smoothed_one_hot(labels: torch.Tensor, num_classes: int, smoothing: float) -> torch.Tensor:
    """`(B,)` class indices -> `(B, K)` targets with `1 - s + s / K` on the class and `s / K` elsewhere."""
    off = smoothing / num_classes
    targets = torch.full((labels.shape[0], num_classes), off, device=labels.device)
    return targets.scatter_(1, labels.long().unsqueeze(1), 1.0 - smoothing + off)


def soft_target_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of `-sum_k targets_k log softmax(logits)_k`; `logits` and `targets` are `(B, K)`."""
    return nn.functional.cross_entropy(logits.float(), targets)


class MixupCutmix:
    """
    Args:
        num_classes: K.
        smoothing: label smoothing `s` (`AUG.LABEL_SMOOTH`).
        mixup_alpha: Beta parameter of Mixup (`AUG.MIXUP`); 0 disables Mixup.
        cutmix_alpha: Beta parameter of CutMix (`AUG.CUTMIX`); 0 disables CutMix.
        switch_prob: probability of CutMix rather than Mixup when both are enabled (`AUG.MIXUP_SWITCH_PROB`).
        rng: source of every random draw (a seeded generator makes runs, and resumed runs, reproducible).
    """

    def __init__(
        self,
        num_classes: int,
        smoothing: float = 0.1,
        mixup_alpha: float = 0.8,
        cutmix_alpha: float = 1.0,
        switch_prob: float = 0.5,
        rng: np.random.Generator | None = None,
    ):
        if mixup_alpha <= 0 and cutmix_alpha <= 0:
            raise ValueError("MixupCutmix needs mixup_alpha > 0 or cutmix_alpha > 0; use plain targets otherwise.")
        self.num_classes = num_classes
        self.smoothing = smoothing
        self.mixup_alpha = mixup_alpha
        self.cutmix_alpha = cutmix_alpha
        self.switch_prob = switch_prob
        self.rng = rng if rng is not None else np.random.default_rng()

    def __call__(self, videos: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """
        Args:
            videos: `(B, T, C, H, W)`.
            labels: `(B,)` class indices.

        Returns:
            The blended videos `(B, T, C, H, W)` (a new tensor) and soft targets `(B, K)`.
        """
        targets = smoothed_one_hot(labels, self.num_classes, self.smoothing)
        use_cutmix = self.cutmix_alpha > 0 and (self.mixup_alpha <= 0 or self.rng.random() < self.switch_prob)
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        lam = float(self.rng.beta(alpha, alpha))
        partners = torch.from_numpy(self.rng.permutation(videos.shape[0])).to(videos.device)
        if use_cutmix:
            videos, lam = self._cutmix(videos, partners, lam)
        else:
            videos = lam * videos + (1.0 - lam) * videos[partners]
        return videos, lam * targets + (1.0 - lam) * targets[partners]

    def _cutmix(self, videos: torch.Tensor, partners: torch.Tensor, lam: float) -> tuple[torch.Tensor, float]:
        """Pastes the partners' box into every frame; returns the videos and lambda corrected to the box area."""
        height, width = videos.shape[-2:]
        cut_ratio = math.sqrt(1.0 - lam)
        cut_height, cut_width = int(height * cut_ratio), int(width * cut_ratio)
        centre_y, centre_x = int(self.rng.integers(height)), int(self.rng.integers(width))
        top, bottom = max(centre_y - cut_height // 2, 0), min(centre_y + cut_height // 2, height)
        left, right = max(centre_x - cut_width // 2, 0), min(centre_x + cut_width // 2, width)
        videos = videos.clone()
        videos[..., top:bottom, left:right] = videos[partners][..., top:bottom, left:right]
        return videos, 1.0 - (bottom - top) * (right - left) / (height * width)
