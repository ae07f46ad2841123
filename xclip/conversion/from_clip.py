"""Building an X-CLIP from CLIP weights, as the original starts every training run.

The CLIP parts (both towers, both projections and the temperature) are copied exactly. X-CLIP's own parts (message
layers, MIT, prompt generator, `prompts_visual_*`) keep the initialisation `XCLIPModel` gives them, which is the
original's; the original loads CLIP with `strict=False` over a freshly built model in the same way.
"""

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch
from transformers import CLIPModel, PretrainedConfig

from ..modeling import XCLIPConfig, XCLIPModel, XCLIPTextConfig, XCLIPVisionConfig, xclip_own_part
from .checkpoint_loading import load_openai_clip_state_dict
from .errors import ConversionError, describe_error
from .geometry import XCLIPGeometry, measure_clip_geometry, original_xclip_parts
from .key_mapping import COPY, KEY_TABLE, KeyTable, map_weights, weight_shapes

__all__ = ["xclip_from_clip"]

logger = logging.getLogger(__name__)

# transformers' CLIP names are ours, except for a typo CLIP keeps for compatibility.
TRANSFORMERS_CLIP_KEY_TABLE: KeyTable = (
    ("vision_model.pre_layrnorm.{p}", "vision_model.pre_layernorm.{p}", COPY),
    ("{rest}", "{rest}", COPY),
)

_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")


def xclip_from_clip(
    source: str | os.PathLike,
    num_frames: int = 8,
    model_class: type[XCLIPModel] = XCLIPModel,
    **config_overrides: Any,
) -> XCLIPModel:
    """An X-CLIP whose CLIP parts are `source`'s weights and whose own parts are freshly initialised as the
    original's (MIT of 1 layer, prompt generator of 2 layers with alpha 0.1, `prompts_visual_projection` ~ N(0, 1)).

    Args:
        source: a transformers CLIP folder or Hub id (the `openai/clip-vit-base-patch32` layout), or OpenAI's
            original CLIP file (`ViT-B-32.pt` and the like: TorchScript archive or state dict).
        num_frames: frames per video, the length of the MIT's temporal position embedding.
        model_class: `XCLIPModel` or a subclass.
        config_overrides: other configuration fields. `XCLIPConfig` fields (e.g. `prompt_alpha`) apply to the model,
            fields only `XCLIPVisionConfig` or only `XCLIPTextConfig` has (e.g. `drop_path_rate`,
            `mit_num_hidden_layers`) to that tower; pass `text_config={...}` / `vision_config={...}` for fields both
            towers have.

    Raises:
        ConversionError: `source` is missing, not a CLIP checkpoint, or its weights do not fit.
        TypeError: an unknown or ambiguous override.
    """
    text_overrides, vision_overrides, model_overrides = _route_overrides(config_overrides)
    clip_weights, geometry, table, tower_settings = _read_clip(source, num_frames)
    logger.info("Building from CLIP %s: %s", source, geometry.summary())
    config = geometry.to_config(
        text_config={**tower_settings["text"], **text_overrides},
        vision_config={**tower_settings["vision"], **vision_overrides},
        **model_overrides,
    )
    model = model_class(config)  # every part initialised; the CLIP parts are overwritten next

    clip_shapes = {name: shape for name, shape in weight_shapes(model).items() if xclip_own_part(name) is None}
    try:
        weights = map_weights(clip_weights, clip_shapes, table)
    except ConversionError as error:
        raise ConversionError(f"{source}: {error}") from error
    model.load_state_dict(weights, strict=False)
    return model


def _read_clip(
    source: str | os.PathLike, num_frames: int
) -> tuple[Mapping[str, torch.Tensor], XCLIPGeometry, KeyTable, dict[str, dict[str, Any]]]:
    """CLIP weights, the X-CLIP geometry around them, the key table that maps them, and per-tower settings."""
    path = Path(source)
    if path.is_file():
        state_dict = load_openai_clip_state_dict(path)
        try:
            geometry = measure_clip_geometry(state_dict, num_frames)
        except ConversionError as error:
            raise ConversionError(f"{path}: {error}") from error
        return state_dict, geometry, KEY_TABLE, {"text": {}, "vision": {}}
    if path.is_dir() or _HUB_ID.fullmatch(str(source)):
        clip = _load_transformers_clip(str(source))
        geometry = _geometry_of_transformers_clip(clip.config, num_frames)
        # Keep CLIP's activation and epsilon, in case a CLIP deviates from OpenAI's (QuickGELU, 1e-5).
        settings = {
            tower: {"hidden_act": sub_config.hidden_act, "layer_norm_eps": sub_config.layer_norm_eps}
            for tower, sub_config in (("text", clip.config.text_config), ("vision", clip.config.vision_config))
        }
        weights = {name: tensor.float() for name, tensor in clip.state_dict().items()}
        return weights, geometry, TRANSFORMERS_CLIP_KEY_TABLE, settings
    raise ConversionError(f"{source}: no such file or folder (nor a Hub id of the form 'owner/name')")


def _load_transformers_clip(source: str) -> CLIPModel:
    try:
        config_dict, _ = PretrainedConfig.get_config_dict(source)
    except (OSError, ValueError) as error:
        raise ConversionError(f"{source}: cannot read a transformers config ({describe_error(error)})") from error
    if config_dict.get("model_type") != "clip":
        raise ConversionError(
            f"{source}: a {config_dict.get('model_type', 'untyped')!r} model, expected a transformers CLIP "
            "('model_type': 'clip')"
        )
    try:
        clip, loading_info = CLIPModel.from_pretrained(source, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as error:
        raise ConversionError(f"{source}: cannot load the CLIP weights ({describe_error(error)})") from error
    missing = loading_info.get("missing_keys") or []
    mismatched = loading_info.get("mismatched_keys") or []
    if missing or mismatched:
        # from_pretrained would fill these with random values; X-CLIP must start from CLIP's real weights.
        raise ConversionError(
            f"{source}: the CLIP checkpoint lacks or mis-shapes {len(missing) + len(mismatched)} weight(s), "
            f"e.g. {[*missing, *mismatched][:3]}"
        )
    return clip


def _geometry_of_transformers_clip(config: PretrainedConfig, num_frames: int) -> XCLIPGeometry:
    text, vision = config.text_config, config.vision_config
    return XCLIPGeometry(
        image_size=vision.image_size,
        patch_size=vision.patch_size,
        vision_width=vision.hidden_size,
        vision_layers=vision.num_hidden_layers,
        vision_heads=vision.num_attention_heads,
        vision_intermediate_size=vision.intermediate_size,
        text_width=text.hidden_size,
        text_layers=text.num_hidden_layers,
        text_heads=text.num_attention_heads,
        text_intermediate_size=text.intermediate_size,
        vocab_size=text.vocab_size,
        context_length=text.max_position_embeddings,
        embed_dim=config.projection_dim,
        **original_xclip_parts(config.projection_dim, num_frames),
    )


def _route_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Splits `from_clip`'s keyword overrides into (text, vision, model) config fields."""
    text = dict(overrides.pop("text_config", None) or {})
    vision = dict(overrides.pop("vision_config", None) or {})
    model: dict[str, Any] = {}
    model_fields = _field_names(XCLIPConfig) - {"text_config", "vision_config"}
    text_fields = _field_names(XCLIPTextConfig) - _field_names(PretrainedConfig)
    vision_fields = _field_names(XCLIPVisionConfig) - _field_names(PretrainedConfig)
    for name, value in overrides.items():
        if name in model_fields:
            model[name] = value
        elif name in text_fields and name in vision_fields:
            raise TypeError(
                f"{name!r} is a field of both the text and the vision config; pass text_config={{{name!r}: ...}} "
                f"or vision_config={{{name!r}: ...}}"
            )
        elif name in vision_fields:
            vision[name] = value
        elif name in text_fields:
            text[name] = value
        else:
            raise TypeError(f"{name!r} is not a field of XCLIPConfig, XCLIPTextConfig or XCLIPVisionConfig")
    return text, vision, model


def _field_names(config_class: type) -> set[str]:
    return {field.name for field in fields(config_class)}
