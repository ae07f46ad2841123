"""`scripts/train.py` (`xclip.training.main`) end to end on CPU: a tiny random X-CLIP on synthetic motion videos."""

import json
import logging
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator

import xclip.training.run as training_run
from xclip import XCLIPModel
from xclip.data import AnnotationError, read_video_list
from xclip.training import ConfigError, build_model, load_config, make_motion_dataset, main
from xclip.training.checkpointing import TrainerState
from xclip.training.engine import StepRecord
from xclip.training.reporting import StepLog

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "configs" / "tiny" / "motion.yaml"

# Each `main` call builds its own Accelerator, as separate launches would.
pytestmark = pytest.mark.usefixtures("fresh_accelerate_state")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """3 training and 2 validation videos per class: enough to exercise every mechanism quickly."""
    root = tmp_path_factory.mktemp("toy")
    make_motion_dataset(root, 3, split="train", seed=0)
    make_motion_dataset(root, 2, split="val", seed=1)
    return root


def data_opts(root: Path, train: str = "train.txt") -> list[str]:
    return [
        "DATA.ROOT", str(root), "DATA.TRAIN_FILE", str(root / train), "DATA.VAL_FILE", str(root / "val.txt"),
        "DATA.LABEL_LIST", str(root / "labels.csv"),
    ]


def run(output: Path, root: Path, *opts: str, flags: tuple[str, ...] = ("--log_with", "none")) -> dict:
    return main(["-cfg", str(TINY_CONFIG), "--output", str(output), *flags, "--opts", *data_opts(root), *opts])


def losses(output: Path) -> dict[int, float]:
    return {step.iteration: step.loss for step in StepLog.read(output)}


@pytest.mark.slow
def test_loss_falls_and_accuracy_far_beats_chance_on_motion(tmp_path):
    root = tmp_path / "toy"
    make_motion_dataset(root, 32, split="train", seed=0)
    make_motion_dataset(root, 8, split="val", seed=1)
    report = run(tmp_path / "run", root, "TRAIN.EPOCHS", "20", "TEST.MULTI_VIEW_AT_END", "False")
    history = report["history"]
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert report["best_single_view"]["top1"] >= 60.0  # chance is 25 %
    assert report["top1"] >= 50.0 and report["num_videos"] == 32


def test_outputs_of_a_run(tmp_path, toy):
    output = tmp_path / "run"
    report = run(output, toy, "TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4", "SAVE_TOTAL_LIMIT", "1",
                 flags=("--log_with", "tensorboard"))
    assert report["num_views"] == 2 and report["num_videos"] == 8  # the final 2-clip test on every val video
    assert {"top1", "top5", "mean_class_accuracy", "per_class_accuracy", "best_single_view"} <= set(report)
    assert json.loads((output / "metrics.json").read_text())["top1"] == report["top1"]
    # Epochs are numbered from 1 everywhere: history, best epoch, per-step log and checkpoint folders agree.
    assert [entry["epoch"] for entry in report["history"]] == [1, 2]
    best = report["best_single_view"]
    assert best["top1"] == max(entry["val_top1"] for entry in report["history"])
    assert best["top1"] == next(entry["val_top1"] for entry in report["history"] if entry["epoch"] == best["epoch"])
    steps = [json.loads(line) for line in (output / "train_steps.jsonl").read_text().splitlines()]
    assert sorted({step["epoch"] for step in steps}) == [1, 2]
    assert all(entry["train_replaced_videos"] == entry["val_unreadable_videos"] == 0 for entry in report["history"])
    for name in ("best_model/config.json", "best_model/model.safetensors", "best_model/README.md",
                 "checkpoints/epoch_2/trainer_state.json", "loss_curve.png", "accuracy.png", "log.txt",
                 "final_confusion.png", "final_per_class.csv", "config.yaml"):
        assert (output / name).is_file(), name
    assert not (output / "checkpoints" / "epoch_1").exists()  # SAVE_TOTAL_LIMIT 1
    assert list((output / "xclip").glob("events.out.tfevents.*"))  # TensorBoard through Accelerate's tracker
    assert len(losses(output)) == 2 * 3  # 12 videos / batch 4 = 3 iterations per epoch


def test_json_video_lists_train_and_evaluate_like_text_lists(tmp_path, toy):
    def as_json(name: str) -> Path:
        entries = [{"filename": path, "label": [int(label)]}
                   for path, label in (line.split() for line in (toy / f"{name}.txt").read_text().splitlines())]
        (tmp_path / f"{name}.json").write_text(json.dumps(entries))
        return tmp_path / f"{name}.json"

    recipe = ("TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    text = run(tmp_path / "text", toy, *recipe)
    from_json = run(tmp_path / "json", toy, "DATA.TRAIN_FILE", str(as_json("train")), "DATA.VAL_FILE",
                    str(as_json("val")), *recipe)
    assert from_json["num_videos"] == text["num_videos"] == 8
    assert losses(tmp_path / "json") == losses(tmp_path / "text")


def test_unreadable_videos_are_replaced_in_training_and_counted_in_evaluation(tmp_path, toy):
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    broken = str(tmp_path / "broken.mp4")
    train_lines = (toy / "train.txt").read_text().splitlines()
    (tmp_path / "train.txt").write_text("\n".join([f"{broken} 0", *train_lines[1:]]) + "\n")
    (tmp_path / "val.txt").write_text((toy / "val.txt").read_text() + f"{broken} 1\n")
    report = run(tmp_path / "run", toy, "DATA.TRAIN_FILE", str(tmp_path / "train.txt"), "DATA.VAL_FILE",
                 str(tmp_path / "val.txt"), "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4")
    assert report["history"][0]["train_replaced_videos"] == 1  # every one of the 12 videos is used once
    assert report["history"][0]["val_unreadable_videos"] == 1
    assert (report["num_videos"], report["num_unreadable"]) == (8, 1)  # evaluated once, or reported


def test_finishing_batches_on_the_device_trains_and_evaluates_like_finishing_them_in_the_workers(
    tmp_path, toy, monkeypatch
):
    """On a GPU the loaders hand over uint8 clips and their colour draws, and the loop finishes each batch on the
    device; forced here on the CPU, a run must give the losses and accuracies of the usual CPU path."""
    recipe = ("TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4", "AUG.COLOR_JITTER", "0.5", "AUG.GRAY_SCALE", "0.5")
    in_workers = run(tmp_path / "workers", toy, *recipe)
    monkeypatch.setattr(training_run, "finishes_on_device", lambda device: True)
    on_device = run(tmp_path / "device", toy, *recipe)
    expected, actual = losses(tmp_path / "workers"), losses(tmp_path / "device")
    assert sorted(actual) == sorted(expected)
    assert all(abs(actual[iteration] - expected[iteration]) <= 1e-4 for iteration in actual), (actual, expected)
    assert (on_device["top1"], on_device["num_views"]) == (in_workers["top1"], in_workers["num_views"])
    assert on_device["num_views"] > 1  # the final multi-view test ran on finished uint8 views too


def test_resumed_run_repeats_the_uninterrupted_losses_exactly(tmp_path, toy):
    recipe = ("TRAIN.EPOCHS", "3", "TRAIN.BATCH_SIZE", "4", "TRAIN.ACCUMULATION_STEPS", "2", "AUG.MIXUP", "0.8",
              "SAVE_TOTAL_LIMIT", "0", "TEST.MULTI_VIEW_AT_END", "False", "MODEL.DROP_PATH_RATE", "0.1")
    uninterrupted = run(tmp_path / "full", toy, *recipe)
    # Resume from the state after epoch 1 in a new folder: epochs 2 and 3 must repeat exactly.
    checkpoint = tmp_path / "full" / "checkpoints" / "epoch_1"
    resumed = run(tmp_path / "resumed", toy, *recipe, flags=("--log_with", "none", "--resume", str(checkpoint)))
    expected, actual = losses(tmp_path / "full"), losses(tmp_path / "resumed")
    assert sorted(actual) == [iteration for iteration in sorted(expected) if iteration >= 3]
    assert all(abs(actual[iteration] - expected[iteration]) <= 1e-6 for iteration in actual), (actual, expected)
    assert resumed["top1"] == uninterrupted["top1"]
    # Every epoch's record but its speed: epoch 1 restored from the checkpoint, epochs 2 and 3 trained again.
    timing = ("train_clips_per_second", "train_data_wait_fraction")
    assert [record.keys() for record in resumed["history"]] == [record.keys() for record in uninterrupted["history"]]
    for again, first in zip(resumed["history"], uninterrupted["history"], strict=True):
        assert {key: value for key, value in again.items() if key not in timing} == pytest.approx(
            {key: value for key, value in first.items() if key not in timing}, abs=1e-6
        )

    # TRAIN.AUTO_RESUME in the same folder continues from its latest checkpoint (here: nothing left to train).
    log_before = (tmp_path / "full" / "log.txt").read_text()
    again = run(tmp_path / "full", toy, *recipe, "TRAIN.AUTO_RESUME", "True")
    assert len(again["history"]) == 3 and losses(tmp_path / "full") == expected
    # A deterministic rerun from scratch would give the same losses and history: the log (log.txt is appended to)
    # must show that this run resumed after epoch 3 and trained no epoch again, and the step log no iteration twice.
    log = (tmp_path / "full" / "log.txt").read_text()[len(log_before):]
    assert f"Resumed from {checkpoint.parent / 'epoch_3'} after epoch 3" in log, log
    assert re.findall(r"Epoch \d+/3:", log) == []
    iterations = [step.iteration for step in StepLog.read(tmp_path / "full")]
    assert iterations == sorted(expected)


def test_few_shot_list_is_drawn_written_and_trained_on(tmp_path, toy):
    output = tmp_path / "few_shot"
    report = run(output, toy, "DATA.FEW_SHOT_K", "2", "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4",
                 "SEED", "5", "TEST.MULTI_VIEW_AT_END", "False")
    records = read_video_list(output / "train_2shot_seed5.txt", toy, 4)
    assert sorted(record.label for record in records) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert len(losses(output)) == 2  # 8 videos / batch 4
    assert report["num_views"] == 1
    with pytest.raises(ValueError, match="fewer than k=4 videos"):
        run(tmp_path / "too_few", toy, "DATA.FEW_SHOT_K", "4")


def record_video_scores(monkeypatch) -> list[torch.Tensor]:
    """The per-video class scores of every evaluation `main` reports on, in order: unlike accuracies over a few
    videos (at chance for a trained and an untrained tiny model alike), they identify the weights evaluated."""
    recorded = []
    report = training_run.evaluation_report

    def recording_report(predictions, *args, **kwargs):
        recorded.append(predictions.scores[predictions.valid].clone())
        return report(predictions, *args, **kwargs)

    monkeypatch.setattr(training_run, "evaluation_report", recording_report)
    return recorded


def test_evaluation_only_of_a_trained_checkpoint(tmp_path, toy, monkeypatch):
    scores = record_video_scores(monkeypatch)
    trained = tmp_path / "trained"
    run(trained, toy, "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    trained_scores = scores[-1]  # the final single-view test of the trained model
    quiet_test = ("--log_with", "none", "--only_test")
    best_model = str(trained / "best_model")
    from_folder = run(tmp_path / "eval_folder", toy, flags=(*quiet_test, "--pretrained", best_model))
    folder_scores = scores[-1]
    from_checkpoint = run(tmp_path / "eval_ckpt", toy, flags=(*quiet_test, "--resume", str(trained)))
    checkpoint_scores = scores[-1]
    assert from_folder["top1"] == from_checkpoint["top1"] == json.loads((trained / "metrics.json").read_text())["top1"]
    # Both evaluate the trained weights: the same scores for every video as the trained run's own test ...
    torch.testing.assert_close(folder_scores, trained_scores)
    torch.testing.assert_close(checkpoint_scores, trained_scores)
    # ... and not those of the model training started from (the same seed's random initialisation).
    run(tmp_path / "eval_untrained", toy, flags=quiet_test)
    assert (scores[-1] - trained_scores).abs().max() > 1e-3
    multi_view = run(tmp_path / "eval_4x3", toy, "TEST.NUM_CLIP", "4", "TEST.NUM_CROP", "3",
                     flags=(*quiet_test, "--pretrained", best_model))
    assert multi_view["num_views"] == 12 and multi_view["num_videos"] == 8


# The resized embedding must train and be exported both beside the frozen text tower and through LoRA's merge.
@pytest.mark.parametrize("lora", ["False", "True"], ids=["fix_text", "lora"])
def test_a_4_frame_xclip_folder_fine_tunes_at_8_frames_with_resize_frames(tmp_path, toy, lora):
    source = tmp_path / "four_frames"
    torch.manual_seed(0)
    build_model(load_config(TINY_CONFIG, opts=["DATA.NUM_FRAMES", "4"])).save_pretrained(source)
    output = tmp_path / "run"
    run(output, toy, "MODEL.RESIZE_FRAMES", "True", "MODEL.LORA.ENABLE", lora, "TRAIN.EPOCHS", "1",
        "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False",
        flags=("--log_with", "none", "--pretrained", str(source)))
    assert "was trained with 4 frames; its temporal position embedding is interpolated to 8 frames" in (
        output / "log.txt").read_text()
    model, loading = XCLIPModel.from_pretrained(output / "best_model", output_loading_info=True)
    assert {problem: keys for problem, keys in loading.items() if keys} == {}  # missing, unexpected, mismatched
    assert model.config.vision_config.num_frames == 8 and model.mit.position_embedding.shape[1] == 8


def test_zero_shot_over_splits_reports_mean_and_std(tmp_path, toy):
    splits = f"[{toy / 'val.txt'}, {toy / 'train.txt'}]"
    report = run(tmp_path / "zero_shot", toy, "TEST.ZERO_SHOT.SPLIT_FILES", splits,
                 flags=("--log_with", "none", "--only_test"))
    assert set(report["splits"]) == {"split1", "split2"}
    assert [report["splits"][name]["num_videos"] for name in ("split1", "split2")] == [8, 12]
    values = [report["splits"][name]["top1"] for name in ("split1", "split2")]
    assert report["top1_mean"] == pytest.approx(sum(values) / 2) == report["top1"]
    assert report["top1_std"] == pytest.approx(abs(values[0] - values[1]) / 2)


def test_zero_shot_on_novel_classes_uses_only_each_subsets_texts(tmp_path, toy):
    base = tmp_path / "base_labels.csv"
    base.write_text("id,name\n0,staying still\n")  # "seen in pre-training": the other 3 classes are novel
    report = run(tmp_path / "novel", toy, "TEST.ZERO_SHOT.NOVEL_CLASSES_OF", str(base), "TEST.ZERO_SHOT.NUM_SUBSETS",
                 "2", "TEST.ZERO_SHOT.SUBSET_SIZE", "2", flags=("--log_with", "none", "--only_test"))
    assert report["num_splits"] == 2
    for split in report["splits"].values():
        assert split["num_classes"] == 2 and "staying still" not in split["per_class_accuracy"]
        assert split["num_videos"] == 4  # 2 validation videos for each of the subset's 2 classes
    assert {"top1_mean", "top1_std", "top5_mean", "top5_std"} <= set(report)


def test_clear_errors_for_bad_configs_and_label_files(tmp_path, toy):
    with pytest.raises(ConfigError, match="unknown config key 'TRAIN.EPOCH'. Did you mean 'TRAIN.EPOCHS'"):
        run(tmp_path / "a", toy, "TRAIN.EPOCH", "1")
    with pytest.raises(ConfigError, match="has 4 classes but DATA.NUM_CLASSES is 5"):
        run(tmp_path / "b", toy, "DATA.NUM_CLASSES", "5")
    bad_labels = tmp_path / "labels.csv"
    bad_labels.write_text("id,name\n0,a\n1,a\n")
    with pytest.raises(AnnotationError, match="labels.csv.*line 3.*already appears"):
        run(tmp_path / "c", toy, "DATA.LABEL_LIST", str(bad_labels), "DATA.NUM_CLASSES", "2")
    with pytest.raises(AnnotationError, match="label 3 is outside \\[0, 3\\)"):
        three = tmp_path / "three.csv"
        three.write_text("id,name\n0,a\n1,b\n2,c\n")
        run(tmp_path / "d", toy, "DATA.LABEL_LIST", str(three), "DATA.NUM_CLASSES", "3")
    with pytest.raises(ConfigError, match="--output"):
        main(["-cfg", str(TINY_CONFIG)])
    (tmp_path / "video.mp4").write_text("")
    with pytest.raises(ConfigError, match=rf"The output folder \(--output\) '{tmp_path}/video.mp4' is a file, not a"):
        run(tmp_path / "video.mp4", toy)
    with pytest.raises(FileNotFoundError, match="--resume"):
        run(tmp_path / "e", toy, flags=("--log_with", "none", "--resume", str(tmp_path / "nothing")))


def run_process_group(command: list[str], environment: dict[str, str], timeout: float = 300) -> tuple[int, str]:
    """Runs `command` in its own process group, so that a hang kills torchrun's workers too."""
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return -1, f"timed out after {timeout} s\n{output}"
    return process.returncode, output


@pytest.mark.slow
def test_two_processes_give_the_losses_of_one_with_the_same_global_batch(tmp_path, toy):
    """DDP over gloo on CPU: 2 processes x 2 videos per step = 1 process x 4 videos per step; and an odd number of
    validation videos, which Accelerate pads to give both processes a batch, is still counted once per video.

    Launched with torchrun and `--cpu`, whose environment Accelerate reads (`accelerate launch --cpu` starts one
    process unless MPI is set up)."""
    odd_val = tmp_path / "val7.txt"
    odd_val.write_text("\n".join((toy / "val.txt").read_text().splitlines()[:7]) + "\n")
    common = ["-cfg", str(TINY_CONFIG), "--cpu", "--log_with", "none", "--opts", *data_opts(toy), "TRAIN.EPOCHS", "1",
              "TEST.MULTI_VIEW_AT_END", "False", "MODEL.FIX_TEXT", "False", "DATA.VAL_FILE", str(odd_val)]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    for command, output, batch in (
        ([*launch, str(REPO / "scripts" / "train.py")], tmp_path / "two", "2"),
        ([sys.executable, str(REPO / "scripts" / "train.py")], tmp_path / "one", "4"),
    ):
        returncode, log = run_process_group([*command, "--output", str(output), *common, "TRAIN.BATCH_SIZE", batch],
                                            environment)
        assert returncode == 0, log[-3000:]
    for name, split in (("one", "4 per process x 1 accumulation step(s) x 1 process(es)"),
                        ("two", "2 per process x 1 accumulation step(s) x 2 process(es)")):
        assert f"4 videos per optimizer step: {split}" in (tmp_path / name / "log.txt").read_text()
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert sorted(one) == sorted(two) == [0, 1, 2]
    assert all(abs(one[step] - two[step]) < 1e-5 for step in one), (one, two)
    one_report, two_report = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in ("one", "two"))
    assert one_report["num_videos"] == two_report["num_videos"] == 7  # none dropped, none counted twice
    assert one_report["class_counts"] == two_report["class_counts"]


def test_other_processes_keep_only_their_own_videos_warnings(tmp_path, caplog):
    """A warning about a list or a config is the same in every process: with 8 GPUs it was logged 8 times."""
    import types

    names = ("xclip", *training_run._PER_PROCESS_LOGGERS)
    levels = {name: logging.getLogger(name).level for name in names}
    other_process = types.SimpleNamespace(is_main_process=False, is_local_main_process=False)
    try:
        assert training_run.setup_logging(other_process, tmp_path) is None
        logging.getLogger("xclip.data.video_list").warning("listed twice")
        logging.getLogger("xclip.data.dataset").warning("unreadable video")
        logging.getLogger("xclip.video.decoding").warning("damaged data")
        logging.getLogger("xclip.training.run").error("an error")
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
    assert [record.getMessage() for record in caplog.records] == ["unreadable video", "damaged data", "an error"]


def test_an_earlier_run_in_the_output_folder_is_refused_unless_resumed_or_overwritten(tmp_path, toy):
    output = tmp_path / "run"
    run(output, toy, "TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file() and path.name != "log.txt"}

    # A new run with another seed would replace the best model and leave epoch_2 beside its own epoch_1.
    with pytest.raises(ConfigError, match=rf"{output} already holds a training run \(checkpoints, best_model.*"
                                          r"--resume .*--overwrite_output"):
        run(output, toy, "TRAIN.EPOCHS", "1", "SEED", "7")
    # A run refused for bad input leaves the earlier config.yaml too (it is written once the inputs are checked).
    (toy / "bad.txt").write_text("train/00_000.mp4 9\n")
    with pytest.raises(ValueError, match="bad.txt"):
        run(tmp_path / "run", toy, "SEED", "7", "OVERWRITE_OUTPUT", "True", "DATA.TRAIN_FILE", str(toy / "bad.txt"))
    assert {path: path.read_bytes() for path in before} == before

    run(output, toy, "TRAIN.EPOCHS", "1", "SEED", "7", "TEST.MULTI_VIEW_AT_END", "False",
        flags=("--log_with", "none", "--overwrite_output"))
    assert sorted(path.name for path in (output / "checkpoints").iterdir()) == ["epoch_1"]  # nothing left to mix
    assert "SEED: 7" in (output / "config.yaml").read_text()


def test_a_run_is_neither_mixed_with_another_nor_overwritten_by_an_evaluation(tmp_path, toy, caplog):
    output = tmp_path / "run"
    run(output, toy, "TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file() and path.name != "log.txt"}
    other = tmp_path / "other"
    run(other, toy, "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "SEED", "7", "TEST.MULTI_VIEW_AT_END", "False")

    # --only_test would replace the run's metrics.json and config.yaml.
    with pytest.raises(ConfigError, match=rf"{output} holds a training run .* an evaluation would replace. Write the "
                                          rf"evaluation elsewhere, e.g. --output {output / 'test'}"):
        run(output, toy, flags=("--log_with", "none", "--only_test", "--resume", str(output)))
    # Replacing the run would delete the model this run loads (to evaluate it or to train from it), or the
    # checkpoint an evaluation reads.
    for flags in (("--only_test",), ()):
        with pytest.raises(ConfigError, match=rf"The model this run loads, {output / 'best_model'}, is in "
                                              rf"{output / 'best_model'}, which --overwrite_output would delete"):
            run(output, toy, flags=("--log_with", "none", "--overwrite_output", "--pretrained",
                                    str(output / "best_model"), *flags))
    with pytest.raises(ConfigError, match=rf"The model this run loads, {output}, is in {output / 'checkpoints'}"):
        run(output, toy, flags=("--log_with", "none", "--overwrite_output", "--only_test", "--resume", str(output)))
    # Another run's checkpoint, or an earlier epoch of this run, would leave epoch_2 beside the new checkpoints.
    for checkpoint in (other / "checkpoints" / "epoch_1", output / "checkpoints" / "epoch_1"):
        with pytest.raises(ConfigError, match=rf"--resume {checkpoint}: {output} holds a training run .* whose latest "
                                              rf"checkpoint is {output / 'checkpoints' / 'epoch_2'}, which this "
                                              "checkpoint does not continue"):
            run(output, toy, "TRAIN.EPOCHS", "3", flags=("--log_with", "none", "--resume", str(checkpoint)))
    assert {path: path.read_bytes() for path in before} == before

    # Continued in a new folder, the run gets its own best_model, which its metrics.json describes.
    branch = tmp_path / "branch"
    with caplog.at_level(logging.INFO, logger="xclip"):
        report = run(branch, toy, "TRAIN.EPOCHS", "3", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False",
                     flags=("--log_with", "none", "--resume", str(output / "checkpoints" / "epoch_2")))
    assert (branch / "best_model" / "config.json").is_file() and report["best_single_view"]["epoch"] == 3
    best_epoch = TrainerState.read(output / "checkpoints" / "epoch_2").best_epoch
    assert (f"this folder's best_model comes from this run's evaluations (the checkpoint's best so far: epoch "
            f"{best_epoch}; the earlier run's is in {output / 'best_model'})") in caplog.text
    # A resumed run stopped before its first checkpoint leaves steps but no checkpoint: the same command resumes it.
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(output / "train_steps.jsonl", again / "train_steps.jsonl")
    run(again, toy, "TRAIN.EPOCHS", "3", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False",
        flags=("--log_with", "none", "--resume", str(output / "checkpoints" / "epoch_2")))
    assert sorted(path.name for path in (again / "checkpoints").iterdir()) == ["epoch_3"]
    # With --overwrite_output, an evaluation replaces the run it is written over.
    run(branch, toy, flags=("--log_with", "none", "--only_test", "--overwrite_output", "--pretrained",
                            str(output / "best_model")))
    assert not (branch / "checkpoints").exists() and "history" not in json.loads((branch / "metrics.json").read_text())

    # Evaluating a checkpoint of another model is refused before anything is written.
    with pytest.raises(ValueError, match=rf"Cannot resume from {output / 'checkpoints' / 'epoch_2'}: its .* has shape"):
        run(tmp_path / "eval", toy, "DATA.NUM_FRAMES", "4",
            flags=("--log_with", "none", "--only_test", "--resume", str(output)))
    assert not (tmp_path / "eval" / "config.yaml").exists()

    # A run killed while saving its first checkpoint leaves only the hidden partial save: nothing to keep.
    killed = tmp_path / "killed"
    (killed / "checkpoints" / ".epoch_1.partial").mkdir(parents=True)
    run(killed, toy, "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    assert (killed / "checkpoints" / "epoch_1").is_dir()


def test_an_interrupted_run_says_how_to_continue(tmp_path, toy, monkeypatch, caplog):
    import xclip.training.run as training_run

    output = tmp_path / "run"
    run(output, toy, "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training_run, "run_epoch", interrupted)
    with caplog.at_level(logging.WARNING, logger="xclip"), pytest.raises(KeyboardInterrupt):
        run(output, toy, "TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4",
            flags=("--log_with", "none", "--resume", str(output)))
    assert f"Interrupted. Continue from {output / 'checkpoints' / 'epoch_1'} with --resume {output}." in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xclip"), pytest.raises(KeyboardInterrupt):
        run(tmp_path / "new", toy, "TRAIN.BATCH_SIZE", "4")
    assert "Interrupted. No checkpoint was saved: run the same command again to start over." in caplog.text

    def interrupted_after_a_step(accelerator, config, *args):
        with open(Path(config.OUTPUT) / "train_steps.jsonl", "a") as step_log:
            step_log.write('{"iteration": 0}\n')  # a logged step makes the folder a run that a rerun would refuse
        raise KeyboardInterrupt

    monkeypatch.setattr(training_run, "run_epoch", interrupted_after_a_step)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xclip"), pytest.raises(KeyboardInterrupt):
        run(tmp_path / "stepped", toy, "TRAIN.BATCH_SIZE", "4")
    assert "No checkpoint was saved: start over with the same command and --overwrite_output." in caplog.text


def test_resuming_with_other_settings_names_them_and_keeps_the_step_log_whole(tmp_path, toy, caplog):
    output = tmp_path / "run"
    run(output, toy, "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "2", "TEST.MULTI_VIEW_AT_END", "False")
    with caplog.at_level(logging.WARNING, logger="xclip"):
        run(output, toy, "TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False",
            flags=("--log_with", "none", "--resume", str(output)))
    assert (f"Resuming with other settings than the run of {output / 'checkpoints' / 'epoch_1'}: TRAIN.EPOCHS 1 -> 2; "
            "TRAIN.BATCH_SIZE 2 -> 4. From epoch 2 on") in caplog.text
    # 12 videos: 6 iterations of batch 2, then 3 of batch 4, numbered on from the first epoch's.
    steps = StepLog.read(output)
    expected = [(1, i) for i in range(6)] + [(2, i) for i in range(6, 9)]
    assert [(step.epoch, step.iteration) for step in steps] == expected


def test_broken_weights_too_few_videos_and_an_unreadable_validation_set_are_clear_errors(tmp_path, toy):
    output = tmp_path / "run"
    run(output, toy, "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")

    def truncate(weights: Path) -> None:
        weights.write_bytes(weights.read_bytes()[:1000])

    broken_model = tmp_path / "broken_model"
    shutil.copytree(output / "best_model", broken_model)
    truncate(broken_model / "model.safetensors")
    with pytest.raises(OSError, match=rf"MODEL.PRETRAINED {broken_model}: .*model.safetensors is corrupt or trunc"):
        run(tmp_path / "from_broken", toy, "MODEL.PRETRAINED", str(broken_model))
    truncate(output / "checkpoints" / "epoch_1" / "model.safetensors")
    with pytest.raises(OSError, match=r"epoch_1/model.safetensors is corrupt or truncated"):
        run(tmp_path / "resumed", toy, "MODEL.RESUME", str(output), "TRAIN.EPOCHS", "2")

    (toy / "one.txt").write_text((toy / "train.txt").read_text().splitlines()[0] + "\n")
    with pytest.raises(ConfigError, match=r"one.txt\) has 1 video\(s\): no full batch of TRAIN.BATCH_SIZE 4 on each"):
        run(tmp_path / "too_few", toy, "TRAIN.BATCH_SIZE", "4", "DATA.TRAIN_FILE", str(toy / "one.txt"))
    with pytest.raises(ConfigError, match=r"gives 3 batch\(es\) per epoch .* fewer than TRAIN.ACCUMULATION_STEPS 4: "
                                          "no optimizer step would run"):
        run(tmp_path / "no_step", toy, "TRAIN.BATCH_SIZE", "4", "TRAIN.ACCUMULATION_STEPS", "4")

    (toy / "broken.mp4").write_bytes(b"not a video")
    (toy / "unreadable_val.txt").write_text("broken.mp4 0\nbroken.mp4 1\n")
    with pytest.raises(ValueError, match=r"none of the 2 videos of DATA.VAL_FILE .*unreadable_val.txt could be read"):
        run(tmp_path / "no_val", toy, "TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4",
            "DATA.VAL_FILE", str(toy / "unreadable_val.txt"))


def test_resuming_with_another_geometry_or_lora_setting_names_the_difference(tmp_path, toy):
    output = tmp_path / "lora"
    recipe = ("TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False", "MODEL.LORA.ENABLE", "True")
    run(output, toy, "TRAIN.EPOCHS", "1", *recipe)
    report = run(output, toy, "TRAIN.EPOCHS", "2", *recipe, "MODEL.RESUME", str(output))  # the same setting resumes
    assert [entry["epoch"] for entry in report["history"]] == [1, 2]
    with pytest.raises(ValueError, match=r"Cannot resume from .*epoch_2: its model has other weights than this run's "
                                         r"\(\d+ unknown, \d+ missing; .*MODEL.LORA"):
        run(tmp_path / "plain", toy, "TRAIN.EPOCHS", "3", "TRAIN.BATCH_SIZE", "4", "MODEL.RESUME", str(output))
    with pytest.raises(ValueError, match=r"its base_model.model.mit.position_embedding has shape \[1, 8, 32\], this "
                                         r"run's model \[1, 4, 32\]. Resume with the checkpoint run's DATA.NUM_FRAMES"):
        run(tmp_path / "frames", toy, "TRAIN.EPOCHS", "3", *recipe, "DATA.NUM_FRAMES", "4",
            "MODEL.RESUME", str(output))


def test_a_config_file_in_the_output_folder_is_refused_before_anything_is_written(tmp_path, toy, monkeypatch):
    """The run writes its expanded config to OUTPUT/config.yaml: a hand-written config there (with comments and BASE
    includes) must not be replaced by it, whichever path names it."""
    output = tmp_path / "run"
    output.mkdir()
    shutil.copy(TINY_CONFIG, output / "tiny.yaml")
    hand_written = "# my experiment: the tiny recipe, shorter\nBASE: [tiny.yaml]\nTRAIN:\n  EPOCHS: 1\n"
    (output / "config.yaml").write_text(hand_written)
    (tmp_path / "alias").symlink_to(output, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for config_file, output_arg in ((output / "config.yaml", output), ("./run/config.yaml", "run"),
                                    (tmp_path / "alias" / "config.yaml", "./run/")):
        target = re.escape(str(Path(output_arg) / "config.yaml"))
        with pytest.raises(ConfigError, match=rf"-cfg {re.escape(str(Path(config_file)))} is {target}, where this "
                                              r"run writes its expanded config.* another --output"):
            main(["-cfg", str(config_file), "--output", str(output_arg), "--log_with", "none", "--opts",
                  *data_opts(toy), "TRAIN.BATCH_SIZE", "4"])
    assert (output / "config.yaml").read_text() == hand_written
    assert sorted(path.name for path in output.iterdir()) == ["config.yaml", "tiny.yaml"]  # not even log.txt
    # Renamed, the same file is an ordinary config whose run writes OUTPUT/config.yaml beside it.
    (output / "config.yaml").rename(output / "mine.yaml")
    main(["-cfg", str(output / "mine.yaml"), "--output", str(output), "--log_with", "none", "--opts", *data_opts(toy),
          "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False"])
    assert (output / "mine.yaml").read_text() == hand_written and "EPOCHS: 1" in (output / "config.yaml").read_text()


def test_a_runs_own_config_yaml_resumes_it(tmp_path, toy):
    """What a run wrote to OUTPUT/config.yaml is a plain dump: given back with -cfg, it is rewritten, not refused."""
    output = tmp_path / "run"
    recipe = ("TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    run(output, toy, "TRAIN.EPOCHS", "1", *recipe)
    report = main(["-cfg", str(output / "config.yaml"), "--output", str(output), "--resume", str(output),
                   "--log_with", "none", "--opts", "TRAIN.EPOCHS", "2"])
    assert [entry["epoch"] for entry in report["history"]] == [1, 2]
    assert "EPOCHS: 2" in (output / "config.yaml").read_text()


def test_a_run_that_failed_before_its_first_step_is_simply_run_again(tmp_path, toy):
    """A run stopped by unreadable videos leaves an empty train_steps.jsonl and no checkpoint: nothing to keep, so
    neither a retry nor a retry with --resume may be refused for it."""
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    labels = [line.split()[1] for line in (toy / "train.txt").read_text().splitlines()]
    (tmp_path / "broken.txt").write_text("".join(f"{tmp_path / 'broken.mp4'} {label}\n" for label in labels))
    recipe = ("TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    for retry_flags in ((), ("--resume", "{output}")):
        output = tmp_path / f"run{len(retry_flags)}"
        with pytest.raises(ValueError, match=r"Found no readable video among \d+ consecutive videos"):
            run(output, toy, *recipe, "DATA.TRAIN_FILE", str(tmp_path / "broken.txt"))
        assert (output / "train_steps.jsonl").read_text() == "" and not (output / "checkpoints").exists()
        flags = ("--log_with", "none", *(flag.format(output=output) for flag in retry_flags))
        report = run(output, toy, *recipe, flags=flags)
        assert [entry["epoch"] for entry in report["history"]] == [1]
        assert len(losses(output)) == 3  # 12 videos / batch 4
    # The retry's steps are a run: a new run there is refused again, and nothing of it was deleted.
    with pytest.raises(ConfigError, match=r"already holds a training run \(checkpoints, best_model, metrics.json, "
                                          r"train_steps.jsonl\)"):
        run(output, toy, *recipe)
    assert len(losses(output)) == 3


def test_an_xclip_folder_whose_weights_do_not_match_its_config_is_a_one_line_error(tmp_path, toy, capsys):
    from xclip.cli import main as xclip

    folder = tmp_path / "m_wronggeom"
    build_model(load_config(TINY_CONFIG)).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config["vision_config"]["hidden_size"] *= 2
    (folder / "config.json").write_text(json.dumps(config))
    status = xclip(["train", "-cfg", str(TINY_CONFIG), "--output", str(tmp_path / "run"), "--pretrained", str(folder),
                    "--log_with", "none", "--opts", *data_opts(toy)])
    error = capsys.readouterr().err
    assert status == 1 and "Traceback" not in error and "MISMATCH" not in error, error
    assert re.fullmatch(rf"error: MODEL.PRETRAINED {folder}: its weights do not match its config.json: \S+ has shape "
                        r"\[\d+(, \d+)*\] in model.safetensors but \[\d+(, \d+)*\] by config.json. .*",
                        error.strip().splitlines()[-1]), error


def test_step_log_is_strict_json_with_a_diverged_step(tmp_path):
    step_log = StepLog(Accelerator(cpu=True), tmp_path, print_freq=100)
    step_log.write(StepRecord(epoch=1, iteration=0, loss=float("nan"), lr=1e-3))
    step_log.write(StepRecord(epoch=1, iteration=1, loss=float("inf"), lr=1e-3))
    step_log.close()

    def refuse(token: str) -> None:
        raise ValueError(f"{token} is not JSON")

    lines = (tmp_path / "train_steps.jsonl").read_text().splitlines()
    assert [json.loads(line, parse_constant=refuse)["loss"] for line in lines] == [None, None]
    assert all(math.isnan(step.loss) for step in StepLog.read(tmp_path))


def test_trackers_get_every_print_freq_th_step_and_the_file_every_step(tmp_path, monkeypatch):
    logged = []
    monkeypatch.setattr(Accelerator, "log", lambda self, values, step=None, log_kwargs=None: logged.append(step))
    step_log = StepLog(Accelerator(cpu=True), tmp_path, print_freq=3)
    for iteration in range(8):
        step_log.write(StepRecord(epoch=1, iteration=iteration, loss=1.0, lr=1e-3))
    step_log.close()
    assert logged == [0, 3, 6]
    assert [step.iteration for step in StepLog.read(tmp_path)] == list(range(8))


def test_trackers_get_steps_that_never_decrease(tmp_path, toy, monkeypatch):
    """Per-iteration and per-epoch metrics share one step count (wandb drops a metric logged at an earlier step)."""
    logged = []
    monkeypatch.setattr(Accelerator, "log", lambda self, values, step=None, log_kwargs=None:
                        logged.append((step, set(values))))
    run(tmp_path / "run", toy, "TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4", "PRINT_FREQ", "1",
        "TEST.MULTI_VIEW_AT_END", "False")
    steps = [step for step, _ in logged]
    assert steps == sorted(steps) and None not in steps
    # 12 videos in batches of 4: 3 iterations per epoch, each epoch's metrics at its last one
    assert [step for step, keys in logged if "epoch/val_top1" in keys] == [2, 5]


def test_a_step_log_cut_short_or_from_an_older_version_is_read(tmp_path, caplog):
    log = tmp_path / "train_steps.jsonl"
    lines = [json.dumps({"epoch": 0, "iteration": i, "loss": 1.0, "lr": 0.1}) for i in range(3)]
    log.write_text("\n".join(lines) + '\n{"epoch": 1, "itera')  # epochs from 0 (before 29a2172); killed mid-line
    with caplog.at_level(logging.WARNING, logger="xclip"):
        steps = StepLog.read(tmp_path)
    assert [(step.epoch, step.iteration) for step in steps] == [(1, 0), (1, 1), (1, 2)]
    assert "its last line is cut short" in caplog.text
    # resumed after its first epoch: all three lines are that epoch's, and the new ones follow them
    step_log = StepLog(Accelerator(cpu=True), tmp_path, print_freq=100, resumed_epochs=1)
    step_log.write(StepRecord(epoch=2, iteration=3, loss=0.5, lr=0.1))
    step_log.close()
    assert [(step.epoch, step.iteration) for step in StepLog.read(tmp_path)] == [(1, 0), (1, 1), (1, 2), (2, 3)]

    log.write_text(lines[0] + "\nnot json\n" + lines[1] + "\n")
    with pytest.raises(ValueError, match=rf"{log} line 2 is not a step record"):
        StepLog.read(tmp_path)
