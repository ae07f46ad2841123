"""The model against transformers' built-in x_clip port (our reference), and its own guarantees."""

import json
import logging

import pytest
import torch
import transformers
from torch import nn
from transformers.testing_utils import CaptureLogger

import xclip
from xclip import XCLIPConfig, XCLIPModel, XCLIPTextConfig, XCLIPVisionConfig, XCLIPVisionModel

VOCAB = 1000
EOT = VOCAB - 1  # the end-of-text id is the largest, as in CLIP's vocabulary

# Tiny geometries that differ in every axis the architecture has: patch and image size, frames, widths and heads
# of each tower, MIT and prompt-generator depth and heads.
GEOMETRIES = {
    "p8-f4": dict(image_size=32, patch_size=8, num_frames=4, vision=(64, 4, 2), text=(48, 4, 2), proj=64,
                  mit=(1, 4), prompt=(2, 4)),
    "p16-f8": dict(image_size=48, patch_size=16, num_frames=8, vision=(48, 3, 2), text=(32, 2, 1), proj=32,
                   mit=(2, 2), prompt=(1, 2)),
    "p4-f1": dict(image_size=16, patch_size=4, num_frames=1, vision=(32, 2, 3), text=(32, 4, 2), proj=48,
                  mit=(1, 3), prompt=(3, 6)),
    "p8-f2-noprompt": dict(image_size=24, patch_size=8, num_frames=2, vision=(64, 8, 1), text=(64, 8, 1), proj=32,
                           mit=(1, 1), prompt=(0, 4)),
}


def make_config(geometry: str = "p8-f4", **overrides) -> XCLIPConfig:
    g = GEOMETRIES[geometry]
    (v_width, v_heads, v_layers), (t_width, t_heads, t_layers) = g["vision"], g["text"]
    return XCLIPConfig(
        projection_dim=g["proj"],
        prompt_layers=g["prompt"][0],
        prompt_num_attention_heads=g["prompt"][1],
        text_config=dict(vocab_size=VOCAB, hidden_size=t_width, intermediate_size=2 * t_width,
                         num_attention_heads=t_heads, num_hidden_layers=t_layers),
        vision_config=dict(hidden_size=v_width, intermediate_size=2 * v_width, num_attention_heads=v_heads,
                           num_hidden_layers=v_layers, image_size=g["image_size"], patch_size=g["patch_size"],
                           num_frames=g["num_frames"], mit_hidden_size=g["proj"], mit_intermediate_size=3 * g["proj"],
                           mit_num_hidden_layers=g["mit"][0], mit_num_attention_heads=g["mit"][1]),
        **overrides,
    )


def make_model(geometry: str = "p8-f4", seed: int = 0, attn: str = "sdpa", **overrides) -> XCLIPModel:
    torch.manual_seed(seed)
    config = make_config(geometry, **overrides)
    config._attn_implementation = attn
    model = XCLIPModel(config).eval()
    # Random init leaves the prompt generator almost inert (alpha 0.1, small weights); make every path count.
    with torch.no_grad():
        model.prompts_generator.alpha.normal_(0.5, 0.2)
    return model


def make_videos(config: XCLIPConfig, batch_size: int = 2, num_frames: int | None = None, size: int | None = None,
                seed: int = 1) -> torch.Tensor:
    vc = config.vision_config
    generator = torch.Generator().manual_seed(seed)
    shape = (batch_size, num_frames or vc.num_frames, 3, size or vc.image_size, size or vc.image_size)
    return torch.randn(shape, generator=generator)


def make_labels(lengths=(3, 6, 2), pad_to: int | None = None, pad_id: int = 0, seed: int = 2):
    """Token batches shaped like tokenised label sets: start token, words, end-of-text, padding."""
    generator = torch.Generator().manual_seed(seed)
    width = pad_to or max(lengths) + 2
    input_ids = torch.full((len(lengths), width), pad_id)
    attention_mask = torch.zeros_like(input_ids)
    for row, length in enumerate(lengths):
        words = torch.randint(1, EOT - 1, (length,), generator=generator)
        input_ids[row, : length + 2] = torch.cat([torch.tensor([EOT - 1]), words, torch.tensor([EOT])])
        attention_mask[row, : length + 2] = 1
    return input_ids, attention_mask


def load_into(model_class, source: nn.Module, tmp_path, attn: str):
    source.save_pretrained(tmp_path)
    loaded, info = model_class.from_pretrained(tmp_path, output_loading_info=True, attn_implementation=attn)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"], info
    return loaded.eval()


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
@pytest.mark.parametrize("geometry", list(GEOMETRIES))
def test_matches_transformers_both_ways(geometry, attn, tmp_path):
    ours = make_model(geometry, attn=attn)
    theirs = load_into(transformers.XCLIPModel, ours, tmp_path / "ours", attn)
    videos = make_videos(ours.config)
    input_ids, attention_mask = make_labels()
    with torch.no_grad():
        expected = theirs(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos)
        got = ours(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos)
        assert (got.logits_per_video - expected.logits_per_video).abs().max() <= 1e-5
        assert (got.video_embeds - expected.video_embeds).abs().max() <= 1e-5
        assert (got.text_embeds - expected.text_embeds).abs().max() <= 1e-5
        # Every output, the sub-models' included, in the same place of the same tuple (`return_dict=False`).
        got_tuple, expected_tuple = (
            model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos, return_dict=False)
            for model in (ours, theirs)
        )
        torch.testing.assert_close(got_tuple, expected_tuple, rtol=0, atol=1e-5)

        # and their checkpoint loads into ours with the same outputs
        back = load_into(XCLIPModel, theirs, tmp_path / "theirs", attn)
        again = back(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos)
        assert (again.logits_per_video - expected.logits_per_video).abs().max() <= 1e-5


def test_eager_and_sdpa_agree_and_switch_everywhere():
    model = make_model("p8-f4", attn="sdpa")
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()
    with torch.no_grad():
        sdpa = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).logits_per_video
        model.set_attn_implementation("eager")
        # the switch reaches the MIT and the prompt generator, which are not sub-models of their own
        seen = {m.config._attn_implementation for m in model.modules() if hasattr(m, "is_causal")}
        assert seen == {"eager"}
        eager = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).logits_per_video
    assert (sdpa - eager).abs().max() <= 1e-5


def test_cached_text_embeds_equal_full_forward():
    model = make_model()
    videos, (input_ids, attention_mask) = make_videos(model.config, batch_size=3), make_labels()
    with torch.no_grad():
        full = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos)
        text_embeds = model.get_text_features(input_ids=input_ids, attention_mask=attention_mask).pooler_output
        cached = model(pixel_values=videos, text_embeds=text_embeds)
    assert text_embeds.shape == (3, model.config.projection_dim)
    assert cached.text_model_output is None
    torch.testing.assert_close(cached.logits_per_video, full.logits_per_video, rtol=0, atol=1e-6)


@pytest.mark.parametrize("pad_id", [0, EOT])  # the original pads with 0, transformers' tokenizer with end-of-text
def test_pad_to_longest_equals_pad_to_77(pad_id):
    model = make_model()
    videos = make_videos(model.config)
    short_ids, short_mask = make_labels(pad_id=pad_id)
    long_ids, long_mask = make_labels(pad_to=77, pad_id=pad_id)
    assert short_ids.shape[1] < 77
    with torch.no_grad():
        short = model(input_ids=short_ids, attention_mask=short_mask, pixel_values=videos).logits_per_video
        long = model(input_ids=long_ids, attention_mask=long_mask, pixel_values=videos).logits_per_video
        # the causal mask alone makes padding invisible to the pooled end-of-text token, as in the original
        no_mask = model(input_ids=long_ids, pixel_values=videos).logits_per_video
    torch.testing.assert_close(short, long, rtol=0, atol=1e-5)
    torch.testing.assert_close(no_mask, long, rtol=0, atol=1e-5)


def test_videos_are_independent_of_each_other():
    model = make_model()
    videos, (input_ids, attention_mask) = make_videos(model.config, batch_size=3), make_labels()
    with torch.no_grad():
        batched = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).logits_per_video
        single = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos[1:2]).logits_per_video
    torch.testing.assert_close(batched[1:2], single, rtol=0, atol=1e-5)


def test_gradient_checkpointing_gives_the_same_gradients():
    grads = []
    for checkpointing in (False, True):
        model = make_model("p16-f8").train()
        if checkpointing:
            # transformers 5.23 renamed it; the GPU image's 5.17 only has the old name
            enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
            enable()
            assert all(layer.gradient_checkpointing for layer in model.vision_model.encoder.layers)
        videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()
        labels = torch.tensor([2, 0])
        loss = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos, labels=labels).loss
        loss.backward()
        grads.append({name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys()
    assert any("message_attn" in name for name in grads[0])
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], rtol=1e-4, atol=1e-6, msg=name)


def test_loss_is_cross_entropy_over_class_texts():
    model = make_model()
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()
    labels = torch.tensor([1, 2])
    out = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos, labels=labels)
    torch.testing.assert_close(out.loss, nn.functional.cross_entropy(out.logits_per_video, labels))
    assert model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).loss is None


def test_bf16_forward_stays_close_to_float32():
    """bf16 weights compute the same function: video embeddings and prompted text embeddings within bf16 rounding of
    float32's. Measured here: cosine distance 4e-5 for the texts, where skipping the prompt generator alone moves them
    by 6e-3; logits differ by 0.04 of 1.9."""
    model = make_model()
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()
    with torch.no_grad():
        reference = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos)
        model.to(torch.bfloat16)
        low = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos.bfloat16())
    assert low.logits_per_video.dtype == torch.bfloat16
    for name in ("text_embeds", "video_embeds"):
        ours, theirs = getattr(low, name).float().flatten(1), getattr(reference, name).flatten(1)
        distance = 1 - torch.nn.functional.cosine_similarity(ours, theirs, dim=-1).min()
        assert distance < 2e-4, (name, distance)
    assert (low.logits_per_video.float() - reference.logits_per_video).abs().max() < 0.1


def test_wrong_frame_count_names_both_counts_and_the_opt_in():
    model = make_model("p8-f4")
    input_ids, attention_mask = make_labels()
    with pytest.raises(ValueError, match=r"6 frames.*trained with 4.*interpolate_pos_encoding=True"):
        model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=make_videos(model.config, num_frames=6))
    with pytest.raises(ValueError, match=r"40x40.*32x32.*interpolate_pos_encoding=True"):
        model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=make_videos(model.config, size=40))
    with pytest.raises(ValueError, match="batch_size, num_frames, channels, height, width"):
        model(input_ids=input_ids, pixel_values=torch.randn(4, 3, 32, 32))


def test_bad_text_inputs_labels_and_channels_are_clear_errors():
    model = make_model("p8-f4")
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()  # 2 videos, 3 texts
    text_embeds = model.get_text_features(input_ids, attention_mask).pooler_output.detach()
    width, vocab = model.config.projection_dim, model.config.text_config.vocab_size
    cases = [
        (dict(text_embeds=torch.randn(3, width + 1)),
         rf"text_embeds must be \(num_texts, {width}\).*\(3, {width + 1}\)"),
        (dict(text_embeds=text_embeds[None]), r"text_embeds must be.*\(1, 3,"),
        (dict(input_ids=input_ids[0]), r"input_ids must be \(num_texts, sequence_length\)"),
        (dict(text_embeds=text_embeds, labels=torch.tensor([0, 5])), r"Label id 5 is out of range: there are 3 texts"),
        (dict(text_embeds=text_embeds, labels=torch.tensor([0, -1])), r"Label id -1 is out of range"),
        (dict(text_embeds=text_embeds, labels=torch.tensor([[0, 1]])), r"one class index per video, shape \(2,\)"),
        (dict(text_embeds=text_embeds, return_loss=True), r"as many texts as videos; got 2 videos and 3 texts"),
        (dict(text_embeds=text_embeds, pixel_values=videos[:, :, :1]), r"1 channels per frame.*takes 3"),
        (dict(text_embeds=text_embeds, pixel_values=videos[:0]), r"holds no video"),
        (dict(text_embeds=text_embeds, pixel_values=videos[:, None].expand(-1, 6, -1, -1, -1, -1)),
         r"holds several views per video .* Fold the views into the batch \(pixel_values.flatten\(0, 1\)\)"),
        (dict(text_embeds=text_embeds, pixel_values=videos.to(torch.uint8)), r"torch.uint8.*normalize_deferred"),
        (dict(text_embeds=text_embeds, labels=torch.tensor([0.0, 1.0])), r"class indices.*torch.float32"),
        (dict(input_ids=input_ids.masked_fill(input_ids == input_ids[0, 1], vocab + 3), attention_mask=attention_mask),
         rf"token id {vocab + 3}, outside the text model's vocabulary of {vocab} ids"),
        (dict(input_ids=input_ids - 1, attention_mask=attention_mask), r"token id -1, outside"),
        (dict(input_ids=input_ids.float(), attention_mask=attention_mask), r"input_ids \(token ids\).*torch.float32"),
    ]
    for inputs, message in cases:
        with pytest.raises(ValueError, match=message):
            model(**{"pixel_values": videos, **inputs})
    with pytest.raises(ValueError, match=r"token id -1, outside"):  # the text model alone checks too
        model.text_model(input_ids=input_ids - 1)
    # the same inputs done right
    with torch.no_grad():
        out = model(pixel_values=videos, text_embeds=text_embeds, labels=torch.tensor([0, 2]))
        square = model(pixel_values=videos, text_embeds=text_embeds[:2], return_loss=True)
    assert out.loss.isfinite() and square.loss.isfinite()


@pytest.mark.parametrize("num_frames", [0, -2, 2.5, True])
def test_resize_num_frames_rejects_what_is_not_a_frame_count(num_frames):
    with pytest.raises(ValueError, match="positive integer"):
        make_model("p8-f4").resize_num_frames(num_frames)


@pytest.mark.parametrize("num_frames,size", [(6, 32), (4, 48), (2, 40)])
def test_interpolate_pos_encoding_accepts_other_frame_counts_and_sizes(num_frames, size):
    model = make_model("p8-f4")
    input_ids, attention_mask = make_labels()
    videos = make_videos(model.config, num_frames=num_frames, size=size)
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos,
                    interpolate_pos_encoding=True)
    assert out.logits_per_video.shape == (2, 3)
    assert torch.isfinite(out.logits_per_video).all()
    # at the trained geometry, interpolation is the identity
    videos = make_videos(model.config)
    with torch.no_grad():
        plain = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos)
        same = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos,
                     interpolate_pos_encoding=True)
    torch.testing.assert_close(same.logits_per_video, plain.logits_per_video)


def test_temporal_position_embedding_is_interpolated_linearly_and_used():
    """Frame t of T new frames reads the trained embedding at (t + 0.5) * T0 / T - 0.5, clamped to its ends."""
    model = make_model("p8-f4")  # 4 trained frames
    with torch.no_grad():
        model.mit.position_embedding.copy_(
            torch.arange(4.0)[None, :, None] * torch.linspace(0.5, 1.5, model.config.projection_dim))
    expected = {2: [0.5, 2.5], 3: [0.1667, 1.5, 2.8333], 8: [0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]}
    for num_frames, values in expected.items():
        interpolated = model.mit.temporal_position_embedding(num_frames)
        scales = torch.linspace(0.5, 1.5, model.config.projection_dim)
        torch.testing.assert_close(interpolated[0], torch.tensor(values)[:, None] * scales, atol=1e-4, rtol=0)
    # The forward pass at 8 frames uses exactly that embedding: an 8-frame model holding it gives the same videos.
    config = make_config("p8-f4")
    config.vision_config.num_frames = 8
    eight = XCLIPModel(config).eval()
    state = {k: v for k, v in model.state_dict().items() if k != "mit.position_embedding"}
    eight.load_state_dict({**state, "mit.position_embedding": model.mit.temporal_position_embedding(8).detach()})
    videos = make_videos(model.config, num_frames=8)
    with torch.no_grad():
        torch.testing.assert_close(model.get_video_features(videos, interpolate_pos_encoding=True).pooler_output,
                                   eight.get_video_features(videos).pooler_output)


def test_resize_num_frames_makes_interpolation_the_models_own_and_saves_it(tmp_path):
    model = make_model("p8-f4")
    videos = make_videos(model.config, num_frames=6)
    with torch.no_grad():
        interpolated = model.get_video_features(videos, interpolate_pos_encoding=True).pooler_output
        model.resize_num_frames(6)
        own = model.get_video_features(videos).pooler_output  # no longer a shape error: 6 is its count now
    torch.testing.assert_close(own, interpolated, rtol=0, atol=0)
    model.save_pretrained(tmp_path)
    loaded = XCLIPModel.from_pretrained(tmp_path).eval()
    assert loaded.config.vision_config.num_frames == 6 and loaded.mit.position_embedding.shape[1] == 6


def save_four_frames_and_ask_for_eight(folder) -> XCLIPConfig:
    """Saves a 4-frame model in `folder`; returns its config asking for 8 frames."""
    make_model("p8-f4").save_pretrained(folder)
    eight_frames = XCLIPConfig.from_pretrained(folder)
    eight_frames.vision_config.num_frames = 8
    return eight_frames


def wider_projection_config() -> XCLIPConfig:
    """The "p8-f4" config with projections 96 wide instead of 64."""
    other_width = make_config("p8-f4").to_dict()
    other_width["projection_dim"] = other_width["vision_config"]["mit_hidden_size"] = 96
    return XCLIPConfig.from_dict(other_width)


def test_loading_at_another_frame_count_names_both_counts_and_resize_num_frames(tmp_path, caplog):
    """transformers refused the temporal position embedding with a table, or with ignore_mismatched_sizes=True drew it
    at random without a word: the workaround users reached for."""
    eight_frames = save_four_frames_and_ask_for_eight(tmp_path)
    message = (rf"{tmp_path} was trained with 4 frames per video, but the config asks for 8 .* embedding \(1, 4, 64\) "
               r"does not fit\. Load it at its own count and call model\.resize_num_frames\(8\)")
    for model_class in (XCLIPModel, transformers.AutoModel):
        with pytest.raises(ValueError, match=message):
            model_class.from_pretrained(tmp_path, config=eight_frames)
    with caplog.at_level(logging.WARNING, logger="xclip"):
        model, info = XCLIPModel.from_pretrained(tmp_path, config=eight_frames, ignore_mismatched_sizes=True,
                                                 output_loading_info=True)
    assert model.mit.position_embedding.shape == (1, 8, 64) and info["mismatched_keys"]
    assert "was replaced by a random one for 8 frames" in caplog.text
    with pytest.raises(RuntimeError, match=r"weights of another shape than its config gives \(.*visual_projection"):
        XCLIPModel.from_pretrained(tmp_path, config=wider_projection_config())
    assert XCLIPModel.from_pretrained(tmp_path).config.vision_config.num_frames == 4  # as it was


def test_the_frame_count_error_comes_without_transformers_load_report(tmp_path):
    """transformers logged its table of mismatched weights before the error that says what to do: noise. Its report
    still shows where no error of this package's explains the load."""
    eight_frames = save_four_frames_and_ask_for_eight(tmp_path)
    report_logger = transformers.utils.logging.get_logger("transformers.modeling_utils")
    with CaptureLogger(report_logger) as captured, pytest.raises(ValueError, match=r"resize_num_frames\(8\)"):
        transformers.AutoModel.from_pretrained(tmp_path, config=eight_frames)
    assert "LOAD REPORT" not in captured.out
    with CaptureLogger(report_logger) as captured:
        XCLIPModel.from_pretrained(tmp_path, config=eight_frames, ignore_mismatched_sizes=True)
    assert "LOAD REPORT" in captured.out and "mit.position_embedding" in captured.out
    with CaptureLogger(report_logger) as captured, pytest.raises(RuntimeError, match="weights of another shape"):
        XCLIPModel.from_pretrained(tmp_path, config=wider_projection_config())
    assert "LOAD REPORT" in captured.out and "visual_projection" in captured.out
    model = XCLIPModel.from_pretrained(tmp_path)
    without_logit_scale = {key: weight for key, weight in model.state_dict().items() if key != "logit_scale"}
    model.save_pretrained(tmp_path, state_dict=without_logit_scale)
    with CaptureLogger(report_logger) as captured:
        XCLIPModel.from_pretrained(tmp_path)
    assert "LOAD REPORT" in captured.out and "logit_scale" in captured.out


@pytest.mark.parametrize("size", [(32, 32), (37, 45)])  # (37, 45): pixels beyond the last whole patch are ignored
def test_patch_embedding_as_matrix_product_equals_the_convolution(size):
    patch_embedding = make_model("p8-f4").vision_model.embeddings.patch_embedding.double()
    frames = torch.randn(3, 3, *size, dtype=torch.float64)
    expected = nn.functional.conv2d(frames, patch_embedding.weight, stride=8)
    assert patch_embedding(frames).shape == (3, 64, size[0] // 8, size[1] // 8)
    torch.testing.assert_close(patch_embedding(frames), expected, rtol=0, atol=1e-12)


def test_lora_adapter_on_the_patch_embedding_takes_effect():
    from peft import LoraConfig, get_peft_model

    model = make_model()
    videos = make_videos(model.config)
    text_embeds = torch.randn(3, model.config.projection_dim)
    with torch.no_grad():
        base = model(pixel_values=videos, text_embeds=text_embeds).logits_per_video
    adapted = get_peft_model(model, LoraConfig(r=4, target_modules=["patch_embedding"], init_lora_weights=False))
    with torch.no_grad():
        with_adapter = adapted(pixel_values=videos, text_embeds=text_embeds).logits_per_video
        merged = adapted.merge_and_unload()(pixel_values=videos, text_embeds=text_embeds).logits_per_video
    assert (with_adapter - base).abs().max() > 1e-3  # the matrix-product path must not bypass the adapter
    torch.testing.assert_close(merged, with_adapter, rtol=0, atol=1e-4)


def test_video_features_follow_transformers_conventions():
    model = make_model()
    videos = make_videos(model.config)
    with torch.no_grad():
        features = model.get_video_features(pixel_values=videos)
        full = model(pixel_values=videos, text_embeds=torch.randn(3, model.config.projection_dim))
    assert features.pooler_output.shape == (2, model.config.projection_dim)
    normalised = features.pooler_output / features.pooler_output.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(normalised, full.video_embeds)


def test_vision_model_takes_videos_or_folded_frames():
    config = make_config().vision_config
    torch.manual_seed(0)
    model = XCLIPVisionModel(config).eval()
    videos = torch.randn(2, config.num_frames, 3, config.image_size, config.image_size)
    with torch.no_grad():
        five_d = model(pixel_values=videos)
        four_d = model(pixel_values=videos.flatten(0, 1))
    torch.testing.assert_close(five_d.pooler_output, four_d.pooler_output)
    num_patches = (config.image_size // config.patch_size) ** 2
    assert five_d.last_hidden_state.shape[:2] == (2 * config.num_frames, num_patches + 1)
    with pytest.raises(ValueError, match="folded"):
        model(pixel_values=torch.randn(config.num_frames + 1, 3, config.image_size, config.image_size))


def test_hidden_states_and_attentions_can_be_recorded():
    model = make_model(attn="eager")
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos,
                    output_hidden_states=True, output_attentions=True)
    vision = out.vision_model_output
    layers = model.config.vision_config.num_hidden_layers
    assert len(vision.hidden_states) == layers + 1
    # frame attention sees every patch, the class token and the message token
    tokens = (model.config.vision_config.image_size // model.config.vision_config.patch_size) ** 2 + 2
    assert vision.attentions[0].shape[-2:] == (tokens, tokens)


def test_save_and_load_round_trip_in_safetensors(tmp_path):
    model = make_model("p16-f8")
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists() and (tmp_path / "config.json").exists()
    loaded = load_into(XCLIPModel, model, tmp_path, "sdpa")
    for (name, expected), (_, got) in zip(model.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(got, expected, rtol=0, atol=0, msg=name)
    auto = transformers.AutoModel.from_pretrained(tmp_path)
    assert type(auto) is XCLIPModel and type(auto.config) is XCLIPConfig


def test_config_json_is_shared_with_transformers():
    ours = make_config("p16-f8")
    theirs = transformers.XCLIPConfig.from_dict(ours.to_dict())
    assert theirs.vision_config.num_frames == 8 and theirs.vision_config.patch_size == 16
    back = XCLIPConfig.from_dict(theirs.to_dict())
    assert back.to_dict()["vision_config"] == ours.to_dict()["vision_config"]
    defaults_ours, defaults_theirs = XCLIPConfig().to_dict(), transformers.XCLIPConfig().to_dict()
    for key in ("text_config", "vision_config"):
        defaults_ours[key].pop("transformers_version", None), defaults_theirs[key].pop("transformers_version", None)
        assert {k: v for k, v in defaults_ours[key].items() if k != "model_type"} == {
            k: v for k, v in defaults_theirs[key].items() if k != "model_type"}
    fields = ("projection_dim", "prompt_layers", "prompt_alpha", "prompt_num_attention_heads", "logit_scale_init_value")
    for field in fields:
        assert defaults_ours[field] == defaults_theirs[field]


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: XCLIPConfig(projection_dim=256), r"mit_hidden_size.*\(512\).*projection_dim.*\(256\)"),
        (lambda: XCLIPConfig(prompt_num_attention_heads=7),
         r"projection_dim.*\(512\).*prompt_num_attention_heads.*\(7\)"),
        (lambda: XCLIPVisionConfig(hidden_size=100), r"hidden_size.*\(100\).*num_attention_heads.*\(12\)"),
        (lambda: XCLIPVisionConfig(mit_num_attention_heads=5),
         r"mit_hidden_size.*\(512\).*mit_num_attention_heads.*\(5\)"),
        (lambda: XCLIPVisionConfig(image_size=225), r"image_size.*\(225\).*patch_size.*\(32\)"),
        (lambda: XCLIPVisionConfig(num_frames=0), r"num_frames"),
        (lambda: XCLIPTextConfig(hidden_size=30, num_attention_heads=8),
         r"hidden_size.*\(30\).*num_attention_heads.*\(8\)"),
        (lambda: XCLIPConfig(vision_config={"hidden_size": 70}), r"hidden_size.*\(70\)"),
    ],
)
def test_inconsistent_geometry_fails_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_a_large_config_with_the_ports_default_heads_warns_how_to_run_the_originals(
    tmp_path, caplog, forget_warnings_given_once
):
    """transformers' conversion script leaves 8 MIT and prompt heads, right only for projection_dim 512: a large
    config (768) that keeps them loads its weights into another attention than the original's 12 heads."""
    large = {"projection_dim": 768, "vision_config": {"mit_hidden_size": 768, "mit_intermediate_size": 3072}}
    XCLIPConfig(**large).save_pretrained(tmp_path)
    forget_warnings_given_once()  # building the saved config warned
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xclip"):
        XCLIPConfig()  # base: 512 // 64 = 8 heads, the original's
        XCLIPConfig(**large, prompt_num_attention_heads=12)  # set by hand: the user's choice
        assert not caplog.records
        config = XCLIPConfig.from_pretrained(tmp_path)
    assert len(caplog.records) == 1
    assert "the original X-CLIP uses projection_dim // 64 = 12 in both" in caplog.text
    assert "config.vision_config.mit_num_attention_heads = config.prompt_num_attention_heads = 12" in caplog.text
    config.vision_config.mit_num_attention_heads = config.prompt_num_attention_heads = 12  # the advice works
    model = XCLIPModel(config)
    assert model.mit.encoder.layers[0].self_attn.num_heads == model.prompts_generator.decoder[0].cross_attn.num_heads
    assert model.prompts_generator.decoder[0].cross_attn.num_heads == 12


@pytest.mark.parametrize("config_class", [XCLIPConfig, transformers.AutoConfig])
def test_a_config_json_value_of_the_wrong_type_is_a_value_error(config_class, tmp_path):
    config = make_config("p8-f4").to_dict()
    config["vision_config"]["num_frames"] = "four"
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"malformed XCLIPConfig \(config.json\): .*num_frames.* expected int"):
        config_class.from_pretrained(tmp_path)


def test_original_initialisation_of_xclip_parts():
    torch.manual_seed(0)
    model = XCLIPModel(XCLIPConfig())  # full-size B/32 geometry: the statistics need real widths
    alpha = model.prompts_generator.alpha
    assert torch.all(alpha == 0.1)
    assert model.logit_scale.item() == pytest.approx(2.6592)
    assert model.prompts_visual_projection.std().item() == pytest.approx(1.0, abs=0.02)
    # MIT and prompt generator: truncated normal 0.02 weights, zero biases
    fc1 = model.mit.encoder.layers[0].mlp.fc1
    assert fc1.weight.std().item() == pytest.approx(0.02, abs=0.002)
    assert torch.all(fc1.bias == 0)
    cross = model.prompts_generator.decoder[0].cross_attn
    assert cross.q_proj.weight.std().item() == pytest.approx(0.02, abs=0.002) and torch.all(cross.proj.bias == 0)
    # packed-attention Xavier bound over the [3d, d] matrix, as nn.MultiheadAttention
    d = model.config.vision_config.hidden_size
    message_q = model.vision_model.encoder.layers[0].message_attn.q_proj
    bound = (6 / (4 * d)) ** 0.5
    assert message_q.weight.abs().max() <= bound and message_q.weight.abs().max() > 0.9 * bound
    assert torch.all(message_q.bias == 0)


def test_registered_with_auto_classes():
    assert transformers.AutoConfig.for_model("xclip").__class__ is XCLIPConfig
    assert xclip.XCLIPModel is XCLIPModel


def test_lora_adapters_on_frame_attention_take_effect():
    from peft import LoraConfig, get_peft_model

    model = make_model()
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()
    with torch.no_grad():
        base = model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).logits_per_video
    adapted = get_peft_model(model, LoraConfig(r=4, target_modules=r".*vision_model.*\.(q_proj|k_proj|v_proj)",
                                               init_lora_weights=False))
    with torch.no_grad():
        with_adapters = adapted(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos)
        with_adapters = with_adapters.logits_per_video
        merged = adapted.merge_and_unload()
        after_merge = merged(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).logits_per_video
    assert (with_adapters - base).abs().max() > 1e-3  # the fused q/k/v product must not bypass the adapters
    torch.testing.assert_close(after_merge, with_adapters, rtol=0, atol=1e-4)


def test_deep_copy_is_independent_and_equal():
    import copy

    model = make_model()
    clone = copy.deepcopy(model)
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()
    with torch.no_grad():
        torch.testing.assert_close(
            clone(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).logits_per_video,
            model(input_ids=input_ids, attention_mask=attention_mask, pixel_values=videos).logits_per_video,
        )
        clone.mit.position_embedding.add_(1.0)
    assert not torch.equal(clone.mit.position_embedding, model.mit.position_embedding)


def test_text_inputs_of_disagreeing_shapes_are_clear_errors():
    model = make_model("p8-f4")
    videos, (input_ids, attention_mask) = make_videos(model.config), make_labels()  # 3 texts of 8 tokens
    text_embeds = torch.randn(3, model.config.projection_dim)
    positions = torch.arange(8)
    max_positions = model.config.text_config.max_position_embeddings
    cases = [
        (dict(attention_mask=attention_mask[:, :-1]),
         r"attention_mask must have the shape of input_ids, \(3, 8\).*\(3, 7\)"),
        (dict(attention_mask=attention_mask[:2]), r"attention_mask must have the shape of input_ids.*got \(2, 8\)"),
        (dict(attention_mask=attention_mask[None]), r"attention_mask must have the shape of input_ids.*\(1, 3, 8\)"),
        (dict(input_ids=input_ids[:, :0], attention_mask=None), r"input_ids holds no tokens \(shape \(3, 0\)\)"),
        (dict(input_ids=input_ids[:0], attention_mask=None), r"input_ids holds no texts \(shape \(0, 8\)\)"),
        (dict(position_ids=positions[None, :-1]), r"position_ids must be \(1, 8\) or \(3, 8\).*got \(1, 7\)"),
        (dict(position_ids=positions.expand(2, 8)), r"position_ids must be \(1, 8\) or \(3, 8\).*got \(2, 8\)"),
        (dict(position_ids=positions[None, None]), r"position_ids must be.*got \(1, 1, 8\)"),
        (dict(position_ids=positions[None] + max_positions - 7),
         rf"position_ids hold position {max_positions}, outside the text model's {max_positions} positions"),
        (dict(position_ids=positions[None] - 1), r"position_ids hold position -1"),
    ]
    for inputs, message in cases:
        text_inputs = {"input_ids": input_ids, "attention_mask": attention_mask, **inputs}
        with pytest.raises(ValueError, match=message):
            model(pixel_values=videos, **text_inputs)
        with pytest.raises(ValueError, match=message):  # get_text_features and the text model alone check too
            model.get_text_features(**text_inputs)
        with pytest.raises(ValueError, match=message):
            model.text_model(**text_inputs)
    with pytest.raises(ValueError, match=r"text_embeds holds no texts"):
        model(pixel_values=videos, text_embeds=text_embeds[:0])
    # position_ids shared by the texts, given per text, or left out are the same input
    with torch.no_grad():
        expected = model(pixel_values=videos, input_ids=input_ids, attention_mask=attention_mask).logits_per_video
        for given in (positions, positions[None], positions.expand(3, 8)):
            got = model(pixel_values=videos, input_ids=input_ids, attention_mask=attention_mask, position_ids=given)
            torch.testing.assert_close(got.logits_per_video, expected, rtol=0, atol=0)


def test_frames_without_a_whole_patch_are_refused_with_and_without_interpolation():
    model = make_model("p8-f4")  # 8 px patches
    text_embeds = torch.randn(3, model.config.projection_dim)
    no_frames = r"holds no frames \(shape \(2, 0, 3, 32, 32\)\)"
    trained_size = r"frames, but this model was trained on 32x32"  # without interpolation, the size to resize to
    cases = [  # videos, message without interpolation, message with it
        (make_videos(model.config)[:, :0], no_frames, no_frames),
        (make_videos(model.config, size=4), trained_size, r"4x4 frames, smaller than one 8x8 patch.*patch_size"),
        (make_videos(model.config)[..., :7, :], trained_size, r"7x32 frames, smaller than one 8x8 patch"),
    ]
    for videos, *messages in cases:
        for interpolate, message in zip((False, True), messages):
            with pytest.raises(ValueError, match=message):
                model(pixel_values=videos, text_embeds=text_embeds, interpolate_pos_encoding=interpolate)
    with torch.no_grad():  # one whole patch is enough
        out = model(pixel_values=make_videos(model.config, size=8), text_embeds=text_embeds,
                    interpolate_pos_encoding=True)
    assert out.logits_per_video.shape == (2, 3)


def test_vision_model_checks_its_input_as_xclip_does():
    config = make_config("p8-f4").vision_config
    torch.manual_seed(0)
    model = XCLIPVisionModel(config).eval()
    videos = torch.randn(2, config.num_frames, 3, config.image_size, config.image_size)
    cases = [
        (videos.to(torch.uint8), False, r"torch.uint8, but the model takes normalised float.*normalize_deferred"),
        (videos.flatten(0, 1).to(torch.uint8), False, r"torch.uint8.*normalize_deferred"),
        (videos[:, :0], True, r"holds no frames"),
        (videos[:0], False, r"holds no video"),
        (videos[:0].flatten(0, 1), False, r"holds no video"),
        (videos[:, :, :1], False, r"1 channels per frame.*takes 3 \(config.num_channels\)"),
        (videos[..., :24, :24], False, r"24x24 frames, but this model was trained on 32x32 \(config.image_size\)"),
        (videos[..., :4, :16], True, r"4x16 frames, smaller than one 8x8 patch \(config.patch_size\)"),
    ]
    for pixel_values, interpolate, message in cases:
        with pytest.raises(ValueError, match=message):
            model(pixel_values=pixel_values, interpolate_pos_encoding=interpolate)
    with torch.no_grad():  # the frame encoder alone is not tied to the trained frame count
        assert model(pixel_values=videos[:, :3]).pooler_output.shape == (6, config.hidden_size)
    for not_a_tensor in (videos.numpy(), videos.tolist()):  # as XCLIPModel refuses them
        with pytest.raises(TypeError, match=r"pixel_values must be a torch.Tensor, got (ndarray|list)"):
            model(pixel_values=not_a_tensor)
        with pytest.raises(TypeError, match=r"pixel_values must be a torch.Tensor"):
            make_model("p8-f4")(pixel_values=not_a_tensor, text_embeds=torch.randn(3, 64))


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: XCLIPTextConfig(attention_dropout=-0.1),
         r"XCLIPTextConfig: `attention_dropout` .* \[0, 1\], got -0.1"),
        (lambda: XCLIPTextConfig(attention_dropout=1.5), r"`attention_dropout` must be a probability in \[0, 1\]"),
        (lambda: XCLIPVisionConfig(attention_dropout=float("nan")), r"XCLIPVisionConfig: `attention_dropout`"),
        (lambda: XCLIPVisionConfig(drop_path_rate=1.5), r"`drop_path_rate` must be a probability in \[0, 1\), got 1.5"),
        (lambda: XCLIPVisionConfig(drop_path_rate=-0.5), r"`drop_path_rate` .* got -0.5"),
        (lambda: XCLIPVisionConfig(drop_path_rate=1), r"`drop_path_rate` .* \[0, 1\), got 1"),  # keep_prob 0
        (lambda: XCLIPConfig(prompt_attention_dropout=1.5), r"XCLIPConfig: `prompt_attention_dropout` .* got 1.5"),
        (lambda: XCLIPConfig(prompt_projection_dropout=-0.1), r"XCLIPConfig: `prompt_projection_dropout`"),
        (lambda: XCLIPConfig(vision_config={"drop_path_rate": 2.0}), r"XCLIPVisionConfig: `drop_path_rate`"),
        (lambda: XCLIPTextConfig(hidden_act="gelu2"),
         r"XCLIPTextConfig: `hidden_act` is 'gelu2', which transformers' ACT2FN does not know; use one of 'quick"),
        (lambda: XCLIPVisionConfig(hidden_act="QuickGELU"), r"XCLIPVisionConfig: `hidden_act` is 'QuickGELU'"),
        (lambda: XCLIPConfig(prompt_hidden_act="swiglu"), r"XCLIPConfig: `prompt_hidden_act` is 'swiglu'"),
    ],
)
def test_out_of_range_dropout_and_unknown_activations_fail_at_construction(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_dropout_and_activation_bounds_stay_accepted():
    config = XCLIPConfig(prompt_attention_dropout=1.0, prompt_projection_dropout=0, prompt_hidden_act="gelu",
                         text_config={"attention_dropout": 1.0, "hidden_act": "relu"},
                         vision_config={"attention_dropout": 0.0, "drop_path_rate": 0.99, "hidden_act": "silu"})
    assert config.vision_config.drop_path_rate == 0.99 and config.text_config.hidden_act == "relu"


def test_token_and_position_checks_read_no_values_off_the_host():
    """Ids on an accelerator would cost a host sync per text encoding (every step when the text tower trains); a
    meta tensor, which has no values, stands in for them."""
    from xclip.modeling.modeling_xclip import check_position_ids, check_token_ids

    far_out = torch.full((2, 3), 10**6, device="meta")
    check_token_ids(far_out, vocab_size=10)
    check_position_ids(far_out, max_positions=77)
    with pytest.raises(ValueError, match="token id 1000000"):
        check_token_ids(torch.full((2, 3), 10**6), vocab_size=10)  # on the host they are read
