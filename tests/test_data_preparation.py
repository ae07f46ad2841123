"""Preparing a dataset for fast training input: frames kept in order, size and keyframe spacing as asked, resumable
runs, rewritten lists, unreadable videos reported and left out."""

import concurrent.futures
import json
import os
import re
import tarfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from xclip.cli import main as xclip_main
from xclip.data import AnnotationError, VideoClipDataset, read_video_list
from xclip.data import preparation
from xclip.data.preparation import (
    FAILURES_FILE,
    MANIFEST_FILE,
    VideoPreparation,
    prepare_video,
    prepare_video_dataset,
)
from xclip.video import VideoDecodeError, VideoReader, display_matrix, read_frames
from xclip.video.synthetic import index_coded_frames, read_index_code, write_video


SHARED_VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "videos"


def frame_codes(path) -> list[int]:
    with VideoReader(path) as reader:
        return [read_index_code(frame) for frame in reader.read(list(range(reader.info.num_frames)))]


def keyframe_positions(path) -> list[int]:
    with av.open(os.fspath(path)) as container:
        packets = [packet for packet in container.demux(container.streams.video[0]) if packet.size]
    order = sorted(range(len(packets)), key=lambda index: packets[index].pts)
    return [position for position, index in enumerate(order) if packets[index].is_keyframe]


@pytest.fixture
def dataset(tmp_path):
    """Videos in several containers and codecs, an unreadable file, and a list naming them plus a missing one."""
    root = tmp_path / "videos"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    write_video(root / "a" / "one.mp4", index_coded_frames(40, 120, 160), fps=25)
    write_video(root / "b" / "two.avi", index_coded_frames(30, 96, 288), fps=30, codec="mpeg4")
    irregular = [i * 33 + i % 3 for i in range(20)]
    write_video(root / "b" / "three.mkv", index_coded_frames(20, 192, 128), timestamps=irregular)
    (root / "b" / "broken.mp4").write_bytes(b"not a video")
    (root / "b" / "notes.txt").write_text("not listed, not a video")
    video_list = tmp_path / "train.txt"
    video_list.write_text("a/one.mp4 0\nb/two.avi 1\nb/broken.mp4 1\nb/missing.mp4 0\nb/three.mkv 2\n")
    return root, video_list


def test_every_frame_is_kept_in_order_at_the_new_size(tmp_path):
    source = write_video(tmp_path / "source.mp4", index_coded_frames(60, 120, 200), fps=30)
    prepared = prepare_video(source, tmp_path / "out" / "prepared.mp4", VideoPreparation(short_side=64))
    assert (prepared.num_frames, prepared.height, prepared.width) == (60, 64, 106)  # 200 * 64 / 120 = 106.7 -> even
    assert frame_codes(prepared.path) == list(range(60))
    assert prepared.size_bytes == prepared.path.stat().st_size


@pytest.mark.parametrize("interval", [1, 8])
def test_keyframes_are_at_most_the_interval_apart(tmp_path, interval):
    source = write_video(tmp_path / "source.mp4", index_coded_frames(50, 64, 64), fps=25)  # x264's default GOP: 250
    assert keyframe_positions(source) == [0]
    prepared = prepare_video(source, tmp_path / "prepared.mp4", VideoPreparation(keyframe_interval=interval))
    keyframes = keyframe_positions(prepared.path)
    assert keyframes[0] == 0 and max(np.diff(keyframes + [50])) <= interval


def test_small_videos_keep_their_size_and_odd_sides_become_even(tmp_path):
    source = write_video(tmp_path / "source.avi", index_coded_frames(10, 99, 75), fps=25, codec="mpeg4",
                         pixel_format="yuv420p")
    prepared = prepare_video(source, tmp_path / "prepared.mp4", VideoPreparation(short_side=256))
    assert (prepared.height, prepared.width) == (100, 76)
    assert frame_codes(prepared.path) == list(range(10))


def test_variable_frame_rate_timestamps_are_kept(tmp_path):
    timestamps = [0, 40, 70, 150, 160, 260, 300, 400]
    source = write_video(tmp_path / "vfr.mkv", index_coded_frames(8, 64, 64), timestamps=timestamps,
                         time_base=Fraction(1, 1000))
    prepared = prepare_video(source, tmp_path / "vfr.mp4")
    with av.open(os.fspath(prepared.path)) as container:
        stream = container.streams.video[0]
        seconds = sorted(float(packet.pts * stream.time_base) for packet in container.demux(stream) if packet.size)
    np.testing.assert_allclose(seconds, np.array(timestamps) / 1000, atol=1e-3)


def test_a_portrait_phone_video_keeps_its_display_rotation(tmp_path):
    stored = np.zeros((4, 64, 128, 3), dtype=np.uint8)
    stored[:, :16, :16] = 255  # top-left of the stored frame; phones store portrait video turned a quarter left
    source = write_video(tmp_path / "phone.mp4", stored, display_rotation=-90)
    prepared = prepare_video(source, tmp_path / "prepared.mp4", VideoPreparation(short_side=32))
    assert (prepared.height, prepared.width) == (32, 64)  # resized as stored
    upright = read_frames(prepared.path, [0])[0]
    assert upright.shape == (64, 32, 3) and upright[:8, -8:].mean() > 200  # shown turned right, as the source
    assert read_frames(prepared.path, [0], autorotate=False).shape == (1, 32, 64, 3)


def test_a_mirrored_video_keeps_its_mirror(tmp_path):
    stored = np.zeros((4, 64, 128, 3), dtype=np.uint8)
    stored[:, :16, :16] = 255
    source = write_video(tmp_path / "selfie.mp4", stored, display_rotation=-90, display_mirrored=True)
    prepared = prepare_video(source, tmp_path / "prepared.mp4", VideoPreparation(short_side=32))
    shown = read_frames(prepared.path, [0])[0]
    assert shown.shape == (64, 32, 3) and shown[:8, :8].mean() > 200  # turned right, then mirrored: as the source
    assert shown[:8, -8:].mean() < 50


def test_a_display_matrix_keeps_its_rotation_but_not_a_translation_in_the_sources_pixels(tmp_path):
    source = tmp_path / "phone.mp4"
    with av.open(os.fspath(source), mode="w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 128, 64, "yuv420p"
        stream.set_display_matrix([0, 1 << 16, 0, -(1 << 16), 0, 0, 64 << 16, 0, 1 << 30])  # a quarter turn, moved
        for _ in range(3):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((64, 128, 3), np.uint8), "rgb24")))
        container.mux(stream.encode(None))
    prepared = prepare_video(source, tmp_path / "prepared.mp4", VideoPreparation(short_side=32))
    with av.open(os.fspath(prepared.path)) as container:
        matrix = display_matrix(next(container.decode(video=0)))
    assert matrix.tolist() == [0, 1 << 16, 0, -(1 << 16), 0, 0, 0, 0, 1 << 30]


def test_an_unreadable_source_raises_and_writes_nothing(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoDecodeError, match="broken.mp4"):
        prepare_video(tmp_path / "broken.mp4", tmp_path / "out" / "broken.mp4")
    assert list((tmp_path / "out").iterdir()) == []  # no partial file either


def test_a_still_image_is_not_prepared_as_a_video(tmp_path):
    Image.new("RGB", (32, 32)).save(tmp_path / "photo.png")
    (tmp_path / "photo.png").rename(tmp_path / "photo.mp4")
    with pytest.raises(VideoDecodeError, match="still image"):
        prepare_video(tmp_path / "photo.mp4", tmp_path / "out" / "photo.mp4")


def test_bad_settings_raise():
    for settings, name in (({"short_side": 1}, "short_side"), ({"keyframe_interval": 0}, "keyframe_interval"),
                           ({"crf": 60}, "crf")):
        with pytest.raises(ValueError, match=name):
            VideoPreparation(**settings)


def test_a_dataset_is_prepared_with_its_lists_and_failures_reported(dataset, tmp_path):
    root, video_list = dataset
    output = tmp_path / "prepared"
    report = prepare_video_dataset(root, output, video_lists=[video_list], preparation=VideoPreparation(short_side=64),
                                   workers=1, progress=False)
    assert (report.prepared, report.already_prepared) == (3, 0)
    assert sorted(report.failed) == ["b/broken.mp4", "b/missing.mp4"]
    assert "file not found" in report.failed["b/missing.mp4"]
    assert (output / FAILURES_FILE).read_text().count("\n") == 2
    assert report.lists == [output / "train.txt"]
    assert (output / "train.txt").read_text() == "a/one.mp4 0\nb/two.mp4 1\nb/three.mp4 2\n"
    assert not (output / "b" / "notes.txt").exists() and not (output / "b" / "broken.mp4").exists()
    # The rewritten list trains: every item decodes from the prepared folder.
    records = read_video_list(output / "train.txt", output, num_classes=3)
    items = VideoClipDataset(records, num_frames=4, training=True)
    assert [int(items[index]["labels"]) for index in range(3)] == [0, 1, 2]
    assert frame_codes(output / "b" / "three.mp4") == list(range(20))


def test_an_unlabelled_list_is_prepared_with_its_labels_as_they_are(dataset, tmp_path):
    root, _ = dataset
    unlabelled = tmp_path / "test.txt"
    unlabelled.write_text("a/one.mp4 -1\n")  # some test lists mark "no label" so; prepare only re-encodes
    output = tmp_path / "prepared"
    prepare_video_dataset(root, output, video_lists=[unlabelled], preparation=VideoPreparation(short_side=64),
                          workers=1, progress=False)
    assert (output / "test.txt").read_text() == "a/one.mp4 -1\n"


def test_an_interrupted_run_resumes_and_overwrite_redoes(dataset, tmp_path):
    root, video_list = dataset
    output = tmp_path / "prepared"
    prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False)
    before = (output / "a" / "one.mp4").stat().st_mtime_ns
    (output / "b" / "two.mp4").unlink()  # as if the run had been killed while writing this video
    leftover = output / "b" / ".two.mp4.0123456789ab.partial.mp4"
    leftover.write_bytes(b"half a video")
    again = prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False)
    assert (again.prepared, again.already_prepared, len(again.failed)) == (1, 2, 2)
    assert (output / "a" / "one.mp4").stat().st_mtime_ns == before
    assert not leftover.exists()
    redone = prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False, overwrite=True)
    assert (redone.prepared, redone.already_prepared) == (3, 0)
    video_list.write_text("a/one.mp4 0\nb/two.avi 1\n")  # the unreadable videos taken out of the list
    assert not prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False).failed
    assert not (output / FAILURES_FILE).exists()


def test_videos_in_the_originals_tar_archives_are_prepared(dataset, tmp_path):
    root, _ = dataset
    with tarfile.open(root / "a.tar", "w") as archive:
        archive.add(root / "a" / "one.mp4", arcname="one.mp4")
    video_list = tmp_path / "tar_list.txt"
    video_list.write_text("a/one.mp4 3\n")
    report = prepare_video_dataset(f"{root}.tar", tmp_path / "out", video_lists=[video_list], workers=1, progress=False)
    assert (report.prepared, report.failed) == (1, {})
    assert frame_codes(tmp_path / "out" / "a" / "one.mp4") == list(range(40))
    with pytest.raises(FileNotFoundError, match="b.tar"):
        video_list.write_text("b/two.avi 0\n")
        prepare_video_dataset(f"{root}.tar", tmp_path / "out", video_lists=[video_list], workers=1, progress=False)


def test_without_lists_every_video_under_the_root_is_prepared(dataset, tmp_path):
    root, _ = dataset
    output = tmp_path / "prepared"
    report = prepare_video_dataset(root, output, workers=1, progress=False)
    assert (report.prepared, sorted(report.failed), report.lists) == (3, ["b/broken.mp4"], [])
    assert sorted(path.relative_to(output).as_posix() for path in output.rglob("*.mp4")) == [
        "a/one.mp4", "b/three.mp4", "b/two.mp4"
    ]
    assert prepare_video_dataset(root, output, workers=1, progress=False).already_prepared == 3


def test_json_lists_are_rewritten_as_json(dataset, tmp_path):
    root, _ = dataset
    video_list = tmp_path / "val.json"
    video_list.write_text(json.dumps([{"filename": "b/two.avi", "label": [4]}]))
    prepare_video_dataset(root, tmp_path / "out", video_lists=[video_list], workers=1, progress=False)
    assert json.loads((tmp_path / "out" / "val.json").read_text()) == [{"filename": "b/two.mp4", "label": 4}]


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("same_folder", ValueError, "must differ"),
        ("clashing_outputs", ValueError, r"'b/two.avi', 'b/two.mkv'"),
        ("same_list_names", ValueError, "file names"),
        ("malformed_list", AnnotationError, "line 2"),
        ("absolute_path", ValueError, "absolute or leave"),
        ("parent_path", ValueError, "absolute or leave"),
        ("list_named_like_the_manifest", ValueError, "xclip prepare uses for its own file"),
    ],
)
def test_problems_found_before_anything_is_written(dataset, tmp_path, case, error, match):
    root, video_list = dataset
    output, lists = tmp_path / "out", [video_list]
    if case == "same_folder":
        output = root
    elif case == "clashing_outputs":
        video_list.write_text("b/two.avi 0\nb/two.mkv 1\n")
    elif case == "same_list_names":
        (tmp_path / "other").mkdir()
        lists.append(tmp_path / "other" / "train.txt")
        lists[-1].write_text("a/one.mp4 0\n")
    elif case == "absolute_path":
        video_list.write_text(f"a/one.mp4 0\n{root / 'b' / 'two.avi'} 1\n")
    elif case == "parent_path":
        video_list.write_text("a/../../elsewhere.mp4 0\n")
    elif case == "list_named_like_the_manifest":
        lists = [video_list.rename(tmp_path / MANIFEST_FILE)]
    else:
        video_list.write_text("a/one.mp4 0\nb/two.avi\n")
    with pytest.raises(error, match=match):
        prepare_video_dataset(root, output, video_lists=lists, workers=1, progress=False)
    assert not output.exists() or case == "same_folder"


def test_the_command_prepares_in_parallel_processes(dataset, tmp_path, capsys, monkeypatch):
    root, video_list = dataset
    output = tmp_path / "prepared"
    pools = []

    class RecordedPool(concurrent.futures.ProcessPoolExecutor):
        def __init__(self, max_workers, *args, **kwargs):
            pools.append(max_workers)
            super().__init__(max_workers, *args, **kwargs)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RecordedPool)
    status = xclip_main(["prepare", "--input-root", str(root), "--output-root", str(output), "--lists",
                         str(video_list), "--short-side", "64", "--keyframe-interval", "4", "--workers", "2",
                         "--no-progress"])
    assert status == 0 and pools == [2]
    captured = capsys.readouterr()
    assert "3 videos prepared, 0 already prepared, 2 failed" in captured.out
    assert FAILURES_FILE in captured.err
    assert frame_codes(output / "a" / "one.mp4") == list(range(40))
    assert max(np.diff(keyframe_positions(output / "a" / "one.mp4") + [40])) <= 4


def test_the_command_reports_bad_input_in_one_line(tmp_path, capsys):
    status = xclip_main(["prepare", "--input-root", str(tmp_path / "absent"), "--output-root", str(tmp_path / "out")])
    assert status == 1
    assert capsys.readouterr().err.startswith("error: The video folder")


def test_the_command_reports_a_malformed_video_list_in_one_line(tmp_path, capsys):
    (tmp_path / "videos").mkdir()
    write_video(tmp_path / "videos" / "one.mp4", index_coded_frames(4, 32, 32))
    (tmp_path / "train.txt").write_text("one.mp4\n")
    status = xclip_main(["prepare", "--input-root", str(tmp_path / "videos"), "--output-root", str(tmp_path / "out"),
                         "--lists", str(tmp_path / "train.txt")])
    assert status == 1
    assert capsys.readouterr().err.startswith(f"error: '{tmp_path / 'train.txt'}', line 1: expected")


def test_a_missing_encoder_is_one_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(preparation, "ENCODER", "libx264_absent")
    source = write_video(tmp_path / "source.mp4", index_coded_frames(4, 32, 32))
    with pytest.raises(RuntimeError, match="no libx264_absent encoder"):
        prepare_video(source, tmp_path / "out.mp4")
    status = xclip_main(["prepare", "--input-root", str(tmp_path), "--output-root", str(tmp_path / "out")])
    assert status == 1 and "no libx264_absent encoder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_real_video_keeps_its_frames_in_order(tmp_path):
    """bikes.mp4 (a camera video with B-frames): every 7th prepared frame matches its own source frame better than
    the source frames up to two before or after it (the encoding is lossy, so equality cannot be asked)."""
    source = SHARED_VIDEOS / "bikes.mp4"
    if not source.is_file():
        pytest.skip(f"{source} is absent (the shared test videos ship next to the repository, not in it)")
    prepared = prepare_video(source, tmp_path / "bikes.mp4", VideoPreparation(short_side=128))

    def thumbnails(reader: VideoReader) -> torch.Tensor:
        frames = torch.from_numpy(reader.read(list(range(reader.info.num_frames)))).permute(0, 3, 1, 2).float()
        return torch.nn.functional.interpolate(frames, size=(32, 76), mode="area")

    with VideoReader(source) as original, VideoReader(prepared.path) as copy:
        assert copy.info.num_frames == original.info.num_frames == prepared.num_frames == 250
        theirs, ours = thumbnails(original), thumbnails(copy)
    for index in range(2, 248, 7):
        distances = (theirs[index - 2 : index + 3] - ours[index]).abs().mean(dim=(1, 2, 3))
        closest = index - 2 + int(distances.argmin())
        assert closest == index, f"prepared frame {index} looks most like source frame {closest}"


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(
    "case",
    ["list_in_output", "list_in_output_by_other_path", "output_is_a_file", "output_under_a_file", "input_is_a_file",
     "output_inside_input", "input_inside_output", "no_videos_in_folder", "no_videos_in_lists"],
)
def test_the_command_refuses_bad_folders_and_lists_before_any_work(dataset, tmp_path, capsys, case):
    root, video_list = dataset
    output, lists = tmp_path / "out", [video_list]
    expected = None
    if case.startswith("list_in_output"):
        output.mkdir()
        video_list = output / "train.txt"
        video_list.write_text("a/one.mp4 0\nb/broken.mp4 1\n")
        lists = [video_list if case == "list_in_output" else tmp_path / "x" / ".." / "out" / "train.txt"]
        expected = (f"error: The prepared list '{output / 'train.txt'}' would be written over the input list "
                    f"'{lists[0]}'")
    elif case == "output_is_a_file":
        output.write_text("a file")
        expected = f"error: The output folder (--output-root) '{output}' is a file, not a folder."
    elif case == "output_under_a_file":
        (tmp_path / "file").write_text("a file")
        output = tmp_path / "file" / "out"
        expected = f"error: The output folder (--output-root) '{output}' cannot be created: '{tmp_path / 'file'}' is a"
    elif case == "input_is_a_file":
        root = root / "a" / "one.mp4"
        expected = f"error: The video folder (--input-root) '{root}' is a file, not a folder."
    elif case == "output_inside_input":
        output = root / "prepared"
        expected = f"error: The output folder '{output}' lies inside the input folder '{root}'"
    elif case == "input_inside_output":
        output = tmp_path
        expected = f"error: The input folder '{root}' lies inside the output folder '{output}'"
    elif case == "no_videos_in_folder":
        root, lists = tmp_path / "empty", []
        (root / "sub").mkdir(parents=True)
        (root / "sub" / "notes.txt").write_text("no video")
        expected = f"error: No videos found under '{root}' (files ending in .mp4"
    else:
        video_list.write_text("")
        expected = f"error: No videos to prepare: the video list(s) '{video_list}' name no videos."
    before = files_under(tmp_path)

    status = xclip_main(["prepare", "--input-root", str(root), "--output-root", str(output), "--lists",
                         *map(str, lists), "--workers", "1", "--no-progress"] if lists else
                        ["prepare", "--input-root", str(root), "--output-root", str(output), "--no-progress"])

    captured = capsys.readouterr()
    assert status == 1
    assert captured.err.startswith(expected) and captured.err.count("\n") == 1, captured.err
    assert "Skipping" not in captured.err
    assert files_under(tmp_path) == before


def run_prepare(root, output, lists, *options) -> int:
    return xclip_main(["prepare", "--input-root", str(root), "--output-root", str(output), "--lists", *map(str, lists),
                       "--workers", "1", "--no-progress", *options])


def video_sizes(output: Path) -> dict[str, tuple[int, int]]:
    sizes = {}
    for path in sorted(output.rglob("*.mp4")):
        with VideoReader(path) as reader:
            sizes[path.relative_to(output).as_posix()] = (reader.info.height, reader.info.width)
    return sizes


def test_a_users_lists_and_failures_file_in_the_output_folder_are_kept(dataset, tmp_path, capsys):
    root, video_list = dataset
    video_list.write_text("a/one.mp4 0\n")  # readable: a run would delete the failures file, not rewrite it
    output = tmp_path / "prepared"
    output.mkdir()
    (output / "train.txt").write_text("mine\n")
    (output / FAILURES_FILE).write_text("notes\n")

    status = run_prepare(root, output, [video_list])

    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith(f"error: '{output / 'train.txt'}', '{output / FAILURES_FILE}': not written by xclip prepare")
    assert "--overwrite" in err
    assert files_under(output) == {"train.txt": b"mine\n", FAILURES_FILE: b"notes\n"}  # no video encoded either

    assert run_prepare(root, output, [video_list], "--overwrite") == 0
    assert (output / "train.txt").read_text() == "a/one.mp4 0\n" and not (output / FAILURES_FILE).exists()
    assert run_prepare(root, output, [video_list]) == 0  # now written by prepare: a later run may replace it
    assert "1 already prepared" in capsys.readouterr().out


def test_a_resumed_run_with_the_same_settings_keeps_the_prepared_videos(dataset, tmp_path, capsys):
    root, video_list = dataset
    output = tmp_path / "prepared"
    prepare_video_dataset(root, output, video_lists=[video_list], preparation=VideoPreparation(short_side=32),
                          workers=1, progress=False)
    manifest = json.loads((output / MANIFEST_FILE).read_text())
    assert manifest["settings"] == {"encoder": "libx264", "short_side": 32, "keyframe_interval": 16, "crf": 23.0,
                                    "preset": "veryfast", "fast_decode": True}
    assert manifest["files"] == [FAILURES_FILE, "train.txt"]
    kept = (output / "a" / "one.mp4").stat().st_mtime_ns
    (output / "b" / "two.mp4").unlink()  # as if the run had been killed before this video
    val_list = tmp_path / "val.json"
    val_list.write_text(json.dumps([{"filename": "a/one.mp4", "label": 0}]))

    assert run_prepare(root, output, [video_list, val_list], "--short-side", "32") == 0

    assert "1 videos prepared, 2 already prepared, 2 failed" in capsys.readouterr().out
    assert (output / "a" / "one.mp4").stat().st_mtime_ns == kept
    assert json.loads((output / MANIFEST_FILE).read_text())["files"] == [FAILURES_FILE, "train.txt", "val.json"]


def test_other_settings_are_refused_unless_overwrite_re_encodes(dataset, tmp_path, capsys):
    root, video_list = dataset
    output = tmp_path / "prepared"
    assert run_prepare(root, output, [video_list], "--short-side", "32") == 0
    capsys.readouterr()
    before = files_under(output)

    status = run_prepare(root, output, [video_list], "--short-side", "16")

    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1, err
    assert err.startswith(
        f"error: The output folder '{output}' was prepared with other settings (short_side=32, recorded in "
        f"{MANIFEST_FILE}) than requested (short_side=16)"
    )
    assert "another --output-root" in err and "--overwrite" in err
    assert files_under(output) == before

    assert run_prepare(root, output, [video_list], "--short-side", "16", "--overwrite") == 0
    assert "3 videos prepared, 0 already prepared" in capsys.readouterr().out
    assert video_sizes(output) == {"a/one.mp4": (16, 22), "b/three.mp4": (24, 16), "b/two.mp4": (16, 48)}
    assert json.loads((output / MANIFEST_FILE).read_text())["settings"]["short_side"] == 16


def test_a_folder_prepared_without_a_manifest_needs_overwrite_once(dataset, tmp_path):
    """As an older xclip prepare left it: videos and lists, no record of the settings."""
    root, video_list = dataset
    output = tmp_path / "prepared"
    prepare_video_dataset(root, output, video_lists=[video_list], preparation=VideoPreparation(short_side=32),
                          workers=1, progress=False)
    (output / MANIFEST_FILE).unlink()
    before = files_under(output)
    example = re.escape(repr(str(output / "a" / "one.mp4")))
    with pytest.raises(ValueError, match=rf"prepared videos, e\.g\. {example}, but no {MANIFEST_FILE}.*--overwrite"):
        prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False)
    assert files_under(output) == before
    report = prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False, overwrite=True)
    assert (report.prepared, report.already_prepared) == (3, 0)
    resumed = prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False)
    assert resumed.already_prepared == 3


def test_a_file_in_place_of_the_manifest_is_not_replaced(dataset, tmp_path):
    root, video_list = dataset
    output = tmp_path / "prepared"
    output.mkdir()
    (output / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ValueError, match=re.escape(f"'{output / MANIFEST_FILE}' is not a manifest written by xclip")):
        prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False)
    assert files_under(output) == {MANIFEST_FILE: b"{not json"}
    prepare_video_dataset(root, output, video_lists=[video_list], workers=1, progress=False, overwrite=True)
    assert json.loads((output / MANIFEST_FILE).read_text())["files"] == [FAILURES_FILE, "train.txt"]
