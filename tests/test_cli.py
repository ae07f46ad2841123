"""The `xclip` command: classify's table and JSON output, its one-line errors, and forwarding to convert/train."""

import json
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from transformers import pipeline

from test_classification import make_processor, make_xclip
import xclip
from xclip.cli import CommandError, main
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
        ("labels differing in case", "--labels: Label 2 'Cooking' repeats label 0 'cooking' up to case or spacing"),
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
    elif case == "labels differing in case":
        labels = ["--labels", "cooking,riding a bike,Cooking"]
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


def test_without_labels_the_models_own_class_names_are_used(model_dir, videos, tmp_path, capsys):
    err = one_line_error(["classify", videos[0], "--model", str(model_dir)], capsys)
    assert err == (f"error: model '{model_dir}' stores no class names (config.id2label): pass the labels with "
                   "--labels or --labels-file")
    named = copy_model(model_dir, tmp_path / "best_model")
    config = json.loads((named / "config.json").read_text())
    config["id2label"] = dict(enumerate(["a", "b", "c"]))
    (named / "config.json").write_text(json.dumps(config))
    status, stored, _ = run(["classify", videos[0], "--model", str(named), "--json"], capsys)
    assert status == 0
    _, given, _ = run(["classify", videos[0], "--model", str(model_dir), "--labels", "a,b,c", "--json"], capsys)
    assert json.loads(stored) == json.loads(given)


def test_python_m_xclip_is_the_command_and_names_its_version():
    """`python -m xclip` is the way round the X clipboard tool, also called xclip, where that comes first on PATH."""
    result = subprocess.run([sys.executable, "-m", "xclip", "--version"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == f"xclip {xclip.__version__} (X-CLIP video recognition)\n"


def test_console_command_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "xclip", "classify", str(tmp_path / "gone.mp4"), "--labels", "a", "--model", "m"],
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


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ([str(REPO_ROOT / "scripts" / "train.py"), "-cfg", "configs/tiny/motion.yaml", "--opts", "TRAIN.LRR", "1e-5"],
         "error: --opts: unknown config key 'TRAIN.LRR'. Did you mean 'TRAIN.LR'?"),
        (["-c", "import sys; sys.modules['peft'] = None; from xclip.cli import main; sys.exit(main(['train']))"],
         "error: xclip.training needs peft from the package's training extras: pip install 'xclip[train]'"),
    ],
    ids=["the training script", "missing training extras"],
)
def test_training_errors_are_one_line_whichever_way_it_starts(command, message, tmp_path):
    result = subprocess.run([sys.executable, *command, "--output", str(tmp_path / "run")], capture_output=True,
                            text=True, cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(message), result.stderr


def test_the_traceback_behind_a_one_line_error_on_request(monkeypatch, capsys):
    argv = ["train", "-cfg", str(REPO_ROOT / "configs" / "tiny" / "motion.yaml"), "--opts", "TRAIN.LRR", "1e-5"]
    assert main(argv) == 1 and "unknown config key 'TRAIN.LRR'" in capsys.readouterr().err
    monkeypatch.setenv("XCLIP_TRACEBACK", "1")
    from xclip.training import ConfigError

    with pytest.raises(ConfigError, match="unknown config key 'TRAIN.LRR'"):
        main(argv)


def test_train_help_is_the_training_scripts(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    assert "--config" in capsys.readouterr().out


# --- model folders and devices that transformers or torch would report with a traceback or an obscure message ----


def copy_model(model_dir, folder, without=()):
    import shutil

    shutil.copytree(model_dir, folder)
    for name in without:
        (folder / name).unlink()
    return folder


def one_line_error(argv, capsys):
    status, out, err = run(argv, capsys)
    assert status == 1 and out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    return err.strip()


@pytest.mark.parametrize("damage", ["truncated", "garbage header"])
def test_corrupt_safetensors_is_one_line_naming_the_file(damage, model_dir, videos, tmp_path, capsys):
    folder = copy_model(model_dir, tmp_path / "m_corrupt")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncated" else data[:8] + b"{\"x" + data[11:])
    err = one_line_error(["classify", videos[0], "--labels", "a,b,c", "--model", str(folder)], capsys)
    assert err.startswith(f"error: cannot load model '{folder}': {weights} is corrupt or truncated ("), err


def test_a_weights_file_broken_past_its_header_is_still_one_line(model_dir, videos, tmp_path, capsys, monkeypatch):
    # check_model_folder reads headers only; a safetensors error while loading must not become a traceback either
    monkeypatch.setattr("xclip.cli._check_model", lambda model: None)
    folder = copy_model(model_dir, tmp_path / "m_corrupt")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    err = one_line_error(["classify", videos[0], "--labels", "a,b,c", "--model", str(folder)], capsys)
    assert err.startswith(f"error: cannot load model '{folder}': a weights file is corrupt or truncated"), err


def test_model_folder_problems_name_the_missing_file(model_dir, videos, tmp_path, capsys, monkeypatch):
    argv = ["classify", videos[0], "--labels", "a,b,c", "--model"]
    no_weights = copy_model(model_dir, tmp_path / "m_noweights", without=["model.safetensors"])
    err = one_line_error([*argv, str(no_weights)], capsys)
    assert err == (
        f"error: cannot load model '{no_weights}': {no_weights} has no weights file "
        "(model.safetensors or pytorch_model.bin)"
    )

    no_config = copy_model(model_dir, tmp_path / "m_noconfig", without=["config.json"])
    err = one_line_error([*argv, str(no_config)], capsys)
    assert err.endswith(f"{no_config} has no config.json, so it is not a saved model folder"), err

    run_folder = tmp_path / "runs" / "base"
    copy_model(model_dir, run_folder / "best_model")
    (run_folder / "metrics.json").write_text("{}")
    err = one_line_error([*argv, str(run_folder)], capsys)
    assert err.endswith(
        f"{run_folder} has no config.json, so it is not a saved model folder; it looks like a training output "
        f"folder: pass its model, {run_folder / 'best_model'}"
    ), err
    status, _, err = run([*argv, str(run_folder / "best_model")], capsys)
    assert status == 0, err

    from huggingface_hub import constants

    # huggingface_hub reads HF_HUB_OFFLINE once, at import; setting the variable now would not make it offline.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path)
    err = one_line_error([*argv, "no_such_dir"], capsys)
    assert err == (
        "error: cannot load model 'no_such_dir': no such folder, and not a Hub id available offline "
        "(HF_HUB_OFFLINE is set)"
    )
    err = one_line_error([*argv, "no such dir"], capsys)
    assert err == "error: cannot load model 'no such dir': no such folder, and not a valid Hub id"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda config: config["vision_config"].update(hidden_size=2 * config["vision_config"]["hidden_size"]),
         r"its weights do not match its config.json: \S+ has shape \[\d+(, \d+)*\] in model.safetensors but "
         r"\[\d+(, \d+)*\] by config.json. Use the config.json saved with these weights."),
        (lambda config: config["vision_config"].update(num_frames="four"),
         r"malformed XCLIPConfig \(config.json\): Field 'num_frames' expected int, got str \(value: 'four'\)"),
    ],
)
def test_a_config_json_that_does_not_fit_its_weights_is_one_line(edit, message, model_dir, videos, tmp_path, capsys):
    folder = copy_model(model_dir, tmp_path / "m_edited")
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    err = one_line_error(["classify", videos[0], "--labels", "a,b,c", "--model", str(folder)], capsys)
    assert re.fullmatch(rf"error: cannot load model '{re.escape(str(folder))}': {message}", err), err


def test_online_a_hub_id_is_left_to_the_hub(monkeypatch):
    from huggingface_hub import constants

    from xclip.model_source import check_model_folder

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    check_model_folder("microsoft/xclip-base-patch32")  # not looked up here: transformers downloads it


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("tpu9", "error: --device tpu9: not a torch device (e.g. cpu, cuda, cuda:1, mps)"),
        ("cuda", "error: --device cuda: no CUDA device is available"),
        ("cuda:1", "error: --device cuda:1: no CUDA device is available"),
    ],
)
def test_unusable_devices_are_one_line_errors(device, message, model_dir, videos, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # also on a machine with a GPU
    err = one_line_error(["classify", videos[0], "--labels", "a,b", "--model", model_dir, "--device", device], capsys)
    assert err == message


def test_cuda_device_index_beyond_the_machines_devices(model_dir, videos, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    err = one_line_error(["classify", videos[0], "--labels", "a,b", "--model", model_dir, "--device", "cuda:1"], capsys)
    assert err == "error: --device cuda:1: this machine has 1 CUDA device(s), numbered from 0"


def test_a_text_labels_file_with_a_byte_order_mark(model_dir, videos, tmp_path, capsys):
    labels_file = tmp_path / "labels.txt"
    labels_file.write_text("riding a bike\ncooking\n", encoding="utf-8-sig")
    status, out, err = run(["classify", videos[0], "--labels-file", str(labels_file), "--model", model_dir, "--json"],
                           capsys)
    assert status == 0, err
    assert sorted(p["label"] for p in json.loads(out)[0]["predictions"]) == ["cooking", "riding a bike"]


def test_an_error_from_a_dataloader_worker_is_reported_by_its_own_message():
    from torch.utils.data import DataLoader, Dataset

    from xclip.text_utils import first_line

    class Unreadable(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            raise ValueError("Found no readable video among 1 consecutive videos (first: 'a.mp4' (line 1))")

    with pytest.raises(ValueError) as raised:
        next(iter(DataLoader(Unreadable(), num_workers=1)))
    assert first_line(raised.value) == "ValueError: Found no readable video among 1 consecutive videos (first: " \
                                       "'a.mp4' (line 1))"


def test_an_unreadable_video_among_many_is_reported_and_the_others_are_scored(model_dir, videos, tmp_path, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).bytes(4096))
    argv = ["classify", videos[0], str(broken), videos[1], "--labels", ",".join(LABELS), "--model", model_dir]
    status, out, err = run(argv, capsys)
    assert status == 1
    (line,) = err.splitlines()
    assert line.startswith(f"error: Cannot read video '{broken}': not a readable media file")
    assert videos[0] in out and videos[1] in out and str(broken) not in out
    inputs = [videos[0], str(broken), videos[1], str(broken)]  # one record per argument, in their order
    status, out, _ = run(["classify", *inputs, "--labels", ",".join(LABELS), "--model", model_dir, "--json"], capsys)
    records = json.loads(out)
    assert [record["video"] for record in records] == inputs
    assert "predictions" in records[0] and "predictions" in records[2]
    assert records[1]["error"].startswith("Cannot read video") and records[3]["error"] == records[1]["error"]


def test_after_an_unreadable_video_the_others_are_still_scored_in_batches(model_dir, videos, tmp_path, capsys,
                                                                          monkeypatch):
    """Only the batch that holds the unreadable video is scored one video at a time (every video was, before)."""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).bytes(4096))
    calls = []
    load_pipeline = xclip.cli._load_pipeline

    def recording_load(args):
        classifier = load_pipeline(args)

        def call(videos, **options):
            calls.append(len(videos))
            return classifier(videos, **options)

        return call

    monkeypatch.setattr(xclip.cli, "_load_pipeline", recording_load)
    inputs = [videos[0], videos[1], str(broken), videos[0], videos[1], videos[0]]
    argv = ["classify", *inputs, "--labels", ",".join(LABELS), "--model", model_dir, "--json", "--batch-size", "2"]
    status, out, _ = run(argv, capsys)
    # All six in batches of 2; the failed batch (3rd and 4th video) one by one; the last two in a batch again.
    assert status == 1 and calls == [6, 1, 1, 2]
    records = json.loads(out)
    assert [record["video"] for record in records] == inputs
    assert ["error" in record for record in records] == [False, False, True, False, False, False]
    assert records[3]["predictions"] == records[0]["predictions"] == records[5]["predictions"]


def test_interrupted_json_output_still_holds_the_videos_scored_so_far(model_dir, videos, capsys, monkeypatch):
    classify_readable = xclip.cli._classify_readable

    def interrupted_after_one(*args, **kwargs):
        outcomes = classify_readable(*args, **kwargs)
        yield next(outcomes)
        raise KeyboardInterrupt

    monkeypatch.setattr(xclip.cli, "_classify_readable", interrupted_after_one)
    argv = ["classify", *videos, "--labels", ",".join(LABELS), "--model", model_dir, "--json"]
    status, out, _ = run(argv, capsys)
    assert status == xclip.cli.EXIT_INTERRUPTED
    assert [record["video"] for record in json.loads(out)] == videos[:1]


def test_many_videos_on_a_terminal_show_a_progress_bar(model_dir, videos, capsys, monkeypatch):
    argv = ["classify", *videos, videos[0], "--labels", ",".join(LABELS), "--model", model_dir]
    _, _, err = run(argv, capsys)
    assert err == ""  # not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    status, out, err = run(argv, capsys)
    assert status == 0 and out.count(videos[0]) == 2
    assert "3/3" in err and "video" in err


def test_a_video_cut_short_is_scored_with_a_one_line_warning(model_dir, tmp_path, capsys):
    full = write_video(
        tmp_path / "full.mp4", moving_texture_frames(60, 48, 64), options={"g": "10"},
        container_options={"movflags": "faststart"},  # the index first, so that the cut file stays readable
    )
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    status, out, err = run(["classify", str(cut), "--labels", ",".join(LABELS), "--model", model_dir], capsys)
    assert status == 0 and str(cut) in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"warning: Video '{cut}' has ") and "readable frames" in lines[0]


def test_decoding_workers_give_the_same_scores_and_still_report_a_broken_video(
    model_dir, videos, tmp_path, capsys, monkeypatch
):
    from torch.utils.data import DataLoader

    options = ["--labels", ",".join(LABELS), "--model", model_dir, "--json", "--batch-size", "2"]
    _, in_process, _ = run(["classify", *videos, *options], capsys)
    workers = []
    original_init = DataLoader.__init__

    def recording_init(self, *args, **kwargs):
        workers.append(kwargs.get("num_workers", 0))
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(DataLoader, "__init__", recording_init)
    status, with_workers, _ = run(["classify", *videos, *options, "--num-workers", "2"], capsys)
    assert status == 0 and json.loads(with_workers) == json.loads(in_process) and workers == [2]

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(np.random.default_rng(0).bytes(4096))
    status, out, err = run(["classify", *videos, str(broken), *options, "--num-workers", "2"], capsys)
    records = json.loads(out)
    assert status == 1 and [record["video"] for record in records] == [*videos, str(broken)]
    assert records[2]["error"].startswith(f"Cannot read video '{broken}': not a readable media file")


def test_an_unreadable_video_in_a_dataloader_worker_stays_a_video_decode_error():
    from torch.utils.data import DataLoader, Dataset

    from xclip.video import VideoDecodeError

    class Unreadable(Dataset):
        def __len__(self):
            return 1

        def __getitem__(self, index):
            raise VideoDecodeError("a.mp4", "not a readable media file")

    with pytest.raises(VideoDecodeError, match="Cannot read video 'a.mp4': not a readable media file"):
        next(iter(DataLoader(Unreadable(), num_workers=1)))
    with pytest.raises(TypeError, match="source, cause"):
        VideoDecodeError(Path("a.mp4"))


def test_classify_shows_the_traceback_behind_a_one_line_error_on_request(model_dir, videos, tmp_path, monkeypatch,
                                                                          capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("id,name\n0,run\n2,walk\n")  # ids must count rows: a ValueError behind the one line
    argv = ["classify", videos[0], "--labels-file", str(labels), "--model", str(model_dir)]
    assert main(argv) == 1 and "error: " in capsys.readouterr().err
    monkeypatch.setenv("XCLIP_TRACEBACK", "1")
    with pytest.raises(CommandError) as raised:
        main(argv)
    assert isinstance(raised.value.__cause__, ValueError)


def test_a_hub_id_that_cannot_be_reached_says_how_to_work_offline(videos, capsys, monkeypatch):
    import transformers
    from huggingface_hub.errors import LocalEntryNotFoundError

    def unreachable(*args, **kwargs):
        try:
            raise LocalEntryNotFoundError("connection error, and not in the local cache")
        except LocalEntryNotFoundError as error:
            raise OSError("We couldn't connect to 'https://huggingface.co' to load the files, and couldn't find them "
                          "in the cached files.\nCheck your internet connection or see ...") from error

    monkeypatch.setattr("xclip.cli._check_model", lambda model: None)  # as online: the Hub id is left to transformers
    monkeypatch.setattr(transformers, "pipeline", unreachable)
    err = one_line_error(["classify", videos[0], "--labels", "a,b", "--model", "microsoft/xclip-base-patch32"], capsys)
    assert err.startswith("error: cannot load model 'microsoft/xclip-base-patch32': We couldn't connect"), err
    assert err.endswith("Without a connection, pass a local folder, or download it once and set HF_HUB_OFFLINE=1."), err
