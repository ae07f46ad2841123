"""PyTorch X-CLIP.

X-CLIP ("Expanding Language-Image Pretrained Models for General Video Recognition", ECCV 2022,
https://arxiv.org/abs/2208.02816; original code https://github.com/microsoft/VideoX/tree/master/X-CLIP).

What X-CLIP adds to CLIP, and all this file hand-writes (the rest is transformers' CLIP):

- cross-frame communication: every frame's class token becomes a message token, the messages of one video attend
  to each other, and each frame attends over its patches plus its own message (`XCLIPVisionEncoderLayer`);
- the multi-frame integration transformer (MIT) that turns per-frame embeddings into one video embedding;
- the video-specific prompt generator: class texts attend to the video's patch tokens and are shifted towards it.

Weight names are those of transformers' built-in `x_clip` port, so checkpoints load in both directions.

Layout conventions: videos are `(batch_size, num_frames, num_channels, height, width)`; the frame encoder folds time
into the batch, `(batch_size * num_frames, ...)`, frames of one video adjacent (index = b * num_frames + t).
"""

import math
import os
import threading
from dataclasses import dataclass
from logging import Filter, LogRecord
from typing import Any

import torch
from torch import nn
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.modeling_layers import GradientCheckpointingLayer
from transformers.modeling_outputs import BaseModelOutput, BaseModelOutputWithPooling
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.beit.modeling_beit import BeitDropPath
from transformers.models.clip.modeling_clip import (
    CLIPAttention,
    CLIPEncoder,
    CLIPEncoderLayer,
    CLIPMLP,
    CLIPPreTrainedModel,
    CLIPTextModel,
    CLIPVisionEmbeddings,
    eager_attention_forward,
    image_text_contrastive_loss,
)
from transformers.utils import ModelOutput, logging
from transformers.utils.generic import can_return_tuple, merge_with_config_defaults
from transformers.utils.output_capturing import OutputRecorder, capture_outputs

from .configuration_xclip import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig

logger = logging.get_logger(__name__)

__all__ = [
    "XCLIPModel",
    "XCLIPOutput",
    "XCLIPPreTrainedModel",
    "XCLIPTextModel",
    "XCLIPVisionModel",
]


@dataclass
class XCLIPOutput(ModelOutput):
    r"""
    loss (`torch.Tensor` of shape `()`, *optional*):
        Cross-entropy of `logits_per_video` against `labels` (class indices), as X-CLIP trains; or, with
        `return_loss=True` and no labels, the symmetric video-text contrastive loss of transformers' port.
    logits_per_video (`torch.Tensor` of shape `(batch_size, num_texts)`):
        Scaled cosine similarity between each video and each of its video-specific text embeddings.
    logits_per_text (`torch.Tensor` of shape `(num_texts, batch_size)`):
        `logits_per_video` transposed.
    text_embeds (`torch.Tensor` of shape `(batch_size, num_texts, projection_dim)`):
        L2-normalised text embeddings after the video-specific prompt generator: one set per video.
    video_embeds (`torch.Tensor` of shape `(batch_size, projection_dim)`):
        L2-normalised video embeddings (MIT output).
    text_model_output (`BaseModelOutputWithPooling`, *optional*):
        Output of the text encoder, its `pooler_output` the pooled end-of-text state before the projection; `None`
        when cached `text_embeds` were passed instead of `input_ids`.
    vision_model_output (`BaseModelOutputWithPooling`):
        Output of the frame encoder.
    mit_output (`BaseModelOutputWithPooling`):
        Output of the multi-frame integration transformer.
    """

    # transformers' field order, so that `return_dict=False` gives the same tuple as its port.
    loss: torch.Tensor | None = None
    logits_per_text: torch.Tensor | None = None
    text_embeds: torch.Tensor | None = None
    text_model_output: BaseModelOutputWithPooling | None = None
    vision_model_output: BaseModelOutputWithPooling | None = None
    logits_per_video: torch.Tensor | None = None
    video_embeds: torch.Tensor | None = None
    mit_output: BaseModelOutputWithPooling | None = None

    def to_tuple(self) -> tuple[Any, ...]:
        return tuple(value.to_tuple() if isinstance(value, ModelOutput) else value for value in self.values())


class _MITConfigView:
    """The vision config as the MIT's layers must see it: with the MIT's widths.

    Every other attribute is read from the vision config itself, so a later `set_attn_implementation` on the model
    reaches the MIT's attention too (a copied config would keep the old choice).
    """

    _MIT_FIELDS = {
        "hidden_size": "mit_hidden_size",
        "intermediate_size": "mit_intermediate_size",
        "num_hidden_layers": "mit_num_hidden_layers",
        "num_attention_heads": "mit_num_attention_heads",
    }

    def __init__(self, vision_config: XCLIPVisionConfig):
        self._vision_config = vision_config

    def __getattr__(self, name: str) -> Any:
        # Only called for names not set on the view; `copy`/`pickle` ask before `_vision_config` exists.
        if name == "_vision_config":
            raise AttributeError(name)
        return getattr(self._vision_config, self._MIT_FIELDS.get(name, name))


def attend(
    module: nn.Module,
    queries: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs: Any,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Runs the attention implementation chosen in `module.config` (eager, sdpa, flash, ...).

    Args:
        queries: `(batch, num_heads, query_len, head_dim)`; keys and values: `(batch, num_heads, key_len, head_dim)`.

    Returns:
        `(batch, query_len, num_heads, head_dim)` and the attention weights (eager only).
    """
    attention_interface = ALL_ATTENTION_FUNCTIONS.get_interface(
        module.config._attn_implementation, eager_attention_forward
    )
    return attention_interface(
        module,
        queries,
        keys,
        values,
        attention_mask,
        scaling=module.scale,
        dropout=module.dropout if module.training else 0.0,
        **kwargs,
    )


def _first_id_outside(ids: torch.Tensor, size: int, what: str, host_only: bool = False) -> int | None:
    """The first value of the integer tensor `ids` outside `0..size - 1`, or `None` (also under `torch.compile`,
    where reading values would break the graph). Reading values on an accelerator waits for it, once per call;
    `host_only` leaves such values unread."""
    if ids.is_floating_point() or ids.dtype == torch.bool:
        raise ValueError(f"{what} must be integer indices; got a {ids.dtype} tensor.")
    if torch.compiler.is_compiling() or not ids.numel() or (host_only and ids.device.type != "cpu"):
        return None
    outside = (ids < 0) | (ids >= size)
    return int(ids[outside][0]) if outside.any() else None


def check_label_ids(
    labels: torch.Tensor, num_classes: int, what: str = "classes", batch_size: int | None = None
) -> None:
    """Raise a `ValueError` naming the first class index in `labels` outside `0..num_classes - 1`, or, given
    `batch_size`, when `labels` is not one index per video (one-hot or 0-d labels fail deep in cross-entropy).

    The values are not read under `torch.compile`, where that would break the graph; cross-entropy still fails there.
    """
    if batch_size is not None and labels.shape != (batch_size,):
        raise ValueError(
            f"labels must hold one class index per video, shape ({batch_size},); got {tuple(labels.shape)}."
        )
    label = _first_id_outside(labels, num_classes, "Labels (class indices)")
    if label is not None:
        raise ValueError(f"Label id {label} is out of range: there are {num_classes} {what} (0..{num_classes - 1}).")


def check_token_ids(input_ids: torch.Tensor, vocab_size: int) -> None:
    """Raise a `ValueError` naming the first id in `input_ids` that the text embedding has no row for, where the
    embedding would raise an `IndexError`. Ids already on an accelerator are not read: a training run whose text
    tower trains encodes its class texts, the tokenizer's valid ids, at every step, and each read would wait for the
    device."""
    token = _first_id_outside(input_ids, vocab_size, "input_ids (token ids)", host_only=True)
    if token is not None:
        raise ValueError(
            f"input_ids hold token id {token}, outside the text model's vocabulary of {vocab_size} ids "
            "(text_config.vocab_size): were they made by another tokenizer than CLIP's?"
        )


def check_text_shapes(
    input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, position_ids: torch.Tensor | None = None
) -> None:
    """Raise a `ValueError` when the text inputs' shapes disagree; CLIP's text model would fail in a reshape, the
    causal mask or the pooling, with an error that names none of them. Reads shapes only."""
    shape = tuple(input_ids.shape)
    if input_ids.ndim != 2:
        raise ValueError(f"input_ids must be (num_texts, sequence_length); got shape {shape}.")
    num_texts, sequence_length = shape
    if num_texts == 0:
        raise ValueError(f"input_ids holds no texts (shape {shape}): pass at least one text.")
    if sequence_length == 0:
        raise ValueError(
            f"input_ids holds no tokens (shape {shape}): every text needs at least its start and end-of-text tokens."
        )
    if attention_mask is not None and attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask must have the shape of input_ids, {shape} (num_texts, sequence_length), one entry per "
            f"token; got {tuple(attention_mask.shape)}."
        )
    # The position embedding is added to the token embedding, so positions shared by every text broadcast.
    if position_ids is not None and (
        position_ids.ndim not in (1, 2)
        or position_ids.shape[-1] != sequence_length
        or (position_ids.ndim == 2 and position_ids.shape[0] not in (1, num_texts))
    ):
        raise ValueError(
            f"position_ids must be (1, {sequence_length}) or ({num_texts}, {sequence_length}) for input_ids of shape "
            f"{shape}; got {tuple(position_ids.shape)}."
        )


def check_position_ids(position_ids: torch.Tensor, max_positions: int) -> None:
    """Raise a `ValueError` naming the first position the text model has no embedding for (an `IndexError` on the
    CPU); positions on an accelerator are not read, as for `check_token_ids`."""
    position = _first_id_outside(position_ids, max_positions, "position_ids", host_only=True)
    if position is not None:
        raise ValueError(
            f"position_ids hold position {position}, outside the text model's {max_positions} positions "
            f"(0..{max_positions - 1}, text_config.max_position_embeddings)."
        )


def _check_is_tensor(pixel_values: Any) -> None:
    if not isinstance(pixel_values, torch.Tensor):
        raise TypeError(
            f"pixel_values must be a torch.Tensor, got {type(pixel_values).__name__}: convert frames with the "
            "processor (XCLIPProcessor, XCLIPVideoProcessor), or an array with torch.as_tensor."
        )


def _check_video_shape(
    pixel_values: torch.Tensor,
    vision_config: XCLIPVisionConfig,
    interpolate_pos_encoding: bool,
    check_num_frames: bool = True,
    config_name: str = "config.vision_config",
) -> None:
    """Raise a `ValueError` for videos `(batch_size, num_frames, channels, height, width)` the frame encoder cannot
    take. Shared by `XCLIPModel` and `XCLIPVisionModel`; the frame encoder itself runs at any frame count, only the
    MIT's temporal embedding needs `check_num_frames`. Reads shapes and the dtype only."""
    _check_is_tensor(pixel_values)
    shape = tuple(pixel_values.shape)
    if pixel_values.ndim == 6:  # the processor's multi-view output
        raise ValueError(
            f"pixel_values of shape {shape} holds several views per video (batch_size, num_views, num_frames, "
            "channels, height, width); this model takes one view per video. Fold the views into the batch "
            "(pixel_values.flatten(0, 1)) and average each video's per-view probabilities, or use "
            "XCLIPForVideoClassification or the pipelines, which do."
        )
    if pixel_values.ndim != 5:
        raise ValueError(f"pixel_values must be (batch_size, num_frames, channels, height, width); got shape {shape}.")
    if shape[0] == 0:
        raise ValueError(f"pixel_values holds no video (shape {shape}).")
    if shape[1] == 0:
        raise ValueError(f"pixel_values holds no frames (shape {shape}): every video needs at least one.")
    if not pixel_values.is_floating_point():
        # uint8 crops would otherwise be cast and scored as if normalised: plausible logits, all wrong.
        raise ValueError(
            f"pixel_values is {pixel_values.dtype}, but the model takes normalised float frames. Crops kept as "
            "uint8 (processor(..., do_rescale=False, do_normalize=False)) need "
            "processor.video_processor.normalize_deferred(pixel_values) first."
        )
    if shape[2] != vision_config.num_channels:
        raise ValueError(
            f"pixel_values has {shape[2]} channels per frame (shape {shape}), but this model takes "
            f"{vision_config.num_channels} ({config_name}.num_channels): frames must be (channels, height, width), as "
            "XCLIPProcessor returns them."
        )
    num_frames, height, width = shape[1], shape[-2], shape[-1]
    if interpolate_pos_encoding:
        patch_size = vision_config.patch_size
        # Interpolation resizes the position embedding to the patch grid, which such a frame does not have.
        if height < patch_size or width < patch_size:
            raise ValueError(
                f"pixel_values has {height}x{width} frames, smaller than one {patch_size}x{patch_size} patch "
                f"({config_name}.patch_size): the frame encoder would see no patch. Frames must be at least "
                f"{patch_size} pixels high and wide, even with interpolate_pos_encoding=True."
            )
        return
    if check_num_frames and num_frames != vision_config.num_frames:
        raise ValueError(
            f"pixel_values has {num_frames} frame{'' if num_frames == 1 else 's'} per video, but this model was "
            f"trained with {vision_config.num_frames} ({config_name}.num_frames). Sample {vision_config.num_frames} "
            "frames per video (XCLIPProcessor does), or pass interpolate_pos_encoding=True to interpolate the "
            "temporal position embedding."
        )
    if height != vision_config.image_size or width != vision_config.image_size:
        raise ValueError(
            f"pixel_values has {height}x{width} frames, but this model was trained on "
            f"{vision_config.image_size}x{vision_config.image_size} ({config_name}.image_size). Resize "
            "and crop the frames (XCLIPProcessor does), or pass interpolate_pos_encoding=True to interpolate the "
            "spatial position embedding."
        )


class XCLIPPatchEmbedding(nn.Conv2d):
    """CLIP's patch embedding, a convolution whose stride equals its kernel, computed as one matrix product.

    Each output of such a convolution is the dot product of one non-overlapping patch with a filter, so cutting the
    frames into patches and multiplying by the flattened filters computes the same sums. On an H100, cuDNN ran the
    bf16 convolution as a generic kernel plus a layout conversion that took 8% (B/16) and 23% (B/32) of the whole
    zero-shot forward. Being a `Conv2d`, it keeps CLIP's weight shape and name, and PEFT adapts it as one.
    """

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """`(num_images, num_channels, height, width)` -> `(num_images, embed_dim, rows, columns)`, as the convolution;
        pixels beyond the last whole patch are ignored, as the convolution ignores them."""
        num_images, num_channels, height, width = pixel_values.shape
        patch_height, patch_width = self.kernel_size
        rows, columns = height // patch_height, width // patch_width
        patches = pixel_values[:, :, : rows * patch_height, : columns * patch_width]
        # (num_images, C, rows, p, columns, p) -> (num_images, rows * columns, C * p * p), the filters' (C, p, p) order
        patches = patches.reshape(num_images, num_channels, rows, patch_height, columns, patch_width)
        patches = patches.permute(0, 2, 4, 1, 3, 5).reshape(num_images, rows * columns, -1)
        embeds = nn.functional.linear(patches, self.weight.flatten(1), self.bias)
        return embeds.transpose(1, 2).unflatten(2, (rows, columns))  # a view: CLIP flattens it back


class XCLIPVisionEmbeddings(CLIPVisionEmbeddings):
    """CLIP's frame embeddings (class token, patches, positions) with the patch embedding as one matrix product."""

    def __init__(self, config: XCLIPVisionConfig):
        super().__init__(config)
        patch = config.patch_size
        self.patch_embedding = XCLIPPatchEmbedding(
            config.num_channels, config.hidden_size, kernel_size=patch, stride=patch, bias=False
        )


class XCLIPVisionEncoderLayer(GradientCheckpointingLayer):
    """A CLIP encoder layer with cross-frame communication.

    Corresponds to `CrossFramelAttentionBlock` in the original implementation. Stochastic depth is applied per sample
    (per video for the message attention, per frame for the frame branches) with the original's linear schedule; the
    original draws its mask over the sequence dimension instead, which no released config enables.
    """

    def __init__(self, config: XCLIPVisionConfig, drop_path_rate: float = 0.0):
        super().__init__()
        self.embed_dim = config.hidden_size
        self.message_fc = nn.Linear(self.embed_dim, self.embed_dim)
        self.message_ln = nn.LayerNorm(self.embed_dim, eps=config.layer_norm_eps)
        self.message_attn = CLIPAttention(config)
        self.layer_norm1 = nn.LayerNorm(self.embed_dim, eps=config.layer_norm_eps)
        self.self_attn = CLIPAttention(config)
        self.layer_norm2 = nn.LayerNorm(self.embed_dim, eps=config.layer_norm_eps)
        self.mlp = CLIPMLP(config)
        self.drop_path = BeitDropPath(drop_path_rate) if drop_path_rate > 0.0 else nn.Identity()

    def forward(self, hidden_states: torch.Tensor, num_frames: int, **kwargs: Any) -> torch.Tensor:
        """
        Args:
            hidden_states: `(batch_size * num_frames, seq_len, hidden_size)`, token 0 of each frame is its class token.
            num_frames: frames per video.

        Returns:
            `(batch_size * num_frames, seq_len, hidden_size)`.
        """
        batch_frames, seq_len, hidden_size = hidden_states.shape
        batch_size = batch_frames // num_frames

        # One message per frame from its un-normalised class token; messages of a video attend to each other.
        message = self.message_fc(hidden_states[:, 0]).view(batch_size, num_frames, hidden_size)
        message = message + self.drop_path(self.message_attn(self.message_ln(message), **kwargs)[0])

        # Append each frame's message as its last token: (batch_size * num_frames, seq_len + 1, hidden_size).
        hidden_states = torch.cat([hidden_states, message.view(batch_frames, 1, hidden_size)], dim=1)

        residual = hidden_states
        hidden_states = self.layer_norm1(hidden_states)
        hidden_states, _ = self.self_attn(hidden_states=hidden_states, attention_mask=None, **kwargs)
        hidden_states = residual + self.drop_path(hidden_states)

        # The feed-forward layer never sees the message; the next layer builds a new one.
        hidden_states = hidden_states[:, :seq_len]

        residual = hidden_states
        hidden_states = self.layer_norm2(hidden_states)
        hidden_states = self.mlp(hidden_states)
        hidden_states = residual + self.drop_path(hidden_states)
        return hidden_states


class XCLIPVisionEncoder(nn.Module):
    """Corresponds to the `Transformer` of `CrossFramelAttentionBlock`s in the original implementation."""

    def __init__(self, config: XCLIPVisionConfig):
        super().__init__()
        self.config = config
        # The original's linear stochastic-depth schedule, from 0 at the first layer to the rate at the last.
        last = max(config.num_hidden_layers - 1, 1)
        drop_path_rates = [config.drop_path_rate * layer / last for layer in range(config.num_hidden_layers)]
        self.layers = nn.ModuleList([XCLIPVisionEncoderLayer(config, rate) for rate in drop_path_rates])

    def forward(self, inputs_embeds: torch.Tensor, num_frames: int, **kwargs: Any) -> BaseModelOutput:
        """`inputs_embeds` `(batch_size * num_frames, seq_len, hidden_size)`, the frames of a video consecutive;
        returns `last_hidden_state` of the same shape."""
        hidden_states = inputs_embeds
        for layer in self.layers:
            hidden_states = layer(hidden_states, num_frames=num_frames, **kwargs)
        return BaseModelOutput(last_hidden_state=hidden_states)


class XCLIPMultiframeIntegrationTransformer(nn.Module):
    """Turns per-frame embeddings into one video embedding.

    Corresponds to `MultiframeIntegrationTransformer` in the original implementation: temporal position embedding,
    CLIP encoder layers, a residual from the input *without* the position embedding, then the mean over frames.
    """

    def __init__(self, config: XCLIPVisionConfig):
        super().__init__()
        mit_config = _MITConfigView(config)
        self.position_embedding = nn.Parameter(torch.empty(1, config.num_frames, config.mit_hidden_size))
        self.encoder = CLIPEncoder(mit_config)

    def temporal_position_embedding(self, num_frames: int) -> torch.Tensor:
        """`(1, num_frames, hidden_size)`; linearly interpolated when `num_frames` differs from the trained count."""
        if num_frames == self.position_embedding.shape[1]:
            return self.position_embedding
        resized = nn.functional.interpolate(
            self.position_embedding.transpose(1, 2), size=num_frames, mode="linear", align_corners=False
        )
        return resized.transpose(1, 2)

    def forward(self, hidden_states: torch.Tensor, **kwargs: Any) -> BaseModelOutputWithPooling:
        """
        Args:
            hidden_states: per-frame embeddings `(batch_size, num_frames, hidden_size)`.

        Returns:
            `last_hidden_state` `(batch_size, num_frames, hidden_size)` and `pooler_output`, the video embedding
            `(batch_size, hidden_size)`.
        """
        residual = hidden_states
        hidden_states = hidden_states + self.temporal_position_embedding(hidden_states.shape[1])
        hidden_states = self.encoder(inputs_embeds=hidden_states, **kwargs).last_hidden_state
        last_hidden_state = hidden_states + residual
        return BaseModelOutputWithPooling(last_hidden_state=last_hidden_state, pooler_output=last_hidden_state.mean(1))


class XCLIPPromptCrossAttention(nn.Module):
    """Text queries attend to a video's patch tokens.

    Corresponds to `MulitHeadAttention` in the original implementation: q/k/v projections without bias and an output
    projection named `proj`.
    """

    def __init__(self, config: XCLIPConfig):
        super().__init__()
        self.config = config
        self.embed_dim = config.projection_dim
        self.num_heads = config.prompt_num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        self.scale = self.head_dim**-0.5
        self.dropout = config.prompt_attention_dropout
        self.is_causal = False

        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=False)
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=False)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim, bias=False)
        self.proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.proj_drop = nn.Dropout(config.prompt_projection_dropout)

    def forward(self, queries: torch.Tensor, visual: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """
        Args:
            queries: text embeddings `(batch_size, num_texts, embed_dim)`.
            visual: normalised patch tokens `(batch_size, num_patches, embed_dim)`.

        Returns:
            `(batch_size, num_texts, embed_dim)`.
        """
        batch_size, num_texts, _ = queries.shape
        num_patches = visual.shape[1]
        # (batch_size, num_heads, length, head_dim)
        query_states = self.q_proj(queries).view(batch_size, num_texts, -1, self.head_dim).transpose(1, 2)
        key_states = self.k_proj(visual).view(batch_size, num_patches, -1, self.head_dim).transpose(1, 2)
        value_states = self.v_proj(visual).view(batch_size, num_patches, -1, self.head_dim).transpose(1, 2)

        attn_output, _ = attend(self, query_states, key_states, value_states, None, **kwargs)
        attn_output = attn_output.reshape(batch_size, num_texts, self.embed_dim)
        return self.proj_drop(self.proj(attn_output))


class XCLIPPromptGeneratorLayer(nn.Module):
    """Corresponds to `PromptGeneratorLayer` in the original implementation."""

    def __init__(self, config: XCLIPConfig):
        super().__init__()
        embed_dim = config.projection_dim
        self.cross_attn = XCLIPPromptCrossAttention(config)
        self.norm1 = nn.LayerNorm(embed_dim, eps=config.text_config.layer_norm_eps)
        self.norm3 = nn.LayerNorm(embed_dim, eps=config.text_config.layer_norm_eps)
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, embed_dim * 4),
            ACT2FN[config.prompt_hidden_act],
            nn.Dropout(config.prompt_attention_dropout),
            nn.Linear(embed_dim * 4, embed_dim),
        )

    def forward(self, hidden_states: torch.Tensor, visual: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """`hidden_states` `(batch_size, num_texts, E)` attend to `visual` `(batch_size, num_patches, E)`; returns
        `(batch_size, num_texts, E)`."""
        hidden_states = hidden_states + self.cross_attn(self.norm1(hidden_states), visual, **kwargs)
        hidden_states = hidden_states + self.mlp(self.norm3(hidden_states))
        return hidden_states


class XCLIPPromptGenerator(nn.Module):
    """Video-specific prompts: `alpha * decoder(text, video tokens)`, which the caller adds to the text embeddings.

    Corresponds to `VideoSpecificPrompt` in the original implementation. The decoder layers are residual, so the
    result also holds an `alpha`-scaled copy of the text itself, exactly as the original.
    """

    def __init__(self, config: XCLIPConfig):
        super().__init__()
        embed_dim = config.projection_dim
        self.layernorm = nn.LayerNorm(embed_dim, eps=config.vision_config.layer_norm_eps)
        self.decoder = nn.ModuleList([XCLIPPromptGeneratorLayer(config) for _ in range(config.prompt_layers)])
        self.alpha = nn.Parameter(torch.full((embed_dim,), float(config.prompt_alpha)))

    def forward(self, text: torch.Tensor, visual: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        """
        Args:
            text: `(batch_size, num_texts, embed_dim)`.
            visual: frame-averaged patch tokens `(batch_size, num_patches, embed_dim)`.

        Returns:
            The prompt `(batch_size, num_texts, embed_dim)`.
        """
        visual = self.layernorm(visual)
        for layer in self.decoder:
            text = layer(text, visual, **kwargs)
        return self.alpha * text


class _HeldBackLoadReport(Filter):
    """transformers logs its load report (the table of missing, unexpected and mismatched weights) in the middle of
    `from_pretrained`, before `XCLIPPreTrainedModel.from_pretrained` knows whether its own error will explain the load
    better. This holds the report of loads in this thread back for the `with` block, and shows it on leaving the block
    (also when the block raises) unless `drop` was called."""

    # The logger transformers hands to the function that logs the report; its other messages pass as they come. Both
    # are transformers' internals, named rather than imported: if they change, the report shows, as it would anyway.
    _report_logger = logging.get_logger("transformers.modeling_utils")
    _report_function = "log_state_dict_report"

    def __init__(self) -> None:
        super().__init__()
        self._thread = threading.get_ident()
        self._held: list[LogRecord] = []
        self._dropped = False

    def filter(self, record: LogRecord) -> bool:
        # Filters run in the thread that logs (`record.thread` is None when `logging.logThreads` is off).
        if threading.get_ident() == self._thread and record.funcName == self._report_function:
            self._held.append(record)
            return False
        return True

    def drop(self) -> None:
        self._dropped = True

    def __enter__(self) -> "_HeldBackLoadReport":
        self._report_logger.addFilter(self)
        return self

    def __exit__(self, *exception: Any) -> None:
        self._report_logger.removeFilter(self)
        if not self._dropped:
            for record in self._held:
                self._report_logger.handle(record)


class XCLIPPreTrainedModel(CLIPPreTrainedModel):
    config: XCLIPConfig
    base_model_prefix = "x_clip"
    input_modalities = ("video", "text")
    _no_split_modules = ["CLIPTextEmbeddings", "CLIPEncoderLayer", "XCLIPVisionEmbeddings", "XCLIPVisionEncoderLayer"]
    _can_record_outputs = {
        "hidden_states": [CLIPEncoderLayer, XCLIPVisionEncoderLayer],
        "attentions": OutputRecorder(CLIPAttention, index=1, layer_name="self_attn"),
    }

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike | None, *model_args: Any, **kwargs: Any
    ) -> "XCLIPPreTrainedModel | tuple[XCLIPPreTrainedModel, dict[str, Any]]":
        """transformers' `from_pretrained`, with weights of another shape than the config's named in the error.

        A checkpoint trained with another frame count than `config.vision_config.num_frames` asks for gets an error
        naming both counts and `resize_num_frames`, and without transformers' load report: transformers would refuse
        its temporal position embedding `(1, T, D)` with that report's table, or with `ignore_mismatched_sizes=True`
        draw it at random, which warns here. Every other load shows the report as transformers does.
        """
        ignore_mismatched_sizes = kwargs.pop("ignore_mismatched_sizes", False)
        output_loading_info = kwargs.pop("output_loading_info", False)
        with _HeldBackLoadReport() as load_report:
            model, loading_info = super().from_pretrained(
                pretrained_model_name_or_path,
                *model_args,
                ignore_mismatched_sizes=True,  # so that the mismatched weights are known here, to be named
                output_loading_info=True,
                **kwargs,
            )
            mismatched = {
                key: (tuple(stored), tuple(built))
                for key, stored, built in loading_info["mismatched_keys"]
                if key not in cls._rebuilt_when_mismatched
            }
            # (1, T, D) stored and built: another frame count T at the same width D.
            temporal = next(
                (
                    key for key, (stored, built) in mismatched.items()
                    if key.endswith("mit.position_embedding") and stored[::2] == built[::2]
                ),
                None,
            )
            if temporal is not None:
                trained, requested = mismatched[temporal][0][1], mismatched[temporal][1][1]
                owner = temporal.removesuffix("mit.position_embedding")  # "x_clip." in a classifier
                advice = (
                    f"Load it at its own count and call model.{owner}resize_num_frames({requested}) to interpolate "
                    "that embedding, or pass interpolate_pos_encoding=True when calling the model."
                )
                if not ignore_mismatched_sizes:
                    load_report.drop()  # its table of the mismatched embedding says less than this error
                    raise ValueError(
                        f"{pretrained_model_name_or_path} was trained with {trained} frames per video, but the config "
                        f"asks for {requested} (config.vision_config.num_frames): its temporal position embedding "
                        f"{mismatched[temporal][0]} does not fit. {advice}"
                    )
        if temporal is not None:
            logger.warning(
                "ignore_mismatched_sizes=True: the temporal position embedding of %s (%d frames) was replaced by a "
                "random one for %d frames. %s", pretrained_model_name_or_path, trained, requested, advice,
            )
        elif mismatched and not ignore_mismatched_sizes:
            # transformers' own refusal, which loading with ignore_mismatched_sizes=True (for the cases above and the
            # weights a subclass rebuilds) gave up.
            shown = "; ".join(f"{key}: {stored} stored, {built} built" for key, (stored, built) in mismatched.items())
            raise RuntimeError(  # the type transformers raises
                f"{pretrained_model_name_or_path}: weights of another shape than its config gives ({shown}). Pass "
                "ignore_mismatched_sizes=True to draw them at random instead."
            )
        return (model, loading_info) if output_loading_info else model

    # Weights a subclass rebuilds after loading when their shape differs from the stored one (a classifier's label
    # embeddings, encoded from the config's classes): not an error.
    _rebuilt_when_mismatched: tuple[str, ...] = ()

    def _initialize_weights(self, module: nn.Module, is_custom_code: bool = False) -> None:
        # transformers skips, for code outside its tree, modules that own no parameters themselves (attention, MLP,
        # encoder layers), which is where the rules below live. Every rule uses `transformers.initialization`, which
        # leaves loaded weights untouched, so that shortcut is not needed here.
        super()._initialize_weights(module, is_custom_code=False)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """CLIP parts follow transformers' CLIP initialisation (OpenAI's scheme); X-CLIP's own parts follow the
        original implementation, where the CLIP weights are loaded and these stay as initialised:

        - message layers: PyTorch defaults (`nn.Linear`, `nn.MultiheadAttention`), as the original never calls the
          cross-frame transformer's `init_weights`;
        - MIT and prompt generator: truncated normal (std 0.02) for linear weights, zero biases; the MIT's packed
          q/k/v keeps `nn.MultiheadAttention`'s Xavier initialisation;
        - `prompts_visual_projection`: standard normal; `prompts_generator.alpha`: `prompt_alpha`.
        Parents are initialised after their children, so these override the generic per-module rules.
        """
        super()._init_weights(module)
        if isinstance(module, XCLIPVisionEncoderLayer):
            _init_torch_linear(module.message_fc)
            _init_packed_attention(module.message_attn, out_proj_std=None)
        elif isinstance(module, XCLIPMultiframeIntegrationTransformer):
            init.trunc_normal_(module.position_embedding, std=0.02)
            for layer in module.encoder.layers:
                _init_packed_attention(layer.self_attn, out_proj_std=0.02)
                for linear in (layer.mlp.fc1, layer.mlp.fc2):
                    init.trunc_normal_(linear.weight, std=0.02)
                    init.zeros_(linear.bias)
        elif isinstance(module, XCLIPPromptGenerator):
            init.constant_(module.alpha, float(self.config.prompt_alpha))
            for linear in module.modules():
                if isinstance(linear, nn.Linear):
                    init.trunc_normal_(linear.weight, std=0.02)
                    if linear.bias is not None:
                        init.zeros_(linear.bias)
        elif isinstance(module, XCLIPModel):
            factor = self.config.initializer_factor
            init.normal_(module.text_projection.weight, std=module.text_embed_dim**-0.5 * factor)
            init.normal_(module.visual_projection.weight, std=module.vision_embed_dim**-0.5 * factor)
            init.normal_(module.prompts_visual_projection, std=1.0)
            init.constant_(module.logit_scale, self.config.logit_scale_init_value)


def _init_torch_linear(linear: nn.Linear) -> None:
    """PyTorch's default `nn.Linear` initialisation."""
    init.kaiming_uniform_(linear.weight, a=math.sqrt(5))
    if linear.bias is not None:
        bound = 1 / math.sqrt(linear.in_features)
        init.uniform_(linear.bias, -bound, bound)


def _init_packed_attention(attention: CLIPAttention, out_proj_std: float | None) -> None:
    """`nn.MultiheadAttention`'s initialisation on split projections: Xavier-uniform over the packed (3d, d) q/k/v
    matrix, zero biases; the output projection keeps PyTorch's `nn.Linear` default (`out_proj_std=None`) or gets a
    truncated normal (the MIT, whose `apply`-based init reaches `out_proj` as an `nn.Linear`)."""
    embed_dim = attention.embed_dim
    bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))
    for projection in (attention.q_proj, attention.k_proj, attention.v_proj):
        init.uniform_(projection.weight, -bound, bound)
        init.zeros_(projection.bias)
    if out_proj_std is None:
        init.kaiming_uniform_(attention.out_proj.weight, a=math.sqrt(5))
    else:
        init.trunc_normal_(attention.out_proj.weight, std=out_proj_std)
    init.zeros_(attention.out_proj.bias)


class XCLIPTextModel(XCLIPPreTrainedModel, CLIPTextModel):
    """The CLIP text transformer, unchanged. Pools the end-of-text token (the largest id) as the original does.

    Example:

    ```python
    >>> from xclip import XCLIPTextModel
    >>> from xclip.processing import load_clip_tokenizer
    >>> model = XCLIPTextModel.from_pretrained("microsoft/xclip-base-patch32")
    >>> tokens = load_clip_tokenizer()(["playing guitar", "riding a bike"], padding=True, return_tensors="pt")
    >>> model(**tokens).pooler_output.shape
    torch.Size([2, 512])
    ```
    """

    config: XCLIPTextConfig
    input_modalities = ("text",)

    def __init__(self, config: XCLIPTextConfig):
        super().__init__(config)
        # CLIPTextModel pools at argmax(input_ids) when eos_token_id == 2: the original's rule (the end-of-text id is
        # the largest), whatever the config says.
        self.eos_token_id = 2

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> BaseModelOutputWithPooling:
        """CLIP's text forward, after checking that `input_ids` `(num_texts, sequence_length)`, `attention_mask` (the
        same shape) and `position_ids` (`(1 or num_texts, sequence_length)`) agree, and that every id and position
        has an embedding."""
        if input_ids is not None:
            check_text_shapes(input_ids, attention_mask, position_ids)
            check_token_ids(input_ids, self.config.vocab_size)
            if position_ids is not None:
                check_position_ids(position_ids, self.config.max_position_embeddings)
        return super().forward(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, **kwargs)


class XCLIPVisionModel(XCLIPPreTrainedModel):
    """The frame encoder: CLIP's vision transformer with cross-frame message tokens.

    Corresponds to `CrossFrameCommunicationTransformer` in the original implementation, without its projection
    (`XCLIPModel.visual_projection`).
    """

    config: XCLIPVisionConfig
    main_input_name = "pixel_values"
    input_modalities = ("video",)

    def __init__(self, config: XCLIPVisionConfig):
        super().__init__(config)
        self.embeddings = XCLIPVisionEmbeddings(config)
        self.pre_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.encoder = XCLIPVisionEncoder(config)
        self.post_layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings.patch_embedding

    @merge_with_config_defaults
    @capture_outputs(tie_last_hidden_states=False)
    def forward(
        self,
        pixel_values: torch.Tensor,
        interpolate_pos_encoding: bool = False,
        **kwargs: Any,
    ) -> BaseModelOutputWithPooling:
        """
        Args:
            pixel_values: videos `(batch_size, num_frames, num_channels, height, width)`, or frames folded into the
                batch `(batch_size * config.num_frames, num_channels, height, width)` as transformers' port takes them.
            interpolate_pos_encoding: accept another frame size by interpolating the spatial position embedding.

        Returns:
            `last_hidden_state` `(batch_size * num_frames, 1 + num_patches, hidden_size)`, before `post_layernorm` as
            the prompt generator reads it, and `pooler_output` `(batch_size * num_frames, hidden_size)`, the
            normalised class token of every frame.
        """
        _check_is_tensor(pixel_values)
        folded = self.config.num_frames
        if pixel_values.ndim == 4 and pixel_values.shape[0] % folded == 0:
            pixel_values = pixel_values.unflatten(0, (pixel_values.shape[0] // folded, folded))
        elif pixel_values.ndim != 5:
            raise ValueError(
                "pixel_values must be (batch_size, num_frames, channels, height, width), or frames folded into "
                f"(batch_size * {folded}, channels, height, width); got shape {tuple(pixel_values.shape)}."
            )
        # The frame encoder runs at any frame count; only the MIT (XCLIPModel) is tied to the trained one.
        _check_video_shape(
            pixel_values, self.config, interpolate_pos_encoding, check_num_frames=False, config_name="config"
        )
        num_frames = pixel_values.shape[1]
        pixel_values = pixel_values.flatten(0, 1)
        hidden_states = self.embeddings(pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
        hidden_states = self.pre_layernorm(hidden_states)
        last_hidden_state = self.encoder(hidden_states, num_frames=num_frames, **kwargs).last_hidden_state
        pooled_output = self.post_layernorm(last_hidden_state[:, 0])
        return BaseModelOutputWithPooling(last_hidden_state=last_hidden_state, pooler_output=pooled_output)


class XCLIPModel(XCLIPPreTrainedModel):
    """X-CLIP: video and text encoders, the MIT and the video-specific prompt generator.

    Corresponds to `XCLIP` in the original implementation. Class texts can be encoded once with
    `get_text_features` and passed as `text_embeds` to every later call, which is how evaluation, zero-shot
    classification and pipelines use it.

    Example:

    ```python
    >>> import torch
    >>> from xclip import XCLIPModel, XCLIPProcessor
    >>> model = XCLIPModel.from_pretrained("microsoft/xclip-base-patch32").eval()
    >>> processor = XCLIPProcessor.from_pretrained("microsoft/xclip-base-patch32")
    >>> labels = processor(text=["playing guitar", "riding a bike", "cooking"], return_tensors="pt")
    >>> with torch.inference_mode():
    ...     text_embeds = model.get_text_features(**labels).pooler_output  # once per label set
    ...     videos = processor(videos=["a.mp4", "b.mp4"], return_tensors="pt").pixel_values
    ...     probs = model(pixel_values=videos, text_embeds=text_embeds).logits_per_video.softmax(-1)
    ```
    """

    config: XCLIPConfig
    # A classifier folder (XCLIPForVideoClassification) holds this model plus its label set's embeddings.
    _keys_to_ignore_on_load_unexpected = [r"^label_embeds$"]

    def __init__(self, config: XCLIPConfig):
        super().__init__(config)
        text_config = config.text_config
        vision_config = config.vision_config
        self.projection_dim = config.projection_dim
        self.text_embed_dim = text_config.hidden_size
        self.vision_embed_dim = vision_config.hidden_size

        self.text_model = XCLIPTextModel(text_config)
        self.vision_model = XCLIPVisionModel(vision_config)
        self.visual_projection = nn.Linear(self.vision_embed_dim, self.projection_dim, bias=False)
        self.text_projection = nn.Linear(self.text_embed_dim, self.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.logit_scale_init_value))

        # Patch tokens enter the prompt generator through their own norm and an `x @ P` projection.
        self.prompts_visual_layernorm = nn.LayerNorm(self.vision_embed_dim, eps=vision_config.layer_norm_eps)
        self.prompts_visual_projection = nn.Parameter(torch.randn(self.vision_embed_dim, self.projection_dim))
        self.mit = XCLIPMultiframeIntegrationTransformer(vision_config)
        self.prompts_generator = XCLIPPromptGenerator(config)
        self.post_init()

    @classmethod
    def from_clip(cls, source: str | os.PathLike, num_frames: int = 8, **config_overrides: Any) -> "XCLIPModel":
        """Builds X-CLIP from CLIP weights, as the original starts every training run.

        The CLIP parts (both towers, projections, logit scale) are copied exactly; X-CLIP's own parts (message
        layers, a 1-layer MIT, a 2-layer prompt generator with alpha 0.1) are initialised as the original does.

        Args:
            source: a transformers CLIP folder or Hub id (`openai/clip-vit-base-patch16` layout), or OpenAI's
                original CLIP file (TorchScript archive or state dict).
            num_frames: frames per video.
            config_overrides: other `XCLIPConfig`/`XCLIPVisionConfig` fields, e.g. `drop_path_rate`.
        """
        from ..conversion import xclip_from_clip

        return xclip_from_clip(source, num_frames=num_frames, model_class=cls, **config_overrides)

    def resize_num_frames(self, num_frames: int) -> None:
        """Make this a `num_frames`-frame model in place, e.g. to fine-tune it at another frame count.

        The MIT's temporal position embedding `(1, T, mit_hidden_size)` becomes `(1, num_frames, mit_hidden_size)` by
        the interpolation `interpolate_pos_encoding=True` applies at every call, and `config.vision_config.num_frames`
        (read by the frame encoder and the input checks, written by `save_pretrained`) follows.
        """
        if isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1:
            raise ValueError(f"resize_num_frames: num_frames must be a positive integer, got {num_frames!r}.")
        with torch.no_grad():
            resized = self.mit.temporal_position_embedding(num_frames)
        # Laid out as a parameter built at this count would be: the interpolation returns a transposed view.
        self.mit.position_embedding = nn.Parameter(resized.contiguous())
        self.config.vision_config.num_frames = num_frames

    @can_return_tuple
    def get_text_features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> BaseModelOutputWithPooling:
        """Encodes class texts once; pass `pooler_output` as `text_embeds` to `forward` to reuse them.

        Args:
            input_ids: `(num_texts, sequence_length)`, padded to the longest text or to 77 (same result).
            attention_mask: `(num_texts, sequence_length)`.

        Returns:
            The text encoder's output with `pooler_output` replaced by the projected text embeddings
            `(num_texts, projection_dim)`, before the video-specific prompts and not normalised.
        """
        text_outputs = self.text_model(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, return_dict=True, **kwargs
        )
        text_outputs.pooler_output = self.text_projection(text_outputs.pooler_output)
        return text_outputs

    @can_return_tuple
    def get_video_features(
        self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False, **kwargs: Any
    ) -> BaseModelOutputWithPooling:
        """
        Args:
            pixel_values: `(batch_size, num_frames, num_channels, height, width)`.

        Returns:
            The frame encoder's output with `pooler_output` replaced by the video embeddings (MIT output)
            `(batch_size, projection_dim)`, not normalised.
        """
        vision_outputs, mit_outputs = self._encode_video(pixel_values, interpolate_pos_encoding, **kwargs)
        vision_outputs.pooler_output = mit_outputs.pooler_output
        return vision_outputs

    def _check_text_inputs(
        self,
        batch_size: int,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        position_ids: torch.Tensor | None,
        text_embeds: torch.Tensor | None,
        labels: torch.Tensor | None,
        return_loss: bool | None,
    ) -> None:
        if (input_ids is None) == (text_embeds is None):
            raise ValueError("Pass exactly one of input_ids (texts to encode) or text_embeds (cached text features).")
        if input_ids is not None:
            # The text model checks these too; checking here fails before the videos are encoded.
            check_text_shapes(input_ids, attention_mask, position_ids)
        projection_dim = self.config.projection_dim
        if text_embeds is not None and (text_embeds.ndim != 2 or text_embeds.shape[-1] != projection_dim):
            raise ValueError(
                f"text_embeds must be (num_texts, {projection_dim}) (config.projection_dim), the pooler_output of "
                f"get_text_features; got shape {tuple(text_embeds.shape)}."
            )
        if text_embeds is not None and text_embeds.shape[0] == 0:
            raise ValueError(f"text_embeds holds no texts (shape {tuple(text_embeds.shape)}): pass at least one.")
        num_texts = (input_ids if input_ids is not None else text_embeds).shape[0]
        if labels is not None:
            check_label_ids(labels, num_texts, "texts", batch_size=batch_size)
        elif return_loss and batch_size != num_texts:
            raise ValueError(
                f"return_loss=True without labels is the contrastive loss of video i against text i, so it needs as "
                f"many texts as videos; got {batch_size} videos and {num_texts} texts. Pass labels (class index of "
                "every video) to score videos against a set of class texts."
            )

    def _encode_video(
        self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool, **kwargs: Any
    ) -> tuple[BaseModelOutputWithPooling, BaseModelOutputWithPooling]:
        _check_video_shape(pixel_values, self.config.vision_config, interpolate_pos_encoding)
        batch_size, num_frames = pixel_values.shape[:2]
        vision_outputs = self.vision_model(
            pixel_values=pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, return_dict=True, **kwargs
        )
        frame_embeds = self.visual_projection(vision_outputs.pooler_output).view(batch_size, num_frames, -1)
        mit_outputs = self.mit(frame_embeds)
        return vision_outputs, mit_outputs

    def _prompt_visual_tokens(self, last_hidden_state: torch.Tensor, batch_size: int) -> torch.Tensor:
        """Patch tokens of every frame (class token dropped, before `post_layernorm`), normalised, averaged over
        frames and projected: `(batch_size * num_frames, 1 + num_patches, hidden)` -> `(batch_size, num_patches, E)`.

        The original projects every frame, then averages; the projection is linear, so averaging first gives the same
        tokens with a num_frames-times smaller matrix product."""
        patch_tokens = self.prompts_visual_layernorm(last_hidden_state[:, 1:])
        num_patches, hidden_size = patch_tokens.shape[1:]
        patch_tokens = patch_tokens.view(batch_size, -1, num_patches, hidden_size).mean(dim=1)
        return patch_tokens @ self.prompts_visual_projection

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        text_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        return_loss: bool | None = None,
        interpolate_pos_encoding: bool = False,
        **kwargs: Any,
    ) -> XCLIPOutput:
        """
        Args:
            input_ids: class texts `(num_texts, sequence_length)`; or give `text_embeds` instead.
            pixel_values: videos `(batch_size, num_frames, num_channels, height, width)`.
            attention_mask: `(num_texts, sequence_length)`.
            text_embeds: cached `get_text_features(...).pooler_output` `(num_texts, projection_dim)`; gives the same
                logits as the `input_ids` it was computed from, without re-encoding the texts.
            labels: class index of every video `(batch_size,)`; adds the cross-entropy loss over the texts.
            return_loss: without `labels`, the symmetric contrastive loss of transformers' port (video i matches
                text i).
            interpolate_pos_encoding: accept another frame count (temporal embedding) or frame size (spatial).

        Returns:
            `XCLIPOutput`.
        """
        if pixel_values is None:
            raise ValueError("pixel_values is required: (batch_size, num_frames, channels, height, width).")
        _check_is_tensor(pixel_values)
        self._check_text_inputs(
            pixel_values.shape[0], input_ids, attention_mask, position_ids, text_embeds, labels, return_loss
        )

        vision_outputs, mit_outputs = self._encode_video(pixel_values, interpolate_pos_encoding, **kwargs)
        batch_size = pixel_values.shape[0]
        video_embeds = mit_outputs.pooler_output
        visual_tokens = self._prompt_visual_tokens(vision_outputs.last_hidden_state, batch_size)

        text_outputs = None
        if text_embeds is None:
            # The text model's own output, its pooled state unprojected, as transformers' port returns it.
            text_outputs = self.text_model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=position_ids,
                return_dict=True,
                **kwargs,
            )
            text_embeds = self.text_projection(text_outputs.pooler_output)
        # Every video gets its own copy of the texts, shifted towards it: (batch_size, num_texts, projection_dim).
        text_embeds = text_embeds.to(video_embeds.dtype).unsqueeze(0).expand(batch_size, -1, -1)
        text_embeds = text_embeds + self.prompts_generator(text_embeds, visual_tokens)

        video_embeds = video_embeds / video_embeds.norm(p=2, dim=-1, keepdim=True)
        text_embeds = text_embeds / text_embeds.norm(p=2, dim=-1, keepdim=True)
        logit_scale = self.logit_scale.exp()
        logits_per_video = torch.einsum("bd,bkd->bk", video_embeds, logit_scale * text_embeds)
        logits_per_text = logits_per_video.T

        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits_per_video.float(), labels.to(logits_per_video.device))
        elif return_loss:
            loss = image_text_contrastive_loss(logits_per_text)

        return XCLIPOutput(
            loss=loss,
            logits_per_video=logits_per_video,
            logits_per_text=logits_per_text,
            text_embeds=text_embeds,
            video_embeds=video_embeds,
            text_model_output=text_outputs,
            vision_model_output=vision_outputs,
            mit_output=mit_outputs,
        )
