"""`make demo` (scripts/demo.py) and its parts: the motion videos, the task's sentences, the report, the CLI errors."""

import json

import numpy as np
import pytest
from PIL import Image

from xclip.demo import AccuracyBar, DemoSizes, StageTimer, accuracy_bars_png, default_task, generate_demo_data
from xclip.video import ShapeMotion, ShapeStyle, probe, render_moving_shape
from script_loader import load_script

SMOKE_SIZES = DemoSizes(train=4, test=2, few_shot_pool=4)


def shape_pixels(frame: np.ndarray, noise: int) -> np.ndarray:
    """`[N, 2]` (row, column) of the pixels brighter than the background noise."""
    return np.argwhere(frame.max(axis=-1) >= noise)


# The moving shapes ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("velocity", [(0.0, -2.0), (3.0, 0.0), (-2.0, 2.0)])
def test_the_shape_moves_by_its_velocity_every_frame(velocity):
    style = ShapeStyle(noise=40)
    frames = render_moving_shape(ShapeMotion(velocity=velocity), np.random.default_rng(0), num_frames=6, style=style)
    centres = np.array([shape_pixels(frame, 40).mean(axis=0) for frame in frames])
    np.testing.assert_allclose(np.diff(centres, axis=0), np.tile(velocity, (5, 1)), atol=0.75)


@pytest.mark.parametrize("growth", [1.0, -1.0])
def test_growing_and_shrinking_change_the_area_monotonically(growth):
    frames = render_moving_shape(ShapeMotion(growth=growth), np.random.default_rng(1), num_frames=6)
    areas = np.array([len(shape_pixels(frame, 40)) for frame in frames])
    assert np.all(np.sign(np.diff(areas)) == np.sign(growth)), areas


def test_fade_in_brightens_the_shape_over_the_clip():
    frames = render_moving_shape(ShapeMotion(), np.random.default_rng(2), num_frames=5, style=ShapeStyle(fade_in=0.5))
    brightest = frames.reshape(5, -1).max(axis=1).astype(int)
    assert np.all(np.diff(brightest) > 0)
    assert brightest[0] == pytest.approx(brightest[-1] * 0.5, abs=2)


def test_a_wrapped_shape_leaves_one_side_and_comes_back_on_the_other():
    frames = render_moving_shape(ShapeMotion(velocity=(0.0, 4.0)), np.random.default_rng(3), num_frames=16,
                                 style=ShapeStyle(wrap=True))
    columns = [set(shape_pixels(frame, 40)[:, 1]) for frame in frames]
    assert any(0 in seen and 31 in seen for seen in columns)  # split across the border on some frame


def test_the_same_generator_state_draws_the_same_clip():
    clip = render_moving_shape(ShapeMotion(velocity=(1.0, 1.0)), np.random.default_rng(7))
    np.testing.assert_array_equal(clip, render_moving_shape(ShapeMotion(velocity=(1.0, 1.0)), np.random.default_rng(7)))
    assert clip.shape == (8, 32, 32, 3) and clip.dtype == np.uint8


@pytest.mark.parametrize(
    "style, message",
    [
        (dict(shapes=("triangle",)), "shapes must be a non-empty subset"),
        (dict(radius=(5.0, 3.0)), "radius must be a range"),
        (dict(colour=(0, 300)), "colour must be a range"),
        (dict(fade_in=1.0), "fade_in must be in"),
    ],
)
def test_a_bad_style_is_refused_with_the_field_named(style, message):
    with pytest.raises(ValueError, match=message):
        ShapeStyle(**style)


def test_a_path_that_cannot_stay_inside_the_frame_is_refused():
    with pytest.raises(ValueError, match="cannot stay inside a 32x32 frame"):
        render_moving_shape(ShapeMotion(velocity=(0.0, 5.0)), np.random.default_rng(0), num_frames=8)


# The task and its videos ---------------------------------------------------------------------------------------------


def test_held_out_sentences_are_new_but_made_of_trained_words():
    task = default_task()
    seen = {motion.text for motion in task.seen}
    seen_words = {word for text in seen for word in text.split()}
    for motion in task.held_out:
        assert motion.text not in seen
        assert set(motion.text.split()) <= seen_words
    assert not {motion.text for motion in task.few_shot} & seen
    assert len({motion.motion for motion in (*task.seen, *task.held_out, *task.few_shot)}) == 12  # all distinct


def test_demo_data_is_written_as_the_training_script_reads_it_and_is_reproducible(tmp_path):
    task = default_task()
    data = generate_demo_data(task, tmp_path / "a", SMOKE_SIZES, seed=5)
    lines = data.train.list_file.read_text().splitlines()
    assert len(lines) == len(task.seen) * SMOKE_SIZES.train
    path, label = lines[-1].rsplit(" ", 1)
    assert (data.train.root / path).is_file() and int(label) == len(task.seen) - 1
    assert data.zero_shot_test.class_names == tuple(motion.text for motion in task.held_out)
    assert probe(data.test.videos[0]).num_frames == 8
    again = generate_demo_data(task, tmp_path / "b", SMOKE_SIZES, seed=5)
    for first, second in zip(data.train.videos + data.test.videos, again.train.videos + again.test.videos):
        assert first.read_bytes() == second.read_bytes(), first
    other = generate_demo_data(task, tmp_path / "c", SMOKE_SIZES, seed=6)
    assert other.test.videos[3].read_bytes() != data.test.videos[3].read_bytes()


def test_the_logged_training_command_is_the_reported_one(tmp_path, monkeypatch, caplog):
    import xclip.training
    from xclip.data import VideoSet
    from xclip.demo.runs import run_training_script, training_command

    monkeypatch.setattr(xclip.training, "main", lambda argv: {"top1": 50.0})
    videos = VideoSet(tmp_path, tmp_path / "test list.txt", tmp_path / "labels.csv", ("a", "b"), (), ())
    with caplog.at_level("INFO", logger="xclip.demo.runs"):
        run = run_training_script("config.yaml", tmp_path / "out", videos)
    assert run.command == training_command(run.argv)
    assert run.command.startswith("python scripts/train.py -cfg config.yaml") and "'" in run.command  # quoted
    assert f"Running: {run.command}" in caplog.text


# Report parts --------------------------------------------------------------------------------------------------------


def test_stage_timer_records_each_stage_in_order():
    timer = StageTimer()
    with timer.stage("first"):
        pass
    with timer.stage("second"):
        pass
    assert list(timer.durations) == ["first", "second"]
    assert all(seconds >= 0 for seconds in timer.durations.values()) and timer.total >= sum(timer.durations.values())


def test_accuracy_bars_are_a_png(tmp_path):
    path = accuracy_bars_png([AccuracyBar("closed-set", 95.0, 16.7), AccuracyBar("zero-shot", 60.0, 50.0)],
                             tmp_path / "bars.png", "title")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 200


# The script ----------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    output = tmp_path_factory.mktemp("demo")
    status = load_script("demo").main(["--smoke", "--output", str(output)])
    return status, output


@pytest.mark.slow
def test_smoke_demo_writes_the_report_with_every_accuracy_next_to_chance(smoke_run):
    status, output = smoke_run
    assert status == 0
    summary = json.loads((output / "summary.json").read_text())
    assert summary["trained_from_scratch"] is True
    for key, classes in (("closed_set", 6), ("few_shot", 4), ("zero_shot", 2)):
        assert summary[key]["num_classes"] == classes
        assert summary[key]["chance"] == pytest.approx(100 / classes)
        assert 0 <= summary[key]["top1"] <= 100
    report = (output / "report.md").read_text()
    assert "| closed-set: trained sentences, new videos | 6 | 12 |" in report
    assert "xclip classify" in report and "## Timings" in report
    for figure in ("accuracy.png", "contact_sheet.png", "train/loss_curve.png"):
        assert f"]({figure})" in report
        with Image.open(output / figure) as image:
            assert image.format == "PNG"
    pipeline = summary["pipeline"][0]["predictions"]
    assert len(pipeline) == 3 and pipeline == sorted(pipeline, key=lambda item: -item["score"])


@pytest.mark.slow
def test_the_demo_model_is_a_transformers_folder(smoke_run):
    from xclip import XCLIPModel

    _, output = smoke_run
    model = XCLIPModel.from_pretrained(output / "train" / "best_model")
    assert model.config.vision_config.num_frames == 8 and model.config.vision_config.image_size == 32


@pytest.mark.slow
def test_demo_with_a_given_model_evaluates_it_zero_shot_without_training(smoke_run, tmp_path):
    _, trained = smoke_run
    model = trained / "train" / "best_model"
    status = load_script("demo").main(["--smoke", "--output", str(tmp_path), "--model", str(model)])
    assert status == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["trained_from_scratch"] is False
    assert not (tmp_path / "train").exists()
    assert "every evaluation is zero-shot" in (tmp_path / "report.md").read_text()


def test_demo_with_a_missing_model_folder_fails_in_one_line(tmp_path, capsys):
    status = load_script("demo").main(["--output", str(tmp_path), "--model", str(tmp_path / "nowhere")])
    error = capsys.readouterr().err
    assert status == 2
    assert error.strip().count("\n") == 0 and "nowhere" in error and "no such folder" in error
    assert not (tmp_path / "data").exists()  # nothing generated before the model was checked


def test_demo_with_an_unreachable_hub_model_fails_in_one_line(tmp_path, capsys):
    # offline (make test sets HF_HUB_OFFLINE=1) or online, the id does not resolve to a model
    status = load_script("demo").main(["--output", str(tmp_path), "--model", "nobody/no-such-xclip"])
    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith("demo: error: cannot load model 'nobody/no-such-xclip'") and error.count("\n") == 1


def test_demo_with_a_file_as_model_fails_in_one_line(tmp_path, capsys):
    model_file = tmp_path / "model.safetensors"
    model_file.write_bytes(b"")
    status = load_script("demo").main(["--output", str(tmp_path / "out"), "--model", str(model_file)])
    assert status == 2 and "model.safetensors': not a folder" in capsys.readouterr().err
