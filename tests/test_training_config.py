"""The experiment config: the original's keys and defaults, YAML files with BASE, --opts, errors, shipped configs."""

import logging
from pathlib import Path

import pytest
import torch

from xclip.training.config import ConfigError, ExperimentConfig, load_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

# The original's utils/config.py defaults (reference §3.1).
ORIGINAL_DEFAULTS = {
    "DATA.ROOT": "",
    "DATA.TRAIN_FILE": "",
    "DATA.VAL_FILE": "",
    "DATA.DATASET": "kinetics400",
    "DATA.INPUT_SIZE": 224,
    "DATA.NUM_FRAMES": 8,
    "DATA.NUM_CLASSES": 400,
    "DATA.LABEL_LIST": "labels/kinetics_400_labels.csv",
    "MODEL.ARCH": "ViT-B/32",
    "MODEL.DROP_PATH_RATE": 0.0,
    "MODEL.PRETRAINED": None,
    "MODEL.RESUME": None,
    "MODEL.FIX_TEXT": True,
    "TRAIN.EPOCHS": 30,
    "TRAIN.WARMUP_EPOCHS": 5,
    "TRAIN.WEIGHT_DECAY": 0.001,
    "TRAIN.LR": 8e-6,
    "TRAIN.BATCH_SIZE": 8,
    "TRAIN.ACCUMULATION_STEPS": 1,
    "TRAIN.LR_SCHEDULER": "cosine",
    "TRAIN.OPTIMIZER": "adamw",
    "TRAIN.OPT_LEVEL": "O1",
    "TRAIN.AUTO_RESUME": False,
    "TRAIN.USE_CHECKPOINT": False,
    "AUG.LABEL_SMOOTH": 0.1,
    "AUG.COLOR_JITTER": 0.8,
    "AUG.GRAY_SCALE": 0.2,
    "AUG.MIXUP": 0.8,
    "AUG.CUTMIX": 1.0,
    "AUG.MIXUP_SWITCH_PROB": 0.5,
    "TEST.NUM_CLIP": 1,
    "TEST.NUM_CROP": 1,
    "TEST.ONLY_TEST": False,
    "OUTPUT": "",
    "SAVE_FREQ": 1,
    "PRINT_FREQ": 50,
    "SEED": 1024,
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_originals():
    flat = ExperimentConfig().flat()
    assert {key: flat[key] for key in ORIGINAL_DEFAULTS} == ORIGINAL_DEFAULTS


def test_original_yaml_with_base_inheritance_and_overrides(tmp_path):
    write(tmp_path / "base.yaml", "DATA:\n    NUM_FRAMES: 16\n    DATASET: base\nTRAIN:\n    LR: 1.e-5\n")
    (tmp_path / "sub").mkdir()
    child = write(
        tmp_path / "sub" / "child.yaml",
        "BASE: ['../base.yaml']\nDATA:\n    DATASET: child\nMODEL:\n    ARCH: ViT-B/16\n",
    )
    config = load_config(child, ["TRAIN.LR", "2e-6", "TRAIN.USE_CHECKPOINT", "True"], **{"TRAIN.BATCH_SIZE": 3})
    assert config.DATA.NUM_FRAMES == 16  # from BASE
    assert config.DATA.DATASET == "child"  # the file wins over its BASE
    assert config.MODEL.ARCH == "ViT-B/16"
    assert config.TRAIN.LR == 2e-6 and isinstance(config.TRAIN.LR, float)  # --opts win over the file
    assert config.TRAIN.USE_CHECKPOINT is True
    assert config.TRAIN.BATCH_SIZE == 3  # dedicated flags win over --opts
    assert config.TRAIN.EPOCHS == 30  # untouched keys keep the defaults


def test_paths_and_names_on_the_command_line_are_taken_as_written():
    """They were read as YAML: a '#' cut them (a comment), "1e5" became a number and was refused, "" became null."""
    opts = ["DATA.ROOT", "videos #2", "DATA.VAL_FILE", "1e5", "DATA.DATASET", "", "MODEL.PRETRAINED", "null",
            "MODEL.LORA.TARGET_MODULES", "[q_proj, v_proj]", "TRAIN.LR", "1e-5"]
    config = load_config(None, opts, OUTPUT="runs/a #1", **{"MODEL.RESUME": "~"})
    assert (config.DATA.ROOT, config.DATA.VAL_FILE, config.DATA.DATASET) == ("videos #2", "1e5", "")
    assert config.MODEL.PRETRAINED is None  # YAML's null word, where the key allows None
    assert config.MODEL.LORA.TARGET_MODULES == ["q_proj", "v_proj"] and config.TRAIN.LR == 1e-5  # YAML where typed
    assert (config.OUTPUT, config.MODEL.RESUME) == ("runs/a #1", "~")  # the flags' values, as they are


def test_yaml_round_trip(tmp_path):
    config = load_config(opts=["MODEL.LORA.TARGET_MODULES", "[q_proj, v_proj]", "TEST.ZERO_SHOT.SPLIT_FILES", "a.txt"])
    assert config.MODEL.LORA.TARGET_MODULES == ["q_proj", "v_proj"]
    assert config.TEST.ZERO_SHOT.SPLIT_FILES == ["a.txt"]  # a single value becomes a one-item list
    assert load_config(write(tmp_path / "full.yaml", config.to_yaml())) == config


def test_unknown_key_lists_the_valid_keys_and_a_close_match(tmp_path):
    path = write(tmp_path / "typo.yaml", "TRAIN:\n    LEARNING_RATE: 1.e-5\n    EPOCH: 3\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert str(path) in message and "TRAIN.LEARNING_RATE" in message
    assert "TRAIN.WARMUP_EPOCHS" in message and "TRAIN.LR" in message  # the valid keys of the group
    with pytest.raises(ConfigError, match="Did you mean 'TRAIN.EPOCHS'"):
        load_config(opts=["TRAIN.EPOCH", "3"])
    with pytest.raises(ConfigError, match="unknown config key 'SOLVER.LR'.*Valid keys here: DATA, MODEL"):
        load_config(opts=["SOLVER.LR", "3"])


@pytest.mark.parametrize(
    ("opts", "expected"),
    [
        (["TRAIN.EPOCHS", "2.5"], "TRAIN.EPOCHS must be an integer, got 2.5"),
        (["TRAIN.LR", "fast"], "TRAIN.LR must be a number, got 'fast'"),
        (["MODEL.FIX_TEXT", "maybe"], "MODEL.FIX_TEXT must be true/false"),
        (["TRAIN", "3"], "'TRAIN' is a group; set its keys"),
        (["TRAIN.LR.X", "3"], "'TRAIN.LR' is a value, not a group"),
        (["TRAIN.EPOCHS"], "KEY VALUE pairs"),
        (["TRAIN.OPT_LEVEL", "O3"], r"TRAIN.OPT_LEVEL = 'O3' is invalid: expected one of"),
        (["TRAIN.WARMUP_EPOCHS", "40"], "between 0 and TRAIN.EPOCHS"),
        (["TEST.NUM_CROP", "2"], "1 \\(centre crop\\) or 3"),
        (["AUG.LABEL_SMOOTH", "1.5"], "AUG.LABEL_SMOOTH"),
        (["SEED", "-1"], r"SEED = -1 is invalid: expected between 0 and 2\*\*31 - 1"),
    ],
)
def test_bad_values_are_reported_with_the_key(opts, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(opts=opts)


def test_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"broken.yaml: not a readable YAML file \(line 3, column 1: expected ','"):
        load_config(write(tmp_path / "broken.yaml", "DATA:\n  ROOT: [unclosed\n"))
    with pytest.raises(ConfigError, match=r"missing_base.yaml: no such config file \(the BASE of .*child.yaml\)"):
        load_config(write(tmp_path / "child.yaml", "BASE: ['missing_base.yaml']\n"))
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(write(tmp_path / "list.yaml", "- DATA\n"))
    write(tmp_path / "a.yaml", "BASE: ['b.yaml']\n")
    with pytest.raises(ConfigError, match="include each other"):
        load_config(write(tmp_path / "b.yaml", "BASE: ['a.yaml']\n"))


def test_opt_level_maps_to_mixed_precision():
    assert [load_config(opts=["TRAIN.OPT_LEVEL", level]).mixed_precision for level in ("O0", "O1", "O2", "bf16")] == [
        "no",
        "fp16",
        "fp16",
        "bf16",
    ]


# (config, arch, frames, input size, classes, batch per GPU, accumulation, epochs, LR) from reference §3.2.
ORIGINAL_CONFIGS = [
    ("k400/32_8", "ViT-B/32", 8, 224, 400, 8, 4, 30, 8e-6),
    ("k400/32_16", "ViT-B/32", 16, 224, 400, 8, 4, 30, 8e-6),
    ("k400/16_8", "ViT-B/16", 8, 224, 400, 8, 4, 30, 8e-6),
    ("k400/16_16", "ViT-B/16", 16, 224, 400, 4, 8, 30, 8e-6),
    ("k400/16_32", "ViT-B/16", 32, 224, 400, 4, 8, 30, 8e-6),
    ("k400/14_8", "ViT-L/14", 8, 224, 400, 4, 8, 30, 8e-6),
    ("k400/14_16_336", "ViT-L/14@336px", 16, 336, 400, 1, 32, 30, 8e-6),
    ("k600/16_8", "ViT-B/16", 8, 224, 600, 8, 4, 30, 8e-6),
    ("k600/16_16", "ViT-B/16", 16, 224, 600, 4, 8, 30, 8e-6),
    ("k600/14_8", "ViT-L/14", 8, 224, 600, 4, 8, 30, 8e-6),
    ("hmdb51/16_32", "ViT-B/16", 32, 224, 51, 4, 2, 50, 2e-6),
    ("ucf101/16_32", "ViT-B/16", 32, 224, 101, 4, 2, 50, 2e-6),
]


@pytest.mark.parametrize("name, arch, frames, size, classes, batch, accumulation, epochs, lr", ORIGINAL_CONFIGS)
def test_shipped_configs_mirror_the_originals(name, arch, frames, size, classes, batch, accumulation, epochs, lr):
    config = load_config(CONFIGS / f"{name}.yaml")
    assert (config.MODEL.ARCH, config.DATA.NUM_FRAMES, config.DATA.INPUT_SIZE, config.DATA.NUM_CLASSES) == (
        arch,
        frames,
        size,
        classes,
    )
    assert (config.TRAIN.BATCH_SIZE, config.TRAIN.ACCUMULATION_STEPS) == (batch, accumulation)
    assert (config.TRAIN.EPOCHS, config.TRAIN.LR) == (epochs, lr)
    assert config.TRAIN.USE_CHECKPOINT == (name == "k400/14_16_336")


@pytest.mark.parametrize("dataset", ["hmdb51", "ucf101"])
@pytest.mark.parametrize("shots", [2, 4, 8, 16])
def test_few_shot_configs(dataset, shots):
    config = load_config(CONFIGS / "few_shot" / f"{dataset}_{shots}shot.yaml")
    assert config.DATA.FEW_SHOT_K == shots
    assert (config.TRAIN.EPOCHS, config.TRAIN.LR, config.DATA.NUM_FRAMES, config.MODEL.ARCH) == (
        50,
        2e-6,
        32,
        "ViT-B/16",
    )
    assert not config.TEST.MULTI_VIEW_AT_END


def test_zero_shot_configs():
    for dataset, classes in (("hmdb51", 51), ("ucf101", 101)):
        config = load_config(CONFIGS / "zero_shot" / f"{dataset}.yaml")
        assert config.TEST.ONLY_TEST and config.DATA.NUM_CLASSES == classes
        assert len(config.TEST.ZERO_SHOT.SPLIT_FILES) == 3
        assert (config.DATA.NUM_FRAMES, config.MODEL.ARCH) == (32, "ViT-B/16")
    k600 = load_config(CONFIGS / "zero_shot" / "k600.yaml")
    assert k600.TEST.ZERO_SHOT.NOVEL_CLASSES_OF.endswith("kinetics_400_labels.csv")
    assert (k600.TEST.ZERO_SHOT.NUM_SUBSETS, k600.TEST.ZERO_SHOT.SUBSET_SIZE, k600.DATA.NUM_CLASSES) == (3, 160, 600)
    with pytest.raises(ConfigError, match="two different protocols"):
        load_config(CONFIGS / "zero_shot" / "k600.yaml", ["TEST.ZERO_SHOT.SPLIT_FILES", "a.txt"])


def test_batches_travel_from_pinned_memory_without_blocking_when_a_gpu_is_present(
    monkeypatch, fresh_accelerate_state, tmp_path
):
    from xclip.data import VideoRecord
    from xclip.training.data import build_train_dataset, eval_dataloader, train_dataloader
    from xclip.training.run import build_accelerator, parse_args

    config = load_config(opts=["MODEL.ARCH", "tiny", "DATA.NUM_WORKERS", "0"])
    dataset = build_train_dataset(config, [VideoRecord(tmp_path / "unread.mp4", 0)])  # opens no video
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert train_dataloader(dataset, config).pin_memory and eval_dataloader(dataset, config).pin_memory
    monkeypatch.undo()
    accelerator = build_accelerator(config, parse_args(["--cpu", "--config", "unused.yaml"]))
    assert accelerator.non_blocking


def test_gpu_decoding_is_checked_up_front_and_spawns_the_loader_workers(tmp_path):
    from xclip.data import VideoRecord
    from xclip.training.data import build_train_dataset, train_dataloader

    records = [VideoRecord(tmp_path / "unread.mp4", 0)]  # building datasets and loaders opens no video
    with pytest.raises(ConfigError, match="DATA.HWACCEL: Unknown hardware decoder 'gpu'.*offers"):
        build_train_dataset(load_config(opts=["MODEL.ARCH", "tiny", "DATA.HWACCEL", "gpu"]), records)
    if not torch.cuda.is_available():  # FFmpeg may know the device type; it cannot open it without a GPU
        with pytest.raises(ConfigError, match="DATA.HWACCEL: (Cannot open FFmpeg's 'cuda' device|Unknown hardware)"):
            build_train_dataset(load_config(opts=["MODEL.ARCH", "tiny", "DATA.HWACCEL", "cuda"]), records)
    config = load_config(opts=["MODEL.ARCH", "tiny", "DATA.NUM_WORKERS", "2"])
    dataset = build_train_dataset(config, records)
    assert dataset.hwaccel is None and train_dataloader(dataset, config).multiprocessing_context is None
    dataset.hwaccel = "cuda"  # as DATA.HWACCEL cuda gives on a GPU machine
    assert train_dataloader(dataset, config).multiprocessing_context.get_start_method() == "spawn"


def test_a_removed_key_in_an_older_runs_config_is_ignored_with_a_warning(tmp_path, caplog):
    old_run_config = tmp_path / "config.yaml"
    old_run_config.write_text("AUG:\n  DEVICE: cpu\n  FLIP: 0.25\n")  # config.yaml of a run before AUG.DEVICE went
    with caplog.at_level(logging.WARNING, logger="xclip.training.config"):
        config = load_config(old_run_config)
    assert config.AUG.FLIP == 0.25 and not hasattr(config.AUG, "DEVICE")
    assert "AUG.DEVICE is no longer used and is ignored" in caplog.text


@pytest.mark.parametrize("autorotate, bright_side", [("True", "right"), ("False", "top")])
def test_data_autorotate_turns_phone_videos_upright_or_keeps_them_as_stored(tmp_path, autorotate, bright_side):
    import numpy as np

    from xclip.data import VideoRecord
    from xclip.training.data import build_eval_dataset
    from xclip.video.synthetic import write_video

    frames = np.zeros((4, 32, 64, 3), dtype=np.uint8)
    frames[:, :16] = 255  # the stored frame's top half is bright; a quarter turn clockwise puts it on the right
    path = write_video(tmp_path / "portrait.mp4", frames, display_rotation=-90)
    config = load_config(opts=["MODEL.ARCH", "tiny", "DATA.NUM_FRAMES", "2", "DATA.AUTOROTATE", autorotate])
    pixels = build_eval_dataset(config, [VideoRecord(path, 0)])[0]["pixel_values"].float()  # [T, 3, S, S]
    half = pixels.shape[-1] // 2
    sides = {"right": pixels[..., half:], "top": pixels[..., :half, :]}
    others = {"right": pixels[..., :half], "top": pixels[..., half:, :]}
    assert sides[bright_side].mean() > others[bright_side].mean() + 1


def test_test_random_clips_draws_multi_clip_views_at_random_as_the_original(tmp_path):
    from xclip.data import VideoRecord
    from xclip.training.data import build_eval_dataset
    from xclip.video.synthetic import index_coded_frames, write_video

    records = [VideoRecord(write_video(tmp_path / "coded.mp4", index_coded_frames(64, 32, 32)), 0)]

    def views(seed: str, random_clips: str, num_clips: int) -> torch.Tensor:
        opts = ["MODEL.ARCH", "tiny", "DATA.NUM_FRAMES", "4", "SEED", seed, "TEST.RANDOM_CLIPS", random_clips]
        return build_eval_dataset(load_config(opts=opts), records, num_clips=num_clips)[0]["pixel_values"]

    assert torch.equal(views("0", "False", 2), views("1", "False", 2))  # evenly spaced: the same in every run
    assert not torch.equal(views("0", "True", 2), views("1", "True", 2))
    assert torch.equal(views("0", "True", 1), views("1", "True", 1))  # one clip: the segment centres, as originally
