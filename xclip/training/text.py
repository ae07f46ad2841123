"""Class texts for training and evaluation: tokenised once; encoded once when the text tower is frozen."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..modeling.modeling_xclip_classification import encode_label_tokens
from ..processing.label_texts import tokenize_label_texts
from ..processing import load_clip_tokenizer

__all__ = ["ClassTexts"]


class ClassTexts:
    """The class names of a label set, as the model's text inputs.

    Class names are used as written, without a prompt template, as in the original.

    Args:
        names: class `k`'s text at position `k`.
        frozen: the text tower does not train (`MODEL.FIX_TEXT`), so its features are computed once and reused for
            every step; otherwise every training step encodes the texts again, with gradients.
    """

    def __init__(self, names: Sequence[str], frozen: bool):
        self.names = list(names)
        self.frozen = frozen
        tokens = tokenize_label_texts(load_clip_tokenizer(), self.names)
        self.input_ids: torch.Tensor = tokens["input_ids"]  # (K, L)
        self.attention_mask: torch.Tensor = tokens["attention_mask"]  # (K, L)
        self._cached: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.names)

    @torch.no_grad()
    def encode(self, model: nn.Module) -> torch.Tensor:
        """`(K, projection_dim)` text features of the (unwrapped) model, computed in eval mode without gradients."""
        return encode_label_tokens(model, **self._tokens_on_device_of(model))

    def training_inputs(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """Keyword arguments of a training forward: cached `text_embeds` when frozen, else the tokens to encode.

        Args:
            model: the unwrapped model (encodes the cache on first use).
        """
        if self.frozen:
            if self._cached is None:
                self._cached = self.encode(model)
            return {"text_embeds": self._cached}
        return self._tokens_on_device_of(model)

    def evaluation_embeds(self, model: nn.Module) -> torch.Tensor:
        """`(K, projection_dim)` text features for an evaluation pass: the cache when frozen, else freshly encoded by
        the current model."""
        if self.frozen:
            return self.training_inputs(model)["text_embeds"]
        return self.encode(model)

    def _tokens_on_device_of(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """`input_ids` and `attention_mask` on the model's device, moved there once rather than at every step."""
        device = next(model.parameters()).device
        if self.input_ids.device != device:
            self.input_ids, self.attention_mask = self.input_ids.to(device), self.attention_mask.to(device)
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
