"""Original X-CLIP weight names -> this package's (= transformers' `x_clip`) names, in one table.

Two things change besides the names:

- `nn.MultiheadAttention` packs q, k and v into one `in_proj` matrix (rows `[0:d]`, `[d:2d]`, `[2d:3d]`); ours are
  three projections.
- `visual.proj` and `text_projection` are applied as `x @ P` (`(in, out)`); ours are `nn.Linear` weights
  (`(out, in)`), so they are transposed. `prompts_visual_proj` stays an `x @ P` parameter on both sides.

Every other tensor is copied as is.

Every original weight must find its place and every model weight must be filled, with the right shape; otherwise
`ConversionError` lists what is left over, missing or mis-shaped.
"""

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

import torch
from accelerate import init_empty_weights
from torch import nn
from transformers import initialization as init

from ..modeling import XCLIPConfig, XCLIPModel
from ..text_utils import format_names
from .errors import ConversionError
from .geometry import detect_geometry

__all__ = [
    "KEY_TABLE",
    "KeyTable",
    "Transform",
    "convert_state_dict",
    "empty_model",
    "expected_weight_shapes",
    "map_weights",
    "weight_shapes",
]


class Transform(Enum):
    COPY = "copy"
    TRANSPOSE = "transpose"  # an `x @ P` matrix becomes an nn.Linear weight
    SPLIT_QKV = "split q/k/v"  # packed [q; k; v] rows become the three projections named by `{qkv}`


COPY, TRANSPOSE, SPLIT_QKV = Transform.COPY, Transform.TRANSPOSE, Transform.SPLIT_QKV

KeyTable = tuple[tuple[str, str, Transform], ...]

# One residual block of CLIP's transformer, as (original name, our name, transform) below a layer `{n}`; the text
# encoder, the frame encoder and the MIT all use it.
_RESIDUAL_BLOCK: KeyTable = (
    ("ln_1.{p}", "layer_norm1.{p}", COPY),
    ("attn.in_proj_{p}", "self_attn.{qkv}_proj.{p}", SPLIT_QKV),
    ("attn.out_proj.{p}", "self_attn.out_proj.{p}", COPY),
    ("ln_2.{p}", "layer_norm2.{p}", COPY),
    ("mlp.c_fc.{p}", "mlp.fc1.{p}", COPY),
    ("mlp.c_proj.{p}", "mlp.fc2.{p}", COPY),
)


def _residual_block_rows(original_prefix: str, our_prefix: str) -> KeyTable:
    """The `_RESIDUAL_BLOCK` rows for the layers `<original_prefix>.{n}` -> `<our_prefix>.{n}`."""
    return tuple(
        (f"{original_prefix}.{{n}}.{original}", f"{our_prefix}.{{n}}.{ours}", transform)
        for original, ours, transform in _RESIDUAL_BLOCK
    )


# (original name, our name, transform). `{n}` is a layer index, `{p}` is `weight` or `bias`, `{qkv}` is q, k and v,
# `{rest}` is the rest of the name.
KEY_TABLE: KeyTable = (
    # Text encoder: the CLIP text transformer.
    ("token_embedding.weight", "text_model.embeddings.token_embedding.weight", COPY),
    ("positional_embedding", "text_model.embeddings.position_embedding.weight", COPY),
    *_residual_block_rows("transformer.resblocks", "text_model.encoder.layers"),
    ("ln_final.{p}", "text_model.final_layer_norm.{p}", COPY),
    ("text_projection", "text_projection.weight", TRANSPOSE),
    # Frame encoder: the CLIP ViT with cross-frame message layers (`CrossFrameCommunicationTransformer`).
    ("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight", COPY),
    ("visual.class_embedding", "vision_model.embeddings.class_embedding", COPY),
    ("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight", COPY),
    ("visual.ln_pre.{p}", "vision_model.pre_layernorm.{p}", COPY),
    ("visual.transformer.resblocks.{n}.message_fc.{p}", "vision_model.encoder.layers.{n}.message_fc.{p}", COPY),
    ("visual.transformer.resblocks.{n}.message_ln.{p}", "vision_model.encoder.layers.{n}.message_ln.{p}", COPY),
    (
        "visual.transformer.resblocks.{n}.message_attn.in_proj_{p}",
        "vision_model.encoder.layers.{n}.message_attn.{qkv}_proj.{p}",
        SPLIT_QKV,
    ),
    (
        "visual.transformer.resblocks.{n}.message_attn.out_proj.{p}",
        "vision_model.encoder.layers.{n}.message_attn.out_proj.{p}",
        COPY,
    ),
    *_residual_block_rows("visual.transformer.resblocks", "vision_model.encoder.layers"),
    ("visual.ln_post.{p}", "vision_model.post_layernorm.{p}", COPY),
    ("visual.proj", "visual_projection.weight", TRANSPOSE),
    # Multi-frame integration transformer.
    ("mit.positional_embedding", "mit.position_embedding", COPY),
    *_residual_block_rows("mit.resblocks", "mit.encoder.layers"),
    # Video-specific prompt generator and its visual input.
    ("prompts_visual_ln.{p}", "prompts_visual_layernorm.{p}", COPY),
    ("prompts_visual_proj", "prompts_visual_projection", COPY),
    ("prompts_generator.alpha", "prompts_generator.alpha", COPY),
    ("prompts_generator.norm.{p}", "prompts_generator.layernorm.{p}", COPY),
    # The decoder layers keep the original's names; a name the model lacks is still reported as left over.
    ("prompts_generator.decoder.{rest}", "prompts_generator.decoder.{rest}", COPY),
    # Temperature.
    ("logit_scale", "logit_scale", COPY),
)


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    ours: str
    transform: Transform

    @classmethod
    def compile(cls, original: str, ours: str, transform: Transform) -> "_Rule":
        regex = re.escape(original)
        for placeholder, group in _PLACEHOLDERS.items():
            regex = regex.replace(re.escape("{" + placeholder + "}"), f"(?P<{placeholder}>{group})")
        return cls(re.compile(regex), ours, transform)

    def apply(self, name: str, tensor: torch.Tensor, fields: dict[str, str]) -> dict[str, torch.Tensor]:
        """Our name(s) -> tensor(s) for the original `name`; raises `_MalformedWeight` when the shape cannot be
        transformed at all."""
        ours = self.ours.format_map({**fields, "qkv": "{qkv}"})
        if self.transform is COPY:
            return {ours: tensor}
        if self.transform is TRANSPOSE:
            if tensor.ndim != 2:
                raise _MalformedWeight(f"{name!r} has shape {list(tensor.shape)}, expected a matrix")
            return {ours: tensor.t()}
        if tensor.ndim == 0 or tensor.shape[0] % 3:
            raise _MalformedWeight(f"{name!r} has shape {list(tensor.shape)}, expected 3 * width rows (q, k, v)")
        # Cloned: three views of one storage could not be saved as separate safetensors entries.
        return {ours.replace("{qkv}", part): chunk.clone() for part, chunk in zip("qkv", tensor.chunk(3, dim=0))}

    def original_shape(self, our_shape: tuple[int, ...]) -> tuple[int, ...]:
        """The original layout of one of our shapes, for messages in the user's terms."""
        if self.transform is TRANSPOSE:
            return our_shape[::-1]
        if self.transform is SPLIT_QKV:
            return (3 * our_shape[0], *our_shape[1:])
        return our_shape


class _MalformedWeight(Exception):
    pass


# What each placeholder of a table's original names matches; `{rest}` takes the rest of a name, e.g. for a final
# "copy everything else" row.
_PLACEHOLDERS = {"n": r"\d+", "p": "weight|bias", "rest": ".+"}


@functools.cache
def _compile_table(table: KeyTable) -> tuple[_Rule, ...]:
    return tuple(_Rule.compile(*entry) for entry in table)


def weight_shapes(model: nn.Module) -> dict[str, tuple[int, ...]]:
    """The names and shapes of `model`'s saved weights."""
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


def empty_model(config: XCLIPConfig) -> XCLIPModel:
    """An `XCLIPModel` with its weights on the meta device, built without initialising them (instant at any size);
    its buffers are real. Fill it with `load_state_dict(..., assign=True)`."""
    with init_empty_weights(), init.no_init_weights():
        return XCLIPModel(config)


def expected_weight_shapes(config: XCLIPConfig) -> dict[str, tuple[int, ...]]:
    """Our weight names -> shapes for `config`."""
    return weight_shapes(empty_model(config))


def convert_state_dict(
    state_dict: Mapping[str, torch.Tensor], config: XCLIPConfig | None = None
) -> dict[str, torch.Tensor]:
    """Renames and reshapes an original X-CLIP state dict into this package's (and transformers') layout.

    Args:
        state_dict: original names to tensors (see `load_original_state_dict`).
        config: the model's configuration; detected from the shapes when omitted.

    Returns:
        Our names to contiguous tensors, exactly the weights of `XCLIPModel(config)`.

    Raises:
        ConversionError: original weights left over, model weights missing, or shapes that do not fit.
    """
    config = config if config is not None else detect_geometry(state_dict)
    return map_weights(state_dict, expected_weight_shapes(config))


def map_weights(
    state_dict: Mapping[str, torch.Tensor],
    expected_shapes: Mapping[str, tuple[int, ...]],
    table: KeyTable = KEY_TABLE,
) -> dict[str, torch.Tensor]:
    """Maps `state_dict` through `table` (first matching row wins) and checks that the result has exactly the names
    and shapes of `expected_shapes`: all of a model's, or only some (the CLIP parts, when building from CLIP).

    Raises:
        ConversionError: naming the source weights that are left over or mis-shaped, and our weights missing.
    """
    rules = _compile_table(table)
    mapped: dict[str, torch.Tensor] = {}
    origins: dict[str, tuple[str, _Rule]] = {}
    left_over, problems = [], []
    for name, tensor in state_dict.items():
        rule, fields = _find_rule(rules, name)
        if rule is None:
            left_over.append(name)
            continue
        try:
            targets = rule.apply(name, tensor, fields)
        except _MalformedWeight as error:
            problems.append(str(error))
            continue
        for target, value in targets.items():
            mapped[target] = value.contiguous()
            origins[target] = (name, rule)

    for target, value in mapped.items():
        if target not in expected_shapes:
            left_over.append(origins[target][0])
        elif tuple(value.shape) != expected_shapes[target]:
            name, rule = origins[target]
            problems.append(
                f"{name!r} has shape {list(state_dict[name].shape)}, the model needs "
                f"{list(rule.original_shape(expected_shapes[target]))}"
            )
    missing = [target for target in expected_shapes if target not in mapped]

    complaints = []
    problems = list(dict.fromkeys(problems))  # a packed q/k/v matrix reports once, not three times
    if problems:
        complaints.append(f"{len(problems)} weight(s) with the wrong shape: " + ", ".join(problems[:5]))
    if missing:
        complaints.append(f"{len(missing)} model weight(s) not in the checkpoint: {format_names(missing)}")
    if left_over:
        left_over = sorted(set(left_over))
        complaints.append(
            f"{len(left_over)} checkpoint weight(s) with no place in the model: {format_names(left_over)}"
        )
    if complaints:
        raise ConversionError("; ".join(complaints))
    return mapped


def _find_rule(rules: tuple[_Rule, ...], name: str) -> tuple[_Rule | None, dict[str, str]]:
    for rule in rules:
        match = rule.pattern.fullmatch(name)
        if match:
            return rule, match.groupdict()
    return None, {}
