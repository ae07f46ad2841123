"""One rule tells X-CLIP's own weights (message layers, MIT, prompt generator) from CLIP's, for the optimiser's
parameter groups and for `from_clip`'s copy of the CLIP weights, with or without a wrapper's prefix."""

import pytest

from xclip.modeling import xclip_own_part

OWN_PARTS = {
    "mit.position_embedding": "mit",
    "mit.encoder.layers.0.self_attn.q_proj.weight": "mit",
    "prompts_visual_projection": "prompts",
    "prompts_visual_layernorm.weight": "prompts",
    "prompts_generator.alpha": "prompts",
    "vision_model.encoder.layers.3.message_fc.weight": "message",
    "vision_model.encoder.layers.3.message_attn.out_proj.bias": "message",
}
CLIP_PARTS = [
    "logit_scale",
    "visual_projection.weight",
    "text_projection.weight",
    "vision_model.encoder.layers.3.self_attn.q_proj.weight",
    "text_model.embeddings.position_embedding.weight",
    "vision_model.submit.weight",  # "mit." only as a whole name component
]
PREFIXES = ["", "base_model.model.", "x_clip.", "base_model.model.x_clip."]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_own_parts_with_and_without_a_wrapper_prefix(prefix):
    assert {name: xclip_own_part(prefix + name) for name in OWN_PARTS} == OWN_PARTS
    assert [xclip_own_part(prefix + name) for name in CLIP_PARTS] == [None] * len(CLIP_PARTS)
