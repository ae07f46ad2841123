"""XCLIPProcessor: routing of texts and videos, defaults, offline save/load, and its output feeding XCLIPModel."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from transformers import AutoProcessor

from xclip.modeling import XCLIPConfig, XCLIPModel
from xclip.processing import XCLIPProcessor, XCLIPTokenizer, XCLIPVideoProcessor, build_processor

LABELS = ["playing guitar", "riding a bike", "ApplyEyeMakeup"]


@pytest.fixture(scope="module")
def processor() -> XCLIPProcessor:
    return build_processor(image_size=32, num_frames=4)


def video(num_frames=10, height=40, width=56, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)


def test_texts_and_videos_in_one_call(processor):
    inputs = processor(text=LABELS, videos=[video(seed=1), video(seed=2)])
    expected_text = processor.tokenizer(LABELS, padding=True, return_tensors="pt")
    assert set(inputs) == {"input_ids", "attention_mask", "pixel_values"}
    assert torch.equal(inputs["input_ids"], expected_text.input_ids)
    assert torch.equal(inputs["attention_mask"], expected_text.attention_mask)
    # Padded to the longest label, not to the 77-token context.
    assert inputs["input_ids"].shape == (3, max(len(processor.tokenizer(label).input_ids) for label in LABELS))
    assert inputs["pixel_values"].shape == (2, 4, 3, 32, 32)
    torch.testing.assert_close(inputs["pixel_values"][1], processor.video_processor(video(seed=2)).pixel_values[0])


def test_text_only_and_video_only(processor):
    assert set(processor(text="a photo of a cat")) == {"input_ids", "attention_mask"}
    assert set(processor(videos=video())) == {"pixel_values"}
    with pytest.raises(ValueError, match="needs `text`, `videos` or both"):
        processor()


def test_keyword_arguments_reach_the_right_component(processor):
    inputs = processor(text=LABELS, videos=video(), padding="max_length", num_frames=2, num_clips=2)
    assert inputs["input_ids"].shape == (3, 77)
    assert inputs["pixel_values"].shape == (1, 2, 2, 3, 32, 32)
    nested = processor(
        text=LABELS, text_kwargs={"padding": "max_length"}, videos=video(), videos_kwargs={"num_crops": 3}
    )
    assert nested["input_ids"].shape == (3, 77) and nested["pixel_values"].shape == (1, 3, 4, 3, 32, 32)
    assert processor(text=LABELS, return_tensors="np")["input_ids"].dtype == np.int64


def test_an_empty_list_of_texts_is_a_clear_error(processor):
    with pytest.raises(ValueError, match="empty list of texts"):
        processor(text=[])


def test_a_text_that_is_no_string_is_named(processor):
    with pytest.raises(TypeError, match="takes texts as strings; text 1 is NoneType None"):
        processor(text=["run", None])


def test_long_texts_are_truncated_to_the_context(processor):
    ids = processor(text=["word " * 200, "short"])["input_ids"]
    assert ids.shape == (2, 77) and ids[0, -1] == processor.tokenizer.eos_token_id


def test_unknown_keyword_is_an_error(processor):
    # transformers' documentation once passed an image as `images=`: the message says where frames go first.
    for name in ("images", "video"):
        with pytest.raises(TypeError, match=rf"\['{name}'\]\. Videos go in `videos=` \(not {name}\); a single image"):
            processor(**{name: video()})
    with pytest.raises(TypeError, match=r"\['colour'\]\. Tokenizer arguments"):
        processor(videos=video(), colour=1)


def test_transformers_own_processor_loads_a_saved_folder_with_the_same_recipe(processor, tmp_path):
    """It looked for an image processor the folder did not have: its preprocessor_config.json now carries the test
    recipe, read in a process that never imports xclip."""
    processor.save_pretrained(tmp_path)
    script = (
        "import json, sys, transformers\n"
        f"loaded = transformers.AutoProcessor.from_pretrained({str(tmp_path)!r})\n"
        "assert 'xclip' not in sys.modules and type(loaded) is transformers.XCLIPProcessor\n"
        "image_processor = loaded.image_processor\n"
        "print(json.dumps([image_processor.size.shortest_edge, image_processor.crop_size.height,\n"
        "                  list(image_processor.image_mean), int(image_processor.resample)]))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    video_processor = processor.video_processor
    assert json.loads(result.stdout.splitlines()[-1]) == [
        video_processor.size.shortest_edge, video_processor.crop_size.height, list(video_processor.image_mean), 2,
    ]


def test_the_file_for_transformers_alone_reads_as_the_test_recipe_here(processor, tmp_path):
    """Named as an image processor, it made AutoVideoProcessor pick VideoMAE's video processor for a folder holding no
    processor_config.json (a pipeline's own save_pretrained writes such a folder)."""
    from transformers import AutoVideoProcessor

    processor.save_pretrained(tmp_path)
    (tmp_path / "processor_config.json").unlink()
    model_config = XCLIPConfig(vision_config={"num_frames": 4})
    model_config.save_pretrained(tmp_path)
    expected = XCLIPVideoProcessor.for_model(model_config)
    auto, processor_part = AutoVideoProcessor.from_pretrained(tmp_path), XCLIPProcessor.from_pretrained(tmp_path)
    for loaded in (auto, processor_part.video_processor):
        assert type(loaded) is XCLIPVideoProcessor
        assert (loaded.size, loaded.crop_size, loaded.num_frames) == (expected.size, expected.crop_size, 4)


def test_save_and_load_round_trip_offline(processor, tmp_path):
    processor.save_pretrained(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "preprocessor_config.json",  # for transformers' own XCLIPProcessor
        "processor_config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    config = json.loads((tmp_path / "processor_config.json").read_text())
    assert config["processor_class"] == "XCLIPProcessor"
    assert config["video_processor"]["num_frames"] == 4
    expected = processor(text=LABELS + ["&amp; Ã©"], videos=video())
    for loaded in (XCLIPProcessor.from_pretrained(tmp_path), AutoProcessor.from_pretrained(tmp_path)):
        assert type(loaded) is XCLIPProcessor
        assert type(loaded.tokenizer) is XCLIPTokenizer and type(loaded.video_processor) is XCLIPVideoProcessor
        actual = loaded(text=LABELS + ["&amp; Ã©"], videos=video())
        assert torch.equal(actual["input_ids"], expected["input_ids"])
        torch.testing.assert_close(actual["pixel_values"], expected["pixel_values"])


def test_build_processor_geometry():
    processor = build_processor(image_size=336, num_frames=16)
    assert processor.video_processor.num_frames == 16
    assert processor.video_processor.size.shortest_edge == 384
    assert processor.video_processor.crop_size.height == 336
    assert processor.model_input_names == ["input_ids", "attention_mask", "pixel_values"]


def test_outputs_feed_the_model(processor):
    config = XCLIPConfig(
        projection_dim=32,
        prompt_num_attention_heads=2,
        text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=1,
                           image_size=32, patch_size=16, num_frames=4, mit_hidden_size=32, mit_intermediate_size=64,
                           mit_num_attention_heads=2),
    )
    model = XCLIPModel(config).eval()
    inputs = processor(text=LABELS, videos=[video(seed=3), video(seed=4)])
    with torch.no_grad():
        logits = model(**inputs).logits_per_video
    assert logits.shape == (2, len(LABELS)) and torch.isfinite(logits).all()


@pytest.mark.parametrize("text", [5, b"run", {"run": 1}], ids=["int", "bytes", "dict"])
def test_a_text_that_is_no_string_or_list_is_named(processor, text):
    expected = rf"takes texts as strings \(one, or a list of them\); got {type(text).__name__} "
    with pytest.raises(TypeError, match=expected):
        processor(text=text)


def test_num_frames_true_is_refused_at_construction_and_call_time(processor):
    with pytest.raises(ValueError, match="`num_frames` must be a positive integer, got True"):
        build_processor(image_size=32, num_frames=True)
    with pytest.raises(ValueError, match="`num_frames` must be a positive integer, got True"):
        processor(videos=video(), num_frames=True)


def test_integer_frames_other_than_uint8_are_refused(processor):
    with pytest.raises(TypeError, match=r"has dtype uint16.*\(frames // 257\)\.astype\(np\.uint8\)"):
        processor(text=LABELS, videos=video().astype(np.uint16) * 257)
    with pytest.raises(TypeError, match="video 1 of the batch .* has dtype int64"):
        processor(videos=[video(), torch.from_numpy(video()).long()])


def test_return_tensors_none_gives_lists_for_texts_and_a_tensor_for_videos(processor):
    """As documented: transformers' processors return texts as lists then, and keep pixel values as torch tensors."""
    inputs = processor(text=LABELS, videos=video(), return_tensors=None)
    expected = processor(text=LABELS, videos=video())
    assert inputs["input_ids"] == expected["input_ids"].tolist()
    assert inputs["attention_mask"] == expected["attention_mask"].tolist()
    assert isinstance(inputs["pixel_values"], torch.Tensor)
    assert torch.equal(inputs["pixel_values"], expected["pixel_values"])
    as_numpy = processor(text=LABELS, videos=video(), return_tensors="np")
    assert isinstance(as_numpy["input_ids"], np.ndarray) and isinstance(as_numpy["pixel_values"], np.ndarray)
