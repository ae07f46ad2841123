"""`xclip evaluate`: `xclip train --only_test` with its config filled in from the model and the files."""

import json

import pytest
import torch

from test_train_script import TINY_CONFIG, data_opts, record_video_scores, toy  # noqa: F401 (toy: a fixture)
from xclip import cli
from xclip.modeling import XCLIPModel
from xclip.training import load_config, main as train
from xclip.training.evaluate_command import config_from_args, parse_args
from xclip.training.model_setup import random_model_config

pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A random tiny X-CLIP of the tiny config's geometry (8 frames, 32 px), as a transformers folder."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny_xclip")
    XCLIPModel(random_model_config(load_config(TINY_CONFIG))).save_pretrained(folder)
    return folder


def evaluate_argv(model_folder, toy, output, *extra: str) -> list[str]:
    return ["--model", str(model_folder), "--list", str(toy / "val.txt"), "--root", str(toy),
            "--labels", str(toy / "labels.csv"), "--output", str(output), "--num-workers", "0", *extra]


def test_it_evaluates_as_the_training_script_does_with_the_same_settings(tmp_path, toy, model_folder, monkeypatch):
    scores = record_video_scores(monkeypatch)
    evaluated = cli.main(["evaluate", *evaluate_argv(model_folder, toy, tmp_path / "evaluate", "--views", "2x3")])
    assert evaluated == cli.EXIT_OK
    by_command = json.loads((tmp_path / "evaluate" / "metrics.json").read_text())
    train_test = train(["-cfg", str(TINY_CONFIG), "--output", str(tmp_path / "train"), "--only_test", "--log_with",
                        "none", "--pretrained", str(model_folder), "--opts", *data_opts(toy), "DATA.NUM_WORKERS", "0",
                        "TEST.NUM_CLIP", "2", "TEST.NUM_CROP", "3"])
    torch.testing.assert_close(scores[0], scores[1], rtol=0, atol=0)
    for key in ("top1", "top5", "per_class_accuracy", "num_videos", "num_views"):
        assert by_command[key] == train_test[key], key
    assert by_command["num_views"] == 6 and by_command["num_videos"] == 8
    assert {"val_per_class.csv", "val_confusion.png", "log.txt"} <= {p.name for p in (tmp_path / "evaluate").iterdir()}


def test_the_config_takes_the_models_frames_and_size_and_the_labels_count(tmp_path, toy):
    torch.manual_seed(0)
    four_frames = load_config(TINY_CONFIG, ["DATA.NUM_FRAMES", "4", "DATA.INPUT_SIZE", "48"])
    XCLIPModel(random_model_config(four_frames)).save_pretrained(tmp_path / "model")
    config = config_from_args(parse_args(evaluate_argv(tmp_path / "model", toy, tmp_path / "out", "--views", "4x3")))
    assert (config.DATA.NUM_FRAMES, config.DATA.INPUT_SIZE, config.DATA.NUM_CLASSES) == (4, 48, 4)
    assert (config.TEST.NUM_CLIP, config.TEST.NUM_CROP, config.TEST.ONLY_TEST) == (4, 3, True)
    assert config.MODEL.PRETRAINED == str(tmp_path / "model") and config.DATA.NUM_WORKERS == 0
    # --opts wins over what the command derives: here, running the 4-frame model on 8 frames.
    resized = config_from_args(parse_args(evaluate_argv(
        tmp_path / "model", toy, tmp_path / "out", "--opts", "DATA.NUM_FRAMES", "8", "MODEL.RESIZE_FRAMES", "True"
    )))
    assert (resized.DATA.NUM_FRAMES, resized.MODEL.RESIZE_FRAMES, resized.DATA.INPUT_SIZE) == (8, True, 48)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--model": "no_such_model"}, "no_such_model"),
        ({"--labels": "missing.csv"}, "missing.csv"),
        ({"--list": "missing.txt"}, "missing.txt"),
        ({"--opts": "TEST.NUM_CROPS"}, "TEST.NUM_CROPS"),
        ({"--opts": "DATA.ROOT"}, "--opts DATA.ROOT: set by this command's own flags here"),
    ],
    ids=["model", "labels", "list", "opts key", "a flag's key in opts"],
)
def test_bad_input_ends_with_one_line_naming_it(tmp_path, toy, model_folder, capsys, change, message):
    argv = evaluate_argv(model_folder, toy, tmp_path / "out")
    for flag, value in change.items():
        if flag in argv:
            argv[argv.index(flag) + 1] = str(tmp_path / value)
        else:
            argv += [flag, value, "2"]
    assert cli.main(["evaluate", *argv]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: ") and message in error


def test_without_root_the_lists_paths_are_relative_to_the_current_folder(tmp_path, toy, model_folder, monkeypatch):
    """Paths given to the command were read as YAML: an empty --root as null, and refused, a path cut at a '#'."""
    output = tmp_path / "out #1"
    argv = evaluate_argv(model_folder, toy, output)
    root_at = argv.index("--root")
    del argv[root_at : root_at + 2]
    monkeypatch.chdir(toy)
    config = config_from_args(parse_args(argv))
    assert (config.DATA.ROOT, config.OUTPUT) == (".", str(output))
    assert cli.main(["evaluate", *argv]) == cli.EXIT_OK
    assert json.loads((output / "metrics.json").read_text())["num_videos"] == 8


def test_a_hub_id_that_cannot_be_reached_is_named_with_the_offline_advice(tmp_path, toy, capsys):
    argv = evaluate_argv("someone/no-such-xclip", toy, tmp_path / "out")
    assert cli.main(["evaluate", *argv]) == 1
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("error: --model: cannot load model 'someone/no-such-xclip'")


def test_views_must_read_clips_x_crops(tmp_path, toy, model_folder, capsys):
    with pytest.raises(SystemExit) as exit_status:
        cli.main(["evaluate", *evaluate_argv(model_folder, toy, tmp_path / "out", "--views", "4by3")])
    assert exit_status.value.code == 2
    assert "expected CLIPSxCROPS, e.g. 1x1 or 4x3; got '4by3'" in capsys.readouterr().err
