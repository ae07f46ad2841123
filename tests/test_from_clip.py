"""`XCLIPModel.from_clip`: CLIP parts copied exactly from transformers' or OpenAI's CLIP, X-CLIP parts initialised
as the original does."""

import math
from pathlib import Path

import pytest
import torch
from open_clip.model import CLIP as OpenClipModel
from open_clip.model import CLIPTextCfg, CLIPVisionCfg
from safetensors.torch import load_file, save_file
from transformers import CLIPConfig, CLIPModel

from xclip import XCLIPModel
from xclip.conversion import ConversionError, xclip_from_clip
from xclip.modeling import xclip_own_part

WIDTH = 64  # every width of the tiny CLIPs; one X-CLIP head (64 // 64), as the original's rule gives
VOCAB = 1000
BOS, EOS = VOCAB - 2, VOCAB - 1  # the end-of-text id is the largest, as in CLIP's vocabulary
NUM_FRAMES = 4


# A CLIP that deviates from OpenAI's QuickGELU and 1e-5 in both towers; X-CLIP must keep its settings.
NON_DEFAULT_TOWER_SETTINGS = {"hidden_act": "gelu", "layer_norm_eps": 1e-6}


def save_tiny_clip(folder: Path, **tower_settings) -> CLIPModel:
    """A tiny random transformers CLIP saved in `folder` (the `openai/clip-vit-*` layout); `tower_settings` apply to
    both towers."""
    torch.manual_seed(0)
    tower = dict(
        hidden_size=WIDTH, intermediate_size=4 * WIDTH, num_hidden_layers=2, num_attention_heads=2, **tower_settings
    )
    text = dict(tower, vocab_size=VOCAB, max_position_embeddings=77, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=0)
    vision = dict(tower, image_size=32, patch_size=16)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=WIDTH)
    model = CLIPModel(config).eval()
    with torch.no_grad():
        model.logit_scale.fill_(math.log(100.0))  # a trained CLIP's value, not the init
    model.save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def transformers_clip(tmp_path_factory):
    """A tiny random transformers CLIP with OpenAI's settings, saved as a folder."""
    folder = tmp_path_factory.mktemp("clip") / "tiny-clip"
    return folder, save_tiny_clip(folder)


@pytest.fixture(scope="module")
def gelu_clip(tmp_path_factory):
    """A tiny random transformers CLIP with `NON_DEFAULT_TOWER_SETTINGS`, saved as a folder."""
    folder = tmp_path_factory.mktemp("clip") / "tiny-gelu-clip"
    return folder, save_tiny_clip(folder, **NON_DEFAULT_TOWER_SETTINGS)


@pytest.fixture(scope="module")
def openai_clip():
    """A tiny random CLIP in OpenAI's original layout (open_clip builds it with OpenAI's names)."""
    torch.manual_seed(0)
    vision = CLIPVisionCfg(layers=2, width=WIDTH, head_width=64, patch_size=16, image_size=32)
    text = CLIPTextCfg(context_length=77, vocab_size=VOCAB, width=WIDTH, heads=1, layers=2)
    return OpenClipModel(embed_dim=WIDTH, vision_cfg=vision, text_cfg=text, quick_gelu=True).eval()


def token_ids() -> torch.Tensor:
    """[3, 77] ids: start, words, end-of-text, zero padding, as the original tokenizer writes them."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.zeros(3, 77, dtype=torch.long)
    for row, length in enumerate((3, 7, 1)):
        ids[row, 0] = BOS
        ids[row, 1 : 1 + length] = torch.randint(1, BOS, (length,), generator=generator)
        ids[row, 1 + length] = EOS
    return ids


def text_features(model: XCLIPModel) -> torch.Tensor:
    with torch.no_grad():
        return model.eval().get_text_features(input_ids=token_ids()).pooler_output


def assert_xclip_parts_initialised_as_the_original(model: XCLIPModel, clip_weights: dict[str, torch.Tensor]) -> None:
    state = model.state_dict()
    own = {name: tensor for name, tensor in state.items() if xclip_own_part(name) is not None}
    assert own, "X-CLIP's own weights are missing"
    # Not copied from anything in CLIP (a weight of the same shape never equals a CLIP weight).
    for name, tensor in own.items():
        if tensor.ndim == 2:
            assert not any(
                clip.shape == tensor.shape and torch.equal(clip, tensor) for clip in clip_weights.values()
            ), name

    prompts = model.prompts_generator
    assert torch.equal(prompts.alpha, torch.full((WIDTH,), 0.1))
    prompt_linears = [module for module in prompts.modules() if isinstance(module, torch.nn.Linear)]
    prompt_weights = torch.cat([linear.weight.flatten() for linear in prompt_linears])
    assert prompt_weights.std().item() == pytest.approx(0.02, rel=0.05)  # truncated normal, std 0.02
    assert all(linear.bias is None or not linear.bias.any() for linear in prompt_linears)
    assert model.prompts_visual_projection.std().item() == pytest.approx(1.0, rel=0.1)  # torch.randn
    assert model.mit.position_embedding.std().item() == pytest.approx(0.02, rel=0.25)

    # nn.MultiheadAttention's packed q/k/v: Xavier-uniform over [3d, d], zero biases.
    xavier_bound = math.sqrt(6 / (WIDTH + 3 * WIDTH))
    attentions = [layer.message_attn for layer in model.vision_model.encoder.layers]
    attentions += [layer.self_attn for layer in model.mit.encoder.layers]
    for attention in attentions:
        for projection in (attention.q_proj, attention.k_proj, attention.v_proj):
            assert projection.weight.abs().max() <= xavier_bound
            assert projection.weight.std().item() == pytest.approx(xavier_bound / math.sqrt(3), rel=0.1)
            assert not projection.bias.any()
    # message_fc keeps nn.Linear's default: uniform within 1/sqrt(fan_in).
    message_fc = model.vision_model.encoder.layers[0].message_fc.weight
    assert message_fc.abs().max() <= 1 / math.sqrt(WIDTH)
    assert message_fc.std().item() == pytest.approx(1 / math.sqrt(3 * WIDTH), rel=0.1)


@pytest.mark.parametrize("clip_fixture", ["transformers_clip", "gelu_clip"])
def test_from_transformers_folder_copies_clip_exactly(clip_fixture, request):
    folder, clip = request.getfixturevalue(clip_fixture)

    model = XCLIPModel.from_clip(folder, num_frames=NUM_FRAMES)

    with torch.no_grad():
        expected = clip.get_text_features(input_ids=token_ids()).pooler_output
    torch.testing.assert_close(text_features(model), expected, atol=1e-6, rtol=0)
    ours = model.state_dict()
    for name, tensor in clip.state_dict().items():
        assert torch.equal(ours[name.replace("pre_layrnorm", "pre_layernorm")], tensor), name
    config = model.config
    # Each tower keeps CLIP's activation and epsilon, not OpenAI's QuickGELU and 1e-5: the text features above show
    # it for the text tower; the frame encoder's outputs differ from CLIP's by design (message tokens).
    for tower in ("text_config", "vision_config"):
        our_tower, clip_tower = getattr(config, tower), getattr(clip.config, tower)
        assert (our_tower.hidden_act, our_tower.layer_norm_eps) == (clip_tower.hidden_act, clip_tower.layer_norm_eps)
    assert (config.vision_config.num_frames, config.vision_config.mit_num_hidden_layers) == (NUM_FRAMES, 1)
    assert (config.prompt_layers, config.prompt_alpha) == (2, 0.1)
    assert config.vision_config.num_attention_heads == config.text_config.num_attention_heads == 2  # from CLIP
    assert config.vision_config.mit_num_attention_heads == config.prompt_num_attention_heads == 1  # 64 // 64
    assert_xclip_parts_initialised_as_the_original(model, clip.state_dict())


def test_saved_and_reloaded_model_keeps_the_clip_weights(transformers_clip, tmp_path):
    folder, clip = transformers_clip
    XCLIPModel.from_clip(folder, num_frames=NUM_FRAMES).save_pretrained(tmp_path / "xclip")

    reloaded = XCLIPModel.from_pretrained(tmp_path / "xclip")

    assert torch.equal(reloaded.vision_model.pre_layernorm.weight, clip.vision_model.pre_layrnorm.weight)
    assert torch.equal(reloaded.logit_scale, clip.logit_scale)


def test_from_openai_state_dict_copies_clip_exactly(openai_clip, tmp_path):
    checkpoint = tmp_path / "ViT-tiny.pt"
    torch.save(openai_clip.state_dict(), checkpoint)

    model = xclip_from_clip(checkpoint, num_frames=NUM_FRAMES)

    with torch.no_grad():
        expected = openai_clip.encode_text(token_ids())
    torch.testing.assert_close(text_features(model), expected, atol=1e-5, rtol=0)
    original = openai_clip.state_dict()
    attention = model.vision_model.encoder.layers[1].self_attn
    split = torch.cat([attention.q_proj.weight, attention.k_proj.weight, attention.v_proj.weight])
    assert torch.equal(split, original["visual.transformer.resblocks.1.attn.in_proj_weight"])
    assert torch.equal(model.visual_projection.weight, original["visual.proj"].t())
    assert torch.equal(model.vision_model.embeddings.patch_embedding.weight, original["visual.conv1.weight"])
    assert torch.equal(model.logit_scale, original["logit_scale"])
    assert_xclip_parts_initialised_as_the_original(model, original)


@pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:`torch.jit.*is deprecated:FutureWarning")
def test_from_openai_torchscript_archive(openai_clip, tmp_path):
    archive = tmp_path / "ViT-tiny-jit.pt"
    example = (torch.zeros(1, 3, 32, 32), token_ids()[:1])
    torch.jit.save(torch.jit.trace(openai_clip, example, check_trace=False), archive)
    plain = tmp_path / "ViT-tiny.pt"
    torch.save({name: tensor.half() for name, tensor in openai_clip.state_dict().items()}, plain)

    from_archive = xclip_from_clip(archive, num_frames=NUM_FRAMES)
    from_half_state_dict = xclip_from_clip(plain, num_frames=NUM_FRAMES)

    with torch.no_grad():
        expected = openai_clip.encode_text(token_ids())
    torch.testing.assert_close(text_features(from_archive), expected, atol=1e-5, rtol=0)
    assert from_half_state_dict.text_projection.weight.dtype == torch.float32
    torch.testing.assert_close(
        from_half_state_dict.text_projection.weight, openai_clip.text_projection.t().half().float(), atol=0, rtol=0
    )


def test_config_overrides_are_routed_to_their_config(transformers_clip):
    folder, _ = transformers_clip

    model = XCLIPModel.from_clip(folder, num_frames=8, drop_path_rate=0.1, prompt_alpha=0.5, mit_num_hidden_layers=2)

    assert model.config.vision_config.drop_path_rate == 0.1
    assert len(model.mit.encoder.layers) == 2
    assert torch.equal(model.prompts_generator.alpha, torch.full((WIDTH,), 0.5))
    assert model.mit.position_embedding.shape == (1, 8, WIDTH)
    with pytest.raises(TypeError, match="both the text and the vision config"):
        XCLIPModel.from_clip(folder, attention_dropout=0.1)
    with pytest.raises(TypeError, match="'num_frame' is not a field"):
        XCLIPModel.from_clip(folder, num_frame=8)


def test_bad_sources_are_named(tmp_path, openai_clip):
    with pytest.raises(ConversionError, match="no such file or folder"):
        xclip_from_clip(tmp_path / "missing.pt")

    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(ConversionError, match="garbage.pt: not a readable PyTorch checkpoint"):
        xclip_from_clip(garbage)

    incomplete = tmp_path / "incomplete.pt"
    weights = openai_clip.state_dict()
    del weights["ln_final.bias"]
    torch.save(weights, incomplete)
    with pytest.raises(ConversionError, match=r"incomplete.pt: 1 model weight\(s\) not in the checkpoint"):
        xclip_from_clip(incomplete)


def test_clip_folder_missing_a_weight_is_refused_not_filled_at_random(tmp_path):
    folder = tmp_path / "incomplete-clip"
    save_tiny_clip(folder)
    weights = load_file(folder / "model.safetensors")
    del weights["text_model.final_layer_norm.bias"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})

    with pytest.raises(ConversionError, match=r"incomplete-clip: .*lacks .*'text_model\.final_layer_norm\.bias'"):
        xclip_from_clip(folder, num_frames=NUM_FRAMES)


def test_xclip_folder_is_not_a_clip_source(transformers_clip, tmp_path):
    folder, _ = transformers_clip
    XCLIPModel.from_clip(folder, num_frames=NUM_FRAMES).save_pretrained(tmp_path / "xclip")

    with pytest.raises(ConversionError, match="a 'xclip' model, expected a transformers CLIP"):
        xclip_from_clip(tmp_path / "xclip")
