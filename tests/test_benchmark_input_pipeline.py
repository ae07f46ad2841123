"""The input-pipeline benchmark runs end to end on tiny generated videos (CPU)."""

import json
import pickle

import pytest

from script_loader import load_script
from xclip.processing import XCLIPTrainTransform


def test_quick_benchmark_reports_loader_rate_and_one_core_split(tmp_path):
    output = tmp_path / "pipeline.json"
    report = load_script("benchmark_input_pipeline").main(
        ["--quick", "--workers", "0", "--gop", "4", "--output", str(output)]
    )
    assert json.loads(output.read_text()) == report
    assert report["video"]["gop"] == 4 and report["video"]["megabytes"] > 0
    (result,) = report["results"]
    assert result["clips"] > 0 and result["clips_per_s"] > 0
    assert result["batch_shape"][1:] == [8, 3, 32, 32]
    split = report["one_core"]
    assert split["decode_ms_per_clip"] > 0 and split["augment_ms_per_clip"] > 0
    per_clip_ms = split["decode_ms_per_clip"] + split["augment_ms_per_clip"]
    assert split["clips_per_s_per_core"] == pytest.approx(1e3 / per_clip_ms)


def test_finishing_on_the_device_is_timed_apart_from_the_workers_share(tmp_path):
    script = load_script("benchmark_input_pipeline")
    args = ["--quick", "--workers", "0", "--output", str(tmp_path / "pipeline.json")]
    in_workers, on_device = script.main(args), script.main([*args, "--finish-on-device"])
    assert (in_workers["finish_on_device"], on_device["finish_on_device"]) == (False, True)
    assert on_device["one_core"]["finish_ms_per_clip"] > 0 and on_device["results"][0]["clips"] > 0


def test_prepared_videos_are_timed_and_described(tmp_path):
    report = load_script("benchmark_input_pipeline").main(
        ["--quick", "--workers", "0", "--prepare", "--output", str(tmp_path / "pipeline.json")]
    )
    prepared = report["prepared"]
    assert prepared["short_side"] == 256 and prepared["keyframe_interval"] == 16 and prepared["fast_decode"]
    assert prepared["megabytes"] > 0 and prepared["cpu_s_per_video"] > 0
    assert report["results"][0]["clips"] > 0


@pytest.mark.parametrize("on_device", [False, True])  # on a GPU the evaluation items are finished on the device
def test_evaluation_items_are_timed_with_their_views(tmp_path, on_device):
    flags = ["--finish-on-device"] if on_device else []
    report = load_script("benchmark_input_pipeline").main(
        ["--quick", "--workers", "0", "--views", "2x3", "--output", str(tmp_path / "pipeline.json"), *flags]
    )
    assert report["views"] == "2x3" and report["finish_on_device"] == on_device
    (result,) = report["results"]
    assert result["batch_shape"][1:] == [6, 8, 3, 32, 32]  # 2 clips x 3 crops per video
    assert report["one_core"]["augment_ms_per_clip"] > 0  # the video processor's share


def test_bad_views_are_a_usage_error():
    with pytest.raises(SystemExit):
        load_script("benchmark_input_pipeline").main(["--quick", "--views", "4x2"])


def test_timed_parts_survive_pickling_as_spawned_workers_receive_them():
    # Decoding on a GPU starts the loader workers with `spawn`, which pickles the dataset and its timed transform.
    script = load_script("benchmark_input_pipeline")
    timed = pickle.loads(pickle.dumps(script.Timed(XCLIPTrainTransform(32))))
    assert timed.image_size == 32 and timed.seconds == 0.0
