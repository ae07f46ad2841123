"""Converting the original-format fixture: parity with the original model, and the Hub-ready folder it becomes."""

import dataclasses
import json
import logging
import sys
from pathlib import Path

import pytest
import torch
import transformers
from huggingface_hub import ModelCard

from xclip import XCLIPModel
from xclip.conversion import (
    MODEL_ZOO,
    ConversionError,
    XCLIPGeometry,
    convert_original_checkpoint,
    load_original_state_dict,
    measure_geometry,
    xclip_from_original,
)
from xclip.conversion.model_card import write_model_card
from xclip.processing import XCLIPProcessor
from script_loader import load_script

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURE = SHARED / "fixtures" / "original_tiny.pth"
FIXTURE_IO = SHARED / "fixtures" / "original_tiny.io.pt"
FIXTURE_GEOMETRY = SHARED / "fixtures" / "original_tiny.json"

pytestmark = pytest.mark.skipif(
    not FIXTURE.exists(), reason=f"needs the original-format fixture {FIXTURE} (the shared folder next to the repo)"
)
TOLERANCE = 1e-4  # the fixture's stated tolerance for a faithful port in float32

B32_GEOMETRY = XCLIPGeometry(
    image_size=224, patch_size=32, vision_width=768, vision_layers=12, vision_heads=12, vision_intermediate_size=3072,
    text_width=512, text_layers=12, text_heads=8, text_intermediate_size=2048, vocab_size=49408, context_length=77,
    embed_dim=512, num_frames=8, mit_layers=1, mit_heads=8, mit_intermediate_size=2048, prompt_layers=2, prompt_heads=8,
)


def load_cli():
    return load_script("convert_original_checkpoint")


@pytest.fixture(scope="module")
def reference():
    return torch.load(FIXTURE_IO, weights_only=True)


@pytest.fixture(scope="module")
def converted_folder(tmp_path_factory):
    return convert_original_checkpoint(FIXTURE, tmp_path_factory.mktemp("converted") / "xclip-tiny")


def logits_of(model, reference) -> torch.Tensor:
    with torch.no_grad():
        return model(pixel_values=reference["video"], input_ids=reference["input_ids"]).logits_per_video


def test_reproduces_the_original_model_outputs(reference):
    model = xclip_from_original(FIXTURE)

    with torch.no_grad():
        video_embeds = model.get_video_features(pixel_values=reference["video"]).pooler_output
        text_embeds = model.get_text_features(input_ids=reference["input_ids"]).pooler_output
    torch.testing.assert_close(video_embeds, reference["video_embeds_before_prompt"], atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(text_embeds, reference["text_embeds_before_prompt"], atol=TOLERANCE, rtol=0)
    torch.testing.assert_close(logits_of(model, reference), reference["logits_per_video"], atol=TOLERANCE, rtol=0)


def test_detects_the_fixture_geometry():
    described = json.loads(FIXTURE_GEOMETRY.read_text())["geometry"]
    geometry = measure_geometry(load_original_state_dict(FIXTURE))
    assert {name: getattr(geometry, name) for name in described if name != "module_prefix"} == {
        name: value for name, value in described.items() if name != "module_prefix"
    }


def test_reads_prefixed_half_precision_bare_state_dicts(tmp_path, reference):
    original = load_original_state_dict(FIXTURE)
    variant = tmp_path / "prefixed_fp16.pth"
    torch.save({f"module.{name}": tensor.half() for name, tensor in original.items()}, variant)

    loaded = load_original_state_dict(variant)

    assert loaded.keys() == original.keys()
    assert all(tensor.dtype == torch.float32 for tensor in loaded.values())
    torch.testing.assert_close(loaded["visual.proj"], original["visual.proj"].half().float(), atol=0, rtol=0)
    # Half-precision rounding of random weights moves the logits a little, not the ranking scale.
    torch.testing.assert_close(
        logits_of(xclip_from_original(variant), reference), reference["logits_per_video"], atol=0.05, rtol=0
    )


def test_ignores_training_state_entries(tmp_path):
    checkpoint = tmp_path / "with_training_state.pth"
    weights = load_original_state_dict(FIXTURE)
    torch.save(
        {
            "model": weights,
            "optimizer": {"state": {0: {"exp_avg": torch.zeros(3)}}, "param_groups": [{"lr": 8e-6}]},
            "lr_scheduler": {"last_epoch": 3},
            "max_accuracy": 80.4,
            "epoch": 29,
        },
        checkpoint,
    )
    assert load_original_state_dict(checkpoint).keys() == weights.keys()


def test_pickled_config_needs_trust_pickle(tmp_path):
    import argparse  # stands in for the original's pickled yacs config: a class outside weights_only's allowlist

    checkpoint = tmp_path / "with_config.pth"
    torch.save({"model": load_original_state_dict(FIXTURE), "config": argparse.Namespace(lr=8e-6)}, checkpoint)

    with pytest.raises(ConversionError, match=r"with_config\.pth: .*trust_pickle=True \(--trust-pickle\)") as error:
        load_original_state_dict(checkpoint)
    assert "\n" not in str(error.value)
    assert "visual.proj" in load_original_state_dict(checkpoint, trust_pickle=True)


def test_pickled_config_from_a_missing_module_names_it(tmp_path, monkeypatch):
    module_dir = tmp_path / "modules"
    module_dir.mkdir()
    (module_dir / "yacs_stand_in.py").write_text("class CfgNode(dict):\n    pass\n")
    monkeypatch.syspath_prepend(str(module_dir))
    import yacs_stand_in

    checkpoint = tmp_path / "with_yacs.pth"
    torch.save({"model": load_original_state_dict(FIXTURE), "config": yacs_stand_in.CfgNode(a=1)}, checkpoint)
    # Now make the module unimportable, as yacs is on a machine without it.
    monkeypatch.delitem(sys.modules, "yacs_stand_in")
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry != str(module_dir)])

    with pytest.raises(ConversionError, match="needs the Python module 'yacs_stand_in'"):
        load_original_state_dict(checkpoint, trust_pickle=True)


def test_written_folder_loads_offline_in_xclip_and_transformers(converted_folder, reference):
    names = {path.name for path in converted_folder.iterdir()}
    assert {"config.json", "model.safetensors", "README.md", "processor_config.json", "tokenizer.json"} <= names

    ours, our_info = XCLIPModel.from_pretrained(converted_folder, output_loading_info=True)
    theirs, their_info = transformers.XCLIPModel.from_pretrained(converted_folder, output_loading_info=True)
    for info in (our_info, their_info):
        assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    assert type(theirs).__module__.startswith("transformers.")
    for model in (ours.eval(), theirs.eval()):
        torch.testing.assert_close(logits_of(model, reference), reference["logits_per_video"], atol=TOLERANCE, rtol=0)


def test_written_processor_matches_the_original_preprocessing(converted_folder):
    processor = XCLIPProcessor.from_pretrained(converted_folder)
    video_processor = processor.video_processor
    assert video_processor.num_frames == 4
    assert (video_processor.crop_size.height, video_processor.crop_size.width) == (32, 32)
    assert video_processor.size.shortest_edge == int(256 / 224 * 32)
    assert tuple(video_processor.image_mean) == pytest.approx((0.485, 0.456, 0.406))
    assert tuple(video_processor.image_std) == pytest.approx((0.229, 0.224, 0.225))
    assert processor(text=["playing guitar"]).input_ids[0, 0].item() == 49406


def test_labels_become_id2label(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("id,name\n0,brush hair\n1,ApplyEyeMakeup\n2,ride bike\n")

    folder = convert_original_checkpoint(FIXTURE, tmp_path / "out", labels_csv=labels)

    config = json.loads((folder / "config.json").read_text())
    assert config["id2label"] == {"0": "brush hair", "1": "ApplyEyeMakeup", "2": "ride bike"}
    assert config["label2id"] == {"brush hair": 0, "ApplyEyeMakeup": 1, "ride bike": 2}
    card = ModelCard.load(folder / "README.md")
    assert "3 classes of `labels.csv`" in card.text
    # A classifier's card runs its own classes, not the zero-shot example labels.
    assert card.data.pipeline_tag == "video-classification"
    assert 'pipeline("video-classification", model="out")' in card.text
    assert "labels = list(model.config.id2label.values())" in card.text
    assert "playing guitar" not in card.text


def test_model_card_metadata_for_an_unknown_file(converted_folder):
    card = ModelCard.load(converted_folder / "README.md")
    assert card.data.license == "mit"
    assert card.data.library_name == "transformers"
    # No classes stored: the video-classification pipeline cannot run it, so no tag says it can; the zero-shot one can.
    assert card.data.pipeline_tag is None
    assert 'pipeline("zero-shot-video-classification", model="xclip-tiny")' in card.text
    assert "xclip" in card.data.tags
    assert card.data.eval_results is None and card.data.base_model is None
    assert 'XCLIPModel.from_pretrained("xclip-tiny")' in card.text
    assert "@inproceedings{ni2022expanding," in card.text  # the paper's citation


def test_model_card_publishes_model_zoo_results(tmp_path):
    write_model_card(tmp_path / "README.md", "me/xclip-b32", B32_GEOMETRY, "k400_32_8.pth", MODEL_ZOO["k400_32_8"])

    card = ModelCard.load(tmp_path / "README.md")
    results = {(result.dataset_name, result.metric_type): result.metric_value for result in card.data.eval_results}
    assert results == {("Kinetics-400", "accuracy"): 80.4, ("Kinetics-400", "top_5_accuracy"): 95.0}
    assert card.data.base_model == "openai/clip-vit-base-patch32"
    assert card.data.datasets == ["kinetics400"]
    assert {result.source_name for result in card.data.eval_results} == {"X-CLIP model zoo (original README)"}
    assert "microsoft/xclip-base-patch32" in card.text and "short side resized to 256, centre crop 224x224" in card.text


def test_model_card_of_the_zero_shot_model_lists_every_evaluation(tmp_path):
    b16_geometry = dataclasses.replace(B32_GEOMETRY, patch_size=16, num_frames=32)
    write_model_card(tmp_path / "README.md", "zero", b16_geometry, "zero.pth", MODEL_ZOO["zero"])

    card = ModelCard.load(tmp_path / "README.md")
    results = {(result.dataset_name, result.metric_type): result.metric_value for result in card.data.eval_results}
    assert results == {
        ("HMDB-51", "accuracy"): 44.6,
        ("UCF-101", "accuracy"): 72.0,
        ("Kinetics-600", "accuracy"): 65.2,
        ("Kinetics-600", "top_5_accuracy"): 86.1,
    }
    assert "zero-shot" in card.data.tags
    assert card.data.datasets == ["kinetics400"]  # trained on; the evaluation sets are the model-index's
    sources = {result.dataset_name: result.source_name for result in card.data.eval_results}
    # The README gives only Kinetics-600's top-1; the paper gives both.
    assert sources == {"HMDB-51": "X-CLIP model zoo (original README)", "UCF-101": "X-CLIP model zoo (original README)",
                       "Kinetics-600": "X-CLIP paper"}
    assert "| 65.2 | 86.1* |" in card.text


def test_model_card_tags_the_few_shot_setting_and_not_full_supervision(tmp_path):
    write_model_card(tmp_path / "few.md", "few", B32_GEOMETRY, "few_hmdb_2.pth", MODEL_ZOO["few_hmdb_2"])
    write_model_card(tmp_path / "full.md", "full", B32_GEOMETRY, "k400_32_8.pth", MODEL_ZOO["k400_32_8"])
    few, full = (ModelCard.load(tmp_path / name).data.tags for name in ("few.md", "full.md"))
    assert set(few) - set(full) == {"2-shot"} and "fully supervised" not in full


def test_model_zoo_file_name_with_other_weights_leaves_results_out(tmp_path, caplog):
    renamed = tmp_path / "k400_32_8.pth"
    renamed.write_bytes(FIXTURE.read_bytes())

    with caplog.at_level(logging.WARNING, logger="xclip"):
        folder = convert_original_checkpoint(renamed, tmp_path / "out")

    assert "the model card leaves out the published results" in caplog.text
    assert "but the weights are a custom ViT (width" in caplog.text and "None" not in caplog.text
    assert ModelCard.load(folder / "README.md").data.eval_results is None


def test_existing_folder_is_kept_unless_overwrite(tmp_path):
    output = tmp_path / "out"
    convert_original_checkpoint(FIXTURE, output)
    (output / "stale.txt").write_text("from the last run")

    with pytest.raises(ConversionError, match="pass overwrite=True"):
        convert_original_checkpoint(FIXTURE, output)
    assert (output / "stale.txt").exists()

    convert_original_checkpoint(FIXTURE, output, overwrite=True)
    assert not (output / "stale.txt").exists() and (output / "model.safetensors").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]  # no staging or parked folder left


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise ConversionError("simulated failure")

    monkeypatch.setattr("xclip.conversion.original_checkpoint.write_model_card", fail)
    with pytest.raises(ConversionError, match="simulated failure"):
        convert_original_checkpoint(FIXTURE, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_the_folder(tmp_path, capsys):
    exit_code = load_cli().main(
        ["--checkpoint", str(FIXTURE), "--output", str(tmp_path / "out"), "--model-name", "me/tiny", "--mit-heads", "4"]
    )

    assert exit_code == 0
    assert "model.safetensors" in capsys.readouterr().out
    config = json.loads((tmp_path / "out" / "config.json").read_text())
    assert config["vision_config"]["mit_num_attention_heads"] == 4
    assert 'from_pretrained("me/tiny")' in (tmp_path / "out" / "README.md").read_text()
