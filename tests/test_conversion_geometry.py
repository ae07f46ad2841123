"""Geometry detection and key mapping at full size, for every released checkpoint, without allocating weights.

The original layouts are written out below from the original implementation's state-dict table (shapes per key
pattern), independently of `xclip.conversion`'s key table, and held as meta tensors.
"""

import pytest
import torch
from accelerate import init_empty_weights
from transformers import initialization as init

from xclip import XCLIPConfig, XCLIPModel
from xclip.conversion import MODEL_ZOO, ConversionError, convert_state_dict, detect_geometry, measure_geometry
from xclip.conversion.geometry import measure_clip_geometry

# OpenAI's four ViTs: vision width, layers, patch, image size; text width, layers; embedding width.
ARCHITECTURES = {
    "ViT-B/32": dict(vision_width=768, vision_layers=12, patch=32, image_size=224, text_width=512, embed_dim=512),
    "ViT-B/16": dict(vision_width=768, vision_layers=12, patch=16, image_size=224, text_width=512, embed_dim=512),
    "ViT-L/14": dict(vision_width=1024, vision_layers=24, patch=14, image_size=224, text_width=768, embed_dim=768),
    "ViT-L/14@336px": dict(
        vision_width=1024, vision_layers=24, patch=14, image_size=336, text_width=768, embed_dim=768
    ),
}


def _residual_block(prefix: str, width: int) -> dict[str, tuple[int, ...]]:
    return {
        f"{prefix}attn.in_proj_weight": (3 * width, width),
        f"{prefix}attn.in_proj_bias": (3 * width,),
        f"{prefix}attn.out_proj.weight": (width, width),
        f"{prefix}attn.out_proj.bias": (width,),
        f"{prefix}ln_1.weight": (width,),
        f"{prefix}ln_1.bias": (width,),
        f"{prefix}mlp.c_fc.weight": (4 * width, width),
        f"{prefix}mlp.c_fc.bias": (4 * width,),
        f"{prefix}mlp.c_proj.weight": (width, 4 * width),
        f"{prefix}mlp.c_proj.bias": (width,),
        f"{prefix}ln_2.weight": (width,),
        f"{prefix}ln_2.bias": (width,),
    }


def openai_clip_shapes(arch: str) -> dict[str, tuple[int, ...]]:
    """OpenAI CLIP's state-dict layout (the original X-CLIP's CLIP parts)."""
    a = ARCHITECTURES[arch]
    width, text_width, embed = a["vision_width"], a["text_width"], a["embed_dim"]
    grid = a["image_size"] // a["patch"]
    shapes = {
        "positional_embedding": (77, text_width),
        "text_projection": (text_width, embed),
        "logit_scale": (),
        "token_embedding.weight": (49408, text_width),
        "ln_final.weight": (text_width,),
        "ln_final.bias": (text_width,),
        "visual.class_embedding": (width,),
        "visual.positional_embedding": (grid * grid + 1, width),
        "visual.proj": (width, embed),
        "visual.conv1.weight": (width, 3, a["patch"], a["patch"]),
        "visual.ln_pre.weight": (width,),
        "visual.ln_pre.bias": (width,),
        "visual.ln_post.weight": (width,),
        "visual.ln_post.bias": (width,),
    }
    for layer in range(12):
        shapes.update(_residual_block(f"transformer.resblocks.{layer}.", text_width))
    for layer in range(a["vision_layers"]):
        shapes.update(_residual_block(f"visual.transformer.resblocks.{layer}.", width))
    return shapes


def original_xclip_shapes(arch: str, num_frames: int) -> dict[str, tuple[int, ...]]:
    """The original X-CLIP's state-dict layout: CLIP plus message layers, MIT (1 layer) and prompts (2 layers)."""
    a = ARCHITECTURES[arch]
    width, embed = a["vision_width"], a["embed_dim"]
    shapes = openai_clip_shapes(arch)
    for layer in range(a["vision_layers"]):
        prefix = f"visual.transformer.resblocks.{layer}."
        shapes.update(
            {
                f"{prefix}message_fc.weight": (width, width),
                f"{prefix}message_fc.bias": (width,),
                f"{prefix}message_ln.weight": (width,),
                f"{prefix}message_ln.bias": (width,),
                f"{prefix}message_attn.in_proj_weight": (3 * width, width),
                f"{prefix}message_attn.in_proj_bias": (3 * width,),
                f"{prefix}message_attn.out_proj.weight": (width, width),
                f"{prefix}message_attn.out_proj.bias": (width,),
            }
        )
    shapes["mit.positional_embedding"] = (1, num_frames, embed)
    shapes.update(_residual_block("mit.resblocks.0.", embed))
    shapes.update(
        {
            "prompts_visual_proj": (width, embed),
            "prompts_visual_ln.weight": (width,),
            "prompts_visual_ln.bias": (width,),
            "prompts_generator.alpha": (embed,),
            "prompts_generator.norm.weight": (embed,),
            "prompts_generator.norm.bias": (embed,),
        }
    )
    for layer in range(2):
        prefix = f"prompts_generator.decoder.{layer}."
        shapes.update(
            {
                f"{prefix}cross_attn.q_proj.weight": (embed, embed),
                f"{prefix}cross_attn.k_proj.weight": (embed, embed),
                f"{prefix}cross_attn.v_proj.weight": (embed, embed),
                f"{prefix}cross_attn.proj.weight": (embed, embed),
                f"{prefix}cross_attn.proj.bias": (embed,),
                f"{prefix}norm1.weight": (embed,),
                f"{prefix}norm1.bias": (embed,),
                f"{prefix}norm3.weight": (embed,),
                f"{prefix}norm3.bias": (embed,),
                f"{prefix}mlp.0.weight": (4 * embed, embed),
                f"{prefix}mlp.0.bias": (4 * embed,),
                f"{prefix}mlp.3.weight": (embed, 4 * embed),
                f"{prefix}mlp.3.bias": (embed,),
            }
        )
    return shapes


def meta_model(config: XCLIPConfig) -> XCLIPModel:
    with init_empty_weights(), init.no_init_weights():
        return XCLIPModel(config)


def as_meta(shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    return {name: torch.empty(shape, device="meta") for name, shape in shapes.items()}


def test_layout_helper_matches_the_original_key_counts():
    # The original reports 443 keys for X-CLIP-B/32 and 683 for L/14 (8 frames).
    assert len(original_xclip_shapes("ViT-B/32", 8)) == 443
    assert len(original_xclip_shapes("ViT-L/14", 8)) == 683


@pytest.mark.parametrize("entry", list(MODEL_ZOO.values()), ids=list(MODEL_ZOO))
def test_detects_every_model_zoo_geometry_and_maps_every_weight(entry):
    a = ARCHITECTURES[entry.architecture]
    state_dict = as_meta(original_xclip_shapes(entry.architecture, entry.num_frames))

    config = detect_geometry(state_dict)

    vision, text = config.vision_config, config.text_config
    assert (vision.image_size, vision.patch_size, vision.num_frames) == (entry.image_size, a["patch"], entry.num_frames)
    assert (vision.hidden_size, vision.num_hidden_layers) == (a["vision_width"], a["vision_layers"])
    assert vision.num_attention_heads == a["vision_width"] // 64
    assert vision.intermediate_size == 4 * a["vision_width"]
    assert (text.hidden_size, text.num_hidden_layers) == (a["text_width"], 12)
    assert text.num_attention_heads == a["text_width"] // 64
    assert (text.vocab_size, text.max_position_embeddings, text.intermediate_size) == (49408, 77, 4 * a["text_width"])
    assert config.projection_dim == vision.mit_hidden_size == a["embed_dim"]
    assert (vision.mit_num_hidden_layers, vision.mit_num_attention_heads) == (1, a["embed_dim"] // 64)
    assert vision.mit_intermediate_size == 4 * a["embed_dim"]
    assert (config.prompt_layers, config.prompt_num_attention_heads) == (2, a["embed_dim"] // 64)
    assert text.hidden_act == vision.hidden_act == config.prompt_hidden_act == "quick_gelu"
    assert text.layer_norm_eps == vision.layer_norm_eps == 1e-5
    assert measure_geometry(state_dict).architecture == entry.architecture

    converted = convert_state_dict(state_dict, config)
    model = meta_model(config)
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    assert {name: tuple(tensor.shape) for name, tensor in converted.items()} == expected


# Parameter counts of the original models, from building them with the original code.
ORIGINAL_PARAMETER_COUNTS = {
    ("ViT-B/32", 8): 196_585_729,
    ("ViT-B/16", 8): 194_929_153,
    ("ViT-L/14", 8): 575_673_601,
    ("ViT-L/14@336px", 16): 576_007_425,
}


@pytest.mark.parametrize(("arch", "num_frames"), list(ORIGINAL_PARAMETER_COUNTS))
def test_detected_config_has_the_original_parameter_count(arch, num_frames):
    config = detect_geometry(as_meta(original_xclip_shapes(arch, num_frames)))
    model = meta_model(config)
    assert sum(parameter.numel() for parameter in model.parameters()) == ORIGINAL_PARAMETER_COUNTS[arch, num_frames]


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_detects_every_openai_clip_geometry(arch):
    a = ARCHITECTURES[arch]
    shapes = openai_clip_shapes(arch)  # plain shapes work as well as tensors

    geometry = measure_clip_geometry(shapes, num_frames=16)

    assert geometry.architecture == arch
    assert (geometry.vision_width, geometry.image_size) == (a["vision_width"], a["image_size"])
    assert (geometry.text_width, geometry.embed_dim) == (a["text_width"], a["embed_dim"])
    assert (geometry.vision_heads, geometry.text_heads) == (a["vision_width"] // 64, a["text_width"] // 64)
    assert (geometry.num_frames, geometry.mit_layers, geometry.prompt_layers) == (16, 1, 2)


def test_accepts_torch_size_values():
    shapes = {name: torch.Size(shape) for name, shape in original_xclip_shapes("ViT-B/16", 32).items()}
    assert detect_geometry(shapes).vision_config.num_frames == 32


def test_heads_can_be_overridden_and_must_divide_the_width():
    shapes = original_xclip_shapes("ViT-B/32", 8)

    config = detect_geometry(shapes, vision_heads=16, text_heads=4, mit_heads=4, prompt_heads=16)

    assert config.vision_config.num_attention_heads == 16
    assert config.text_config.num_attention_heads == 4
    assert config.vision_config.mit_num_attention_heads == 4
    assert config.prompt_num_attention_heads == 16
    with pytest.raises(ConversionError, match="vision_heads=5 does not divide vision_width=768"):
        detect_geometry(shapes, vision_heads=5)


def test_summary_names_the_architecture_and_frames():
    summary = measure_geometry(original_xclip_shapes("ViT-L/14@336px", 16)).summary()
    assert summary.startswith("X-CLIP ViT-L/14@336px: 16 frames of 336x336 px (patch 14)")
    assert "MIT: 1 layer, 12 heads" in summary and "prompt generator: 2 layers, 12 heads" in summary


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda s: s.pop("mit.positional_embedding"), "missing weight 'mit.positional_embedding'"),
        (lambda s: s.update({"visual.positional_embedding": (51, 768)}), "has 51 positions"),
        (lambda s: s.update({"visual.conv1.weight": (768, 3, 32)}), "'visual.conv1.weight' has shape"),
        (lambda s: s.update({"mit.positional_embedding": (1, 8, 256)}), "'mit.positional_embedding' is 256 wide"),
        (lambda s: [s.pop(k) for k in list(s) if k.startswith("visual.transformer.resblocks.3.")], r"layers \[3\]"),
    ],
    ids=["no-mit", "non-square-grid", "conv-rank", "mit-width", "layer-gap"],
)
def test_impossible_geometries_are_named(edit, message):
    shapes = original_xclip_shapes("ViT-B/32", 8)
    edit(shapes)
    with pytest.raises(ConversionError, match=message):
        detect_geometry(shapes)
