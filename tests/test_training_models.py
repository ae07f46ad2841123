"""Which model a run starts from (`--pretrained`): random, a transformers CLIP folder, or an X-CLIP folder."""

import json
import logging

import pytest
import torch
from transformers import CLIPConfig, CLIPModel

from xclip import XCLIPModel
from xclip.model_source import ModelFolderError
from xclip.training import build_model, load_config
from xclip.training.model_setup import ARCHITECTURES, random_model_config


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2},
        vision_config={"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8},
        projection_dim=32,
    )
    folder = tmp_path_factory.mktemp("clip")
    CLIPModel(config).save_pretrained(folder)
    return folder


def experiment(**keys):
    opts = ["DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4", "MODEL.ARCH", "tiny"]
    for key, value in keys.items():
        opts += [key.replace("__", "."), str(value)]
    return load_config(opts=opts)


@pytest.mark.parametrize("arch", ["ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"])
def test_random_geometry_of_each_architecture(arch):
    size = 336 if arch.endswith("336px") else 224
    config = random_model_config(load_config(opts=["MODEL.ARCH", arch, "DATA.INPUT_SIZE", str(size)]))
    expected = ARCHITECTURES[arch]
    vision = config.vision_config
    assert (vision.hidden_size, vision.num_hidden_layers, vision.patch_size, vision.image_size) == (
        expected.vision_width, expected.vision_layers, expected.patch_size, size)
    assert (config.projection_dim, vision.mit_num_hidden_layers, config.prompt_layers) == (expected.embed_dim, 1, 2)
    with pytest.raises(ValueError, match=f"{arch} takes {size}x{size} frames, but DATA.INPUT_SIZE is 160"):
        random_model_config(load_config(opts=["MODEL.ARCH", arch, "DATA.INPUT_SIZE", "160"]))
    with pytest.raises(ValueError, match="MODEL.ARCH 'ViT-H/14' is unknown"):
        random_model_config(load_config(opts=["MODEL.ARCH", "ViT-H/14"]))


def test_a_real_architecture_without_pretrained_weights_warns_how_to_start_from_clip(monkeypatch, caplog):
    """The original starts from CLIP; a forgotten --pretrained trained from random weights with an INFO line only."""
    monkeypatch.setattr("xclip.training.model_setup.XCLIPModel", lambda config: config)  # the config is enough
    with caplog.at_level(logging.INFO, logger="xclip"):
        build_model(load_config(opts=["MODEL.ARCH", "ViT-B/16"]))
        build_model(experiment())
    real, toy = caplog.records
    assert real.levelno == logging.WARNING and toy.levelno == logging.INFO
    assert real.getMessage().endswith("starts from CLIP's weights: --pretrained openai/clip-vit-base-patch16")


def test_from_a_transformers_clip_folder(clip_folder):
    model = build_model(experiment(MODEL__PRETRAINED=clip_folder, MODEL__DROP_PATH_RATE=0.1))
    clip = CLIPModel.from_pretrained(clip_folder)
    assert model.config.vision_config.num_frames == 4
    assert model.config.vision_config.drop_path_rate == 0.1
    torch.testing.assert_close(model.text_model.embeddings.token_embedding.weight,
                               clip.text_model.embeddings.token_embedding.weight)
    torch.testing.assert_close(model.visual_projection.weight, clip.visual_projection.weight)
    with pytest.raises(ValueError, match="takes 32x32 frames but DATA.INPUT_SIZE is 64"):
        build_model(experiment(MODEL__PRETRAINED=clip_folder, DATA__INPUT_SIZE=64))


def test_from_an_xclip_folder(tmp_path):
    torch.manual_seed(0)
    trained = build_model(experiment())
    trained.save_pretrained(tmp_path)
    loaded = build_model(experiment(MODEL__PRETRAINED=tmp_path))
    assert isinstance(loaded, XCLIPModel)
    torch.testing.assert_close(loaded.mit.position_embedding, trained.mit.position_embedding)
    message = "was trained with 4 frames, but DATA.NUM_FRAMES is 8.*--opts MODEL.RESIZE_FRAMES True"
    with pytest.raises(ValueError, match=message):
        build_model(experiment(MODEL__PRETRAINED=tmp_path, DATA__NUM_FRAMES=8))


def drop_path_rates(model):
    return [getattr(layer.drop_path, "drop_prob", 0.0) for layer in model.vision_model.encoder.layers]


def test_drop_path_rate_reaches_a_model_loaded_from_an_xclip_folder(clip_folder, tmp_path):
    build_model(experiment()).save_pretrained(tmp_path / "trained")
    loaded = build_model(experiment(MODEL__PRETRAINED=tmp_path / "trained", MODEL__DROP_PATH_RATE=0.2))
    from_clip = build_model(experiment(MODEL__PRETRAINED=clip_folder, MODEL__DROP_PATH_RATE=0.2))
    assert drop_path_rates(loaded) == drop_path_rates(from_clip) == [0.0, 0.2]
    loaded.save_pretrained(tmp_path / "fine_tuned")
    assert XCLIPModel.from_pretrained(tmp_path / "fine_tuned").config.vision_config.drop_path_rate == 0.2


def test_resize_frames_builds_the_model_that_interpolate_pos_encoding_runs(tmp_path, caplog):
    torch.manual_seed(0)
    source = build_model(experiment()).eval()
    # Far from the initial std of 0.02, so that the video embeddings depend visibly on how it is interpolated.
    torch.nn.init.normal_(source.mit.position_embedding)
    source.save_pretrained(tmp_path)
    with caplog.at_level(logging.INFO, logger="xclip.training.model_setup"):
        resized = build_model(experiment(MODEL__PRETRAINED=tmp_path, DATA__NUM_FRAMES=8, MODEL__RESIZE_FRAMES=True))
    assert "was trained with 4 frames; its temporal position embedding is interpolated to 8 frames" in caplog.text
    assert resized.config.vision_config.num_frames == 8
    interpolated = source.mit.temporal_position_embedding(8)  # what interpolate_pos_encoding=True adds for 8 frames
    torch.testing.assert_close(resized.mit.position_embedding, interpolated, rtol=0, atol=0)

    source_weights, resized_weights = source.state_dict(), resized.state_dict()
    assert source_weights.keys() == resized_weights.keys()
    for name in source_weights.keys() - {"mit.position_embedding"}:
        torch.testing.assert_close(resized_weights[name], source_weights[name], rtol=0, atol=0, msg=name)

    videos = torch.randn(2, 8, 3, 32, 32)
    with torch.no_grad():
        expected = source.get_video_features(videos, interpolate_pos_encoding=True).pooler_output
        actual = resized.eval().get_video_features(videos).pooler_output  # 8 frames is now its own count
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


def test_an_xclip_folder_whose_weights_do_not_match_its_config_names_the_first_mismatch(tmp_path):
    build_model(experiment()).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    config["vision_config"]["hidden_size"] *= 2  # 32 -> 64: config.json edited, or copied from another model
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFolderError, match=rf"MODEL.PRETRAINED {tmp_path}: its weights do not match its "
                                                     r"config.json: prompts_visual_projection has shape \[32, 32\] in "
                                                     r"model.safetensors but \[64, 32\] by config.json"):
        build_model(experiment(MODEL__PRETRAINED=tmp_path))
