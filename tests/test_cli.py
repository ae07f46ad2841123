"""The `xclip` command: classify's table and JSON output, its one-line errors, and forwarding to convert/train."""

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from transformers import pipeline

from test_classification import make_processor, make_xclip
from xclip.cli import main
from xclip.video.synthetic import moving_texture_frames, write_video

REPO_ROOT = Path(__file__).resolve().parents[1]
LABELS = ["riding a bike", "cooking", "playing guitar"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    model = make_xclip()
    model.save_pretrained(folder)
    make_processor(model).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("videos")
    return [
        str(write_video(folder / f"clip{seed}.mp4", moving_texture_frames(12, 48, 64, seed=seed))) for seed in (0, 1)
    ]


def run(argv, capsys):
    """`main(argv)`'s exit status, stdout and stderr."""
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_table_shows_every_video_with_sorted_scores(model_dir, videos, capsys):
    status, out, err = run(["classify", *videos, "--labels", ",".join(LABELS), "--model", model_dir], capsys)
    assert status == 0, err
    blocks = out.strip().split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == videos
    for block in blocks:
        rows = [row.split(maxsplit=1) for row in block.splitlines()[1:]]
        scores = [float(score.rstrip("%")) for score, _ in rows]
        assert sorted(label for _, label in rows) == sorted(LABELS)
        assert scores == sorted(scores, reverse=True)
        assert abs(sum(scores) - 100) <= 0.05


def test_json_output_equals_the_pipelines(model_dir, videos, capsys):
    argv = ["classify", *videos, "--labels", ",".join(LABELS), "--model", model_dir, "--json", "--top-k", "2",
            "--num-clips", "2", "--num-crops", "3", "--batch-size", "2", "--template", "a video of {}."]
    status, out, err = run(argv, capsys)
    assert status == 0, err
    records = json.loads(out)

    expected = pipeline("zero-shot-video-classification", model=model_dir)(
        videos, candidate_labels=LABELS, hypothesis_template="a video of {}.", top_k=2, num_clips=2, num_crops=3
    )
    assert [record["video"] for record in records] == videos
    for record, predictions in zip(records, expected):
        assert [p["label"] for p in record["predictions"]] == [p["label"] for p in predictions]
        assert np.allclose([p["score"] for p in record["predictions"]], [p["score"] for p in predictions], atol=1e-6)


def test_labels_files(model_dir, videos, tmp_path, capsys):
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("id,name\n0,riding a bike\n1,cooking\n2,playing guitar\n")
    text_file = tmp_path / "labels.txt"
    text_file.write_text("# classes\nriding a bike\n\ncooking\nplaying guitar\n")
    outputs = []
    for labels_file in (csv_file, text_file):
        status, out, err = run(
            ["classify", videos[0], "--labels-file", str(labels_file), "--model", model_dir, "--json"], capsys
        )
        assert status == 0, err
        outputs.append(json.loads(out))
    assert sorted(p["label"] for p in outputs[0][0]["predictions"]) == sorted(LABELS)
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing video", "video '{tmp}/missing.mp4': no such file"),
        ("corrupt video", "Cannot read video '{tmp}/corrupt.mp4': not a readable media file"),
        ("empty labels", "--labels gives no labels"),
        ("repeated label", "--labels: Label 1 repeats 'cooking'"),
        ("missing labels file", "{tmp}/labels.csv': labels CSV not found"),
        ("malformed labels file", "{tmp}/bad.csv', line 1: the header must name the columns 'id,name'"),
        ("missing model", "model '{tmp}/no-model': no such folder"),
        ("folder without a model", "cannot load model '{tmp}': "),
        ("bad template", "--template: hypothesis_template must contain exactly one"),
    ],
)
def test_input_problems_are_one_line_errors(case, message, model_dir, videos, tmp_path, capsys):
    (tmp_path / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(4096))
    (tmp_path / "bad.csv").write_text("title\ncooking\n")
    video, labels, model, extra = videos[0], ["--labels", "cooking,riding a bike"], model_dir, []
    if case == "missing video":
        video = str(tmp_path / "missing.mp4")
    elif case == "corrupt video":
        video = str(tmp_path / "corrupt.mp4")
    elif case == "empty labels":
        labels = ["--labels", " , "]
    elif case == "repeated label":
        labels = ["--labels", "cooking,cooking"]
    elif case == "missing labels file":
        labels = ["--labels-file", str(tmp_path / "labels.csv")]
    elif case == "malformed labels file":
        labels = ["--labels-file", str(tmp_path / "bad.csv")]
    elif case == "missing model":
        model = str(tmp_path / "no-model")
    elif case == "folder without a model":
        model = str(tmp_path)
    elif case == "bad template":
        extra = ["--template", "a video"]
    status, out, err = run(["classify", video, *labels, "--model", model, *extra], capsys)
    assert status == 1
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert message.format(tmp=tmp_path) in err


def test_missing_labels_option_is_a_usage_error(model_dir, videos, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", videos[0], "--model", model_dir])
    assert exit_info.value.code == 2
    assert "one of the arguments --labels --labels-file is required" in capsys.readouterr().err


def test_console_command_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "xclip.cli", "classify", str(tmp_path / "gone.mp4"), "--labels", "a", "--model", "m"],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: video '{tmp_path / 'gone.mp4'}': no such file"


@pytest.mark.parametrize("command", ["convert", "prepare", "splits", "train"])
def test_every_subcommands_usage_names_it(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: xclip {command} ")


def test_convert_forwards_to_the_conversion_script(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["convert", "--help"])
    assert exit_info.value.code == 0
    assert "--checkpoint" in capsys.readouterr().out

    status = main(["convert", "--checkpoint", str(tmp_path / "k400.pth"), "--output", str(tmp_path / "out")])
    assert status == 1
    assert "k400.pth" in capsys.readouterr().err


def test_train_forwards_its_arguments(monkeypatch):
    received = []
    fake_training = types.ModuleType("xclip.training")
    fake_training.main = lambda argv: received.append(argv) or {"top1": 0.5}
    monkeypatch.setitem(sys.modules, "xclip.training", fake_training)
    assert main(["train", "--config", "k400.yaml", "--help"]) == 0
    assert received == [["--config", "k400.yaml", "--help"]]


def test_train_help_is_the_training_scripts(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    assert "--config" in capsys.readouterr().out
