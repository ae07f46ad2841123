"""Training checkpoints (atomic, last N kept, exact state) and the best-model export."""

import json
from pathlib import Path

import pytest
import torch
import yaml
from accelerate import Accelerator
from huggingface_hub import ModelCard

from xclip import XCLIPModel
from xclip.conversion.geometry import CLIP_ARCHITECTURES, CLIPArchitecture
from xclip.conversion.model_card import write_model_card
from xclip.processing import XCLIPProcessor
from xclip.training import TrainerState, export_model, latest_checkpoint, load_config, load_training_state
from xclip.training import save_training_state
from xclip.training.checkpointing import checkpoint_folders
from xclip.training.config import LoraSettings
from xclip.training.export import _model_card
from xclip.training.lora import add_lora_adapters
from xclip.training.text import ClassTexts
from test_conversion import B32_GEOMETRY
from test_training_recipe import CLASSES, tiny_model, tiny_videos


@pytest.fixture
def accelerator(fresh_accelerate_state):
    return Accelerator(cpu=True)


def prepared(accelerator):
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    return accelerator.prepare(model, optimizer)


def train_step(model, optimizer):
    model(torch.ones(2, 4)).sum().backward()
    optimizer.step()
    optimizer.zero_grad()


def optimizer_state(optimizer) -> list[dict[str, torch.Tensor]]:
    """Copies of AdamW's per-parameter state (exp_avg, exp_avg_sq, step), in parameter order."""
    return [
        {name: value.detach().clone() for name, value in optimizer.state[parameter].items()}
        for group in optimizer.param_groups
        for parameter in group["params"]
    ]


def test_state_round_trip_and_last_checkpoints_kept(tmp_path, accelerator):
    model, optimizer = prepared(accelerator)
    saved, saved_optimizer = {}, {}
    for epoch in range(1, 5):
        train_step(model, optimizer)
        state = TrainerState(epoch=epoch, best_top1=10.0 * epoch, best_epoch=epoch - 1, history=[{"epoch": epoch}])
        save_training_state(accelerator, tmp_path, state, keep_last=2)
        saved[epoch] = model.weight.detach().clone()
        saved_optimizer[epoch] = optimizer_state(optimizer)
    assert [folder.name for folder in checkpoint_folders(tmp_path)] == ["epoch_3", "epoch_4"]
    assert latest_checkpoint(tmp_path).name == "epoch_4"

    train_step(model, optimizer)  # move away from the saved state, then restore epoch 3
    state = load_training_state(accelerator, tmp_path / "checkpoints" / "epoch_3", model)
    assert state == TrainerState(epoch=3, best_top1=30.0, best_epoch=2, history=[{"epoch": 3}])
    torch.testing.assert_close(model.weight, saved[3], rtol=0, atol=0)
    # The exact state includes AdamW's moments and step counts: without them the next update would differ.
    restored = optimizer_state(optimizer)
    assert [sorted(entry) for entry in restored] == [["exp_avg", "exp_avg_sq", "step"]] * 2  # weight and bias
    torch.testing.assert_close(restored, saved_optimizer[3], rtol=0, atol=0)
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        load_training_state(accelerator, tmp_path / "checkpoints" / "epoch_1", model)


def test_a_failure_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, accelerator, monkeypatch):
    model, optimizer = prepared(accelerator)
    train_step(model, optimizer)
    first = save_training_state(accelerator, tmp_path, TrainerState(epoch=1), keep_last=1)
    files_before = {path.name: path.read_bytes() for path in first.iterdir()}

    def killed_while_saving(output_dir, **kwargs):
        (Path(output_dir) / "model.safetensors").write_bytes(b"half written")
        raise KeyboardInterrupt

    train_step(model, optimizer)
    monkeypatch.setattr(accelerator, "save_state", killed_while_saving)
    with pytest.raises(KeyboardInterrupt):
        save_training_state(accelerator, tmp_path, TrainerState(epoch=2), keep_last=1)
    assert latest_checkpoint(tmp_path) == first
    assert {path.name: path.read_bytes() for path in first.iterdir()} == files_before
    assert sorted(path.name for path in (tmp_path / "checkpoints").iterdir()) == ["epoch_1"]  # no staging folder

    monkeypatch.undo()
    second = save_training_state(accelerator, tmp_path, TrainerState(epoch=2), keep_last=1)
    assert sorted(path.name for path in (tmp_path / "checkpoints").iterdir()) == ["epoch_2"]  # the older one gone
    assert latest_checkpoint(tmp_path) == second


def write_checkpoint_folder(output_dir: Path, epoch: int, complete: bool = True) -> Path:
    """A checkpoint folder as `checkpoint_folders` sees it: complete once its trainer state is written."""
    folder = output_dir / "checkpoints" / f"epoch_{epoch}"
    folder.mkdir(parents=True)
    if complete:
        (folder / "trainer_state.json").write_text(json.dumps({"epoch": epoch}))
    return folder


def test_checkpoints_are_ordered_by_epoch_number_not_by_name(tmp_path, accelerator):
    # By name, "epoch_9" sorts after "epoch_10": auto-resume would restart from epoch 9 and pruning delete epoch 10.
    for epoch in (2, 9, 10):
        write_checkpoint_folder(tmp_path, epoch)
    assert [folder.name for folder in checkpoint_folders(tmp_path)] == ["epoch_2", "epoch_9", "epoch_10"]
    assert latest_checkpoint(tmp_path).name == "epoch_10"

    prepared(accelerator)  # something for Accelerate to save
    save_training_state(accelerator, tmp_path, TrainerState(epoch=11), keep_last=2)
    assert sorted(path.name for path in (tmp_path / "checkpoints").iterdir()) == ["epoch_10", "epoch_11"]


def test_a_checkpoint_without_trainer_state_is_not_resumed_from(tmp_path):
    complete = write_checkpoint_folder(tmp_path, 2)
    write_checkpoint_folder(tmp_path, 3, complete=False)  # e.g. written by hand or by an older, non-atomic save
    assert checkpoint_folders(tmp_path) == [complete]
    assert latest_checkpoint(tmp_path) == complete


def test_corrupt_trainer_state_is_reported(tmp_path, accelerator):
    folder = tmp_path / "checkpoints" / "epoch_1"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a valid trainer state"):
        load_training_state(accelerator, folder, torch.nn.Linear(2, 2))


def test_best_model_export_is_a_transformers_folder(tmp_path):
    config = load_config(opts=["MODEL.ARCH", "tiny", "DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4"])
    model = tiny_model().eval()
    folder = export_model(model, tmp_path / "best_model", CLASSES, config, {"epoch": 3, "top1": 75.0})
    loaded = XCLIPModel.from_pretrained(folder).eval()
    assert loaded.config.id2label == dict(enumerate(CLASSES))
    assert loaded.config.label2id == {name: index for index, name in enumerate(CLASSES)}
    texts = ClassTexts(CLASSES, frozen=True)
    with torch.no_grad():
        expected = model(pixel_values=tiny_videos(), **texts.training_inputs(model)).logits_per_video
        actual = loaded(pixel_values=tiny_videos(), **ClassTexts(CLASSES, frozen=True).training_inputs(loaded))
    actual = actual.logits_per_video
    torch.testing.assert_close(actual, expected)
    processor = XCLIPProcessor.from_pretrained(folder)
    assert processor.video_processor.crop_size["height"] == 32
    assert processor.video_processor.num_frames == 4  # DATA.NUM_FRAMES, not the processor's default of 8
    card = (folder / "README.md").read_text()
    assert "moving sideways" in card and "top1: 75.00" in card and "library_name: transformers" in card
    assert json.loads((folder / "config.json").read_text())["vision_config"]["num_frames"] == 4

    export_model(model, folder, CLASSES[:2], config, {"epoch": 4})  # a better epoch replaces the folder
    assert XCLIPModel.from_pretrained(folder).config.id2label == {0: CLASSES[0], 1: CLASSES[1]}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best_model"]


def test_a_failing_export_leaves_the_previous_best_model_and_no_staging_folder(tmp_path, monkeypatch):
    config = load_config(opts=["MODEL.ARCH", "tiny", "DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4"])
    folder = export_model(tiny_model(), tmp_path / "best_model", CLASSES, config, {"epoch": 1})
    files_before = {path.name: path.read_bytes() for path in folder.iterdir()}

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("xclip.training.export.build_processor", disk_full)
    with pytest.raises(OSError, match="disk full"):
        export_model(tiny_model(), folder, CLASSES[:2], config, {"epoch": 2})
    assert [path.name for path in tmp_path.iterdir()] == ["best_model"]
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == files_before


def test_exported_and_converted_cards_share_metadata_and_usage(tmp_path):
    config = load_config(opts=["MODEL.ARCH", "tiny", "DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4"])
    exported = ModelCard.load(export_model(tiny_model(), tmp_path / "best_model", CLASSES, config, {}) / "README.md")
    write_model_card(tmp_path / "converted.md", "path/to/this/folder", B32_GEOMETRY, "tiny.pth",
                     labels_name="labels.csv", num_labels=3)
    converted = ModelCard.load(tmp_path / "converted.md")
    shared_fields = ("license", "library_name", "pipeline_tag", "tags")
    assert {field: getattr(exported.data, field) for field in shared_fields} == {
        field: getattr(converted.data, field) for field in shared_fields
    }

    def usage(card: ModelCard) -> str:  # both code blocks, the pipeline's and the model's, and the text between
        section = card.text.split("## Usage")[1].split("\n## ")[0]
        return section[: section.rindex("```") + 3]

    assert usage(exported) == usage(converted)


def test_lora_export_is_merged(tmp_path):
    config = load_config(opts=["MODEL.ARCH", "tiny", "DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4"])
    peft_model = add_lora_adapters(tiny_model(), LoraSettings(ENABLE=True, R=2, DROPOUT=0.0))
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(std=0.3)
    peft_model.eval()
    folder = export_model(peft_model, tmp_path / "best_model", CLASSES, config, {})
    loaded = XCLIPModel.from_pretrained(folder).eval()
    texts = ClassTexts(CLASSES, frozen=True)
    with torch.no_grad():
        expected = peft_model(pixel_values=tiny_videos(), **texts.training_inputs(peft_model)).logits_per_video
        actual = loaded(pixel_values=tiny_videos(), text_embeds=texts.training_inputs(peft_model)["text_embeds"])
    torch.testing.assert_close(actual.logits_per_video, expected, atol=1e-4, rtol=1e-4)  # merging rounds differently
    assert not any("lora" in key for key in loaded.state_dict())


TINY_OPTS = ["MODEL.ARCH", "tiny", "DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4"]


def tiny_card(config, class_names=CLASSES, metrics=None) -> ModelCard:
    return _model_card(tiny_model().config, config, class_names, metrics or {})


def description(card: ModelCard) -> str:
    return card.text.split("## Validation")[0]


def validation_results(card: ModelCard) -> str:
    return card.text.split("## Validation (single view)")[1].split("## Classes")[0]


def training_configuration(card: ModelCard) -> dict:
    return yaml.safe_load(card.text.split("```yaml\n")[1].split("```")[0])


def test_card_lists_the_first_20_classes_and_says_when_there_are_more():
    config = load_config(opts=TINY_OPTS)
    for count, ending in ((20, "`class 19`"), (21, "`class 19` ...")):
        card = tiny_card(config, class_names=[f"class {index}" for index in range(count)])
        classes = card.text.split("## Classes")[1].split("## Usage")[0]
        assert classes.startswith(f"\n\n{count} classes") and classes.count("`class ") == 20, classes
        assert classes.rstrip().endswith(ending), classes


def test_card_describes_the_saved_models_geometry_not_model_arch(tmp_path):
    # Fine-tuning from an X-CLIP folder keeps that folder's geometry whatever MODEL.ARCH (here ViT-B/32) says.
    other_geometry = CLIPArchitecture(None, 16, 192, 2, 3, 32, 2, 2, 32, xclip_heads=2).xclip_geometry(4, 32)
    model = XCLIPModel(other_geometry.to_config())
    config = load_config(opts=["DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4", "MODEL.PRETRAINED", "me/xclip"])
    assert config.MODEL.ARCH == "ViT-B/32"
    card = ModelCard.load(export_model(model, tmp_path / "best_model", CLASSES, config, {}) / "README.md")
    assert "ViT-B/32" not in description(card)
    assert "custom ViT (patch 16, width 192, 2 layers), 4 frames of\n32x32 px" in description(card)

    # OpenAI's name where the image tower is one of its ViTs, here with MODEL.ARCH tiny.
    b16_config = CLIP_ARCHITECTURES["ViT-B/16"].xclip_geometry(8).to_config()
    card = _model_card(b16_config, load_config(opts=TINY_OPTS), CLASSES, {})
    assert "ViT-B/16 (patch 16, width 768, 12 layers), 8 frames of\n224x224 px" in description(card)


def test_card_shows_local_paths_by_their_last_component(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "train.txt").touch()
    config = load_config(opts=[
        *TINY_OPTS,
        "DATA.ROOT", "/home/me/videos/",
        "DATA.TRAIN_FILE", "lists/train.txt",  # relative, and exists here
        "DATA.VAL_FILE", "lists/val.txt",  # relative and not here, though shaped like a Hub id
        "MODEL.ARCH", "ViT-L/14@336px", "DATA.DATASET", "something-something v2/split 1",  # slashes, not paths
        "DATA.LABEL_LIST", str(tmp_path / "labels.csv"),
        "OUTPUT", "/home/me/runs/x",
        "MODEL.PRETRAINED", "/home/me/runs/previous/best_model",
        "TEST.ZERO_SHOT.SPLIT_FILES", "[/home/me/splits/split_1.txt, /home/me/splits/split_2.txt]",
    ])
    card = tiny_card(config)
    assert "/home/me" not in card.text and str(tmp_path) not in card.text and "lists/" not in card.text
    assert "from `best_model`" in description(card)
    published = training_configuration(card)
    assert {key: published["DATA"][key] for key in ("ROOT", "TRAIN_FILE", "VAL_FILE", "LABEL_LIST")} == {
        "ROOT": "videos", "TRAIN_FILE": "train.txt", "VAL_FILE": "val.txt", "LABEL_LIST": "labels.csv"
    }
    assert published["OUTPUT"] == "x" and published["MODEL"]["PRETRAINED"] == "best_model"
    assert published["TEST"]["ZERO_SHOT"]["SPLIT_FILES"] == ["split_1.txt", "split_2.txt"]
    assert published["MODEL"]["LORA"]["TARGET_MODULES"] == config.MODEL.LORA.TARGET_MODULES  # a regex, no path
    assert published["MODEL"]["ARCH"] == "ViT-L/14@336px"
    assert published["DATA"]["DATASET"] == "something-something v2/split 1"
    assert config.OUTPUT == "/home/me/runs/x"  # the run's own config is left as it was

    # A Hub id is published as it is; an `owner/name` that exists here is a local folder.
    config = load_config(opts=[*TINY_OPTS, "MODEL.PRETRAINED", "openai/clip-vit-base-patch16"])
    card = tiny_card(config)
    assert "from `openai/clip-vit-base-patch16`" in description(card)
    assert training_configuration(card)["MODEL"]["PRETRAINED"] == "openai/clip-vit-base-patch16"
    config = load_config(opts=[*TINY_OPTS, "MODEL.PRETRAINED", "lists/train.txt"])
    assert "from `train.txt`" in description(tiny_card(config))


def test_card_metadata_names_a_hub_base_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "me" / "best_model").mkdir(parents=True)
    (tmp_path / "ViT-B-16.pt").touch()  # OpenAI's CLIP file

    def metadata(pretrained):
        card = tiny_card(load_config(opts=TINY_OPTS, **{"MODEL.PRETRAINED": pretrained}))
        return card.data.base_model, card.data.datasets

    assert metadata("openai/clip-vit-base-patch16") == ("openai/clip-vit-base-patch16", None)
    assert metadata("microsoft/xclip-base-patch32") == ("microsoft/xclip-base-patch32", None)
    for not_from_the_hub in (None, "me/best_model", str(tmp_path / "me"), "runs/x/best_model", "ViT-B-16.pt"):
        assert metadata(not_from_the_hub) == (None, None), not_from_the_hub


def test_card_title_says_trained_or_fine_tuned():
    assert "# X-CLIP trained on kinetics400\n" in tiny_card(load_config(opts=TINY_OPTS)).text
    config = load_config(opts=[*TINY_OPTS, "MODEL.PRETRAINED", "openai/clip-vit-base-patch16"])
    assert "# X-CLIP fine-tuned on kinetics400\n" in tiny_card(config).text


def test_card_leaves_top5_out_with_at_most_5_classes():
    config = load_config(opts=TINY_OPTS)
    metrics = {"epoch": 3, "top1": 75.0, "top5": 100.0}
    assert validation_results(tiny_card(config, [f"class {index}" for index in range(5)], metrics)).strip() == (
        "epoch: 3 | top1: 75.00"
    )
    six_classes = [f"class {index}" for index in range(6)]
    assert "epoch: 3 | top1: 75.00 | top5: 100.00" in validation_results(tiny_card(config, six_classes, metrics))
