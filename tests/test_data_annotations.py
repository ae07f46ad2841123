"""Annotation files in the original X-CLIP's formats: labels CSV, `path label` and JSON video lists, folder and tar
roots."""

import codecs
import io
import json
import logging
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest

from xclip.data import (
    AnnotationError,
    VideoRecord,
    check_video_root,
    read_label_names,
    read_video_list,
    write_label_names,
    write_video_list,
)
from xclip.video import TarMember


SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_data_modules_share_one_path_type():
    import xclip.data
    from xclip.data import few_shot, labels, official_splits, video_list, zero_shot

    sources = [path.read_text(encoding="utf-8") for path in Path(xclip.data.__file__).parent.glob("*.py")]
    assert sum(source.count("PathLike = ") for source in sources) == 1
    assert all(module.PathLike is video_list.PathLike for module in (few_shot, labels, official_splits, zero_shot))


# ----------------------------------------------------------------------------------------------- labels CSV


def test_label_names_are_read_in_row_order_and_verbatim(tmp_path):
    csv_path = write(tmp_path / "labels.csv", 'id,name\n0,ApplyEyeMakeup\n1,brush hair\n2,"a, quoted name"\n')
    assert read_label_names(csv_path) == ["ApplyEyeMakeup", "brush hair", "a, quoted name"]


def test_label_names_round_trip(tmp_path):
    names = ["ApplyEyeMakeup", "passing American football (not in game)", "with, comma"]
    assert read_label_names(write_label_names(names, tmp_path / "out" / "labels.csv")) == names


@pytest.mark.parametrize(
    "dataset, count, first, last",
    [
        ("kinetics_400", 400, "abseiling", "zumba"),
        ("kinetics_600", 600, "abseiling", "zumba"),
        ("hmdb_51", 51, "brush hair", None),
        ("ucf_101", 101, "ApplyEyeMakeup", "YoYo"),
    ],
)
def test_shared_label_files(dataset, count, first, last):
    csv_path = SHARED / "labels" / f"{dataset}_labels.csv"
    if not csv_path.exists():
        pytest.skip(f"{csv_path} is not available (the shared reference folder is absent)")
    names = read_label_names(csv_path)
    assert len(names) == count and names[0] == first
    assert last is None or names[-1] == last


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("id,name\n0,a\n1,b,extra\n", 3, "expected 2 comma-separated fields"),
        ("id,name\n0,a\n1,\n", 3, "empty class name"),
        ("id,name\n0,a\n1,b\n2,a\n", 4, "already appears on line 2"),
        ("id,label\n0,a\n", 1, "header must name the columns"),
    ],
)
def test_malformed_labels_csv_names_file_and_line(tmp_path, text, line, message):
    csv_path = write(tmp_path / "bad.csv", text)
    with pytest.raises(AnnotationError, match=message) as caught:
        read_label_names(csv_path)
    assert caught.value.line == line
    assert str(csv_path) in str(caught.value) and f"line {line}" in str(caught.value)


@pytest.mark.parametrize("text, message", [("", "empty"), ("id,name\n", "no classes")])
def test_empty_labels_csv(tmp_path, text, message):
    with pytest.raises(AnnotationError, match=message):
        read_label_names(write(tmp_path / "empty.csv", text))


def test_missing_labels_csv(tmp_path):
    with pytest.raises(AnnotationError, match="labels CSV not found"):
        read_label_names(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "text, line, found",
    [("id,name\n1,b\n0,a\n", 2, "'1'"), ("id,name\n0,a\n0,b\n", 3, "'0'"), ("id,name\n0,a\n2,b\n", 3, "'2'")],
    ids=["reordered", "repeated", "gap"],
)
def test_an_id_column_that_does_not_count_rows_is_an_error(tmp_path, text, line, found):
    """Classes are numbered by row (the original's rule): ids that disagree would pair videos with other classes."""
    with pytest.raises(AnnotationError, match=rf"labels.csv', line {line}: id {found} on the row of class"):
        read_label_names(write(tmp_path / "labels.csv", text))


def test_a_labels_csv_without_an_id_column_is_numbered_by_row(tmp_path):
    assert read_label_names(write(tmp_path / "labels.csv", "name\nb\na\n")) == ["b", "a"]


def test_video_lists_with_a_byte_order_mark(tmp_path):
    (tmp_path / "a.mp4").touch()
    text_list = tmp_path / "list.txt"
    text_list.write_text("\ufeffa.mp4 1\n", encoding="utf-8")
    json_list = tmp_path / "list.json"
    json_list.write_text('\ufeff[{"filename": "a.mp4", "label": 1}]', encoding="utf-8")
    for video_list in (text_list, json_list):
        (record,) = read_video_list(video_list, tmp_path, num_classes=2)
        assert record.relative_path == "a.mp4" and record.label == 1


@pytest.mark.parametrize(
    "name, text",
    [
        ("labels.csv", "id,name\n0,caf\u00e9\n"),
        ("train.txt", "a.mp4 0\ncaf\u00e9.mp4 1\n"),
        ("train.json", '[{"filename": "a.mp4", "label": 0},\n{"filename": "caf\u00e9.mp4", "label": 1}]'),
    ],
)
@pytest.mark.parametrize("byte_order_mark", [b"", codecs.BOM_UTF8])
def test_an_annotation_file_that_is_not_utf8_names_the_file_and_line(tmp_path, name, text, byte_order_mark):
    path = tmp_path / name
    path.write_bytes(byte_order_mark + text.encode("latin-1"))  # what an editor set to Western European saves
    with pytest.raises(AnnotationError, match=r"line 2: is not UTF-8 text \(byte 0xe9 on that line\)") as error:
        read_label_names(path) if name.endswith(".csv") else read_video_list(path, tmp_path, num_classes=2)
    assert error.value.path == str(path)


# ------------------------------------------------------------------------------------------------ video lists


def test_a_video_listed_twice_is_kept_and_named_in_a_warning(tmp_path, caplog):
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).touch()
    video_list = write(tmp_path / "train.txt", "a.mp4 0\nb.mp4 1\na.mp4 0\n")
    with caplog.at_level(logging.WARNING, logger="xclip"):
        records = read_video_list(video_list, tmp_path, num_classes=2)
    assert [record.relative_path for record in records] == ["a.mp4", "b.mp4", "a.mp4"]
    assert "train.txt lists 1 video(s) more than once, e.g. 'a.mp4' (lines 1 and 3)" in caplog.text
    caplog.clear()
    read_video_list(write(tmp_path / "val.txt", "a.mp4 0\nb.mp4 1\n"), tmp_path, num_classes=2)
    assert "more than once" not in caplog.text


def test_video_list_joins_paths_with_the_root(tmp_path):
    list_file = write(tmp_path / "train.txt", "class_a/v1.mp4 0\n\nclass_b/v2.mp4   2\n")
    records = read_video_list(list_file, tmp_path, num_classes=3)
    assert [(record.source, record.label, record.line, record.relative_path) for record in records] == [
        (tmp_path / "class_a/v1.mp4", 0, 1, "class_a/v1.mp4"),
        (tmp_path / "class_b/v2.mp4", 2, 3, "class_b/v2.mp4"),
    ]


def test_missing_videos_are_not_checked_at_start_up(tmp_path):
    # Individual files are only opened when loaded (stat-ing millions of files would stall start-up).
    records = read_video_list(write(tmp_path / "val.txt", "not_there.mp4 0\n"), tmp_path, num_classes=1)
    assert records[0].source == tmp_path / "not_there.mp4"


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("a.mp4 0\nb.mp4 3\n", 2, r"label 3 is outside \[0, 3\)"),
        ("a.mp4 0\nb.mp4 -1\n", 2, r"label -1 is outside \[0, 3\)"),
        ("a.mp4 0\nb.mp4 one\n", 2, "'one' is not an integer"),
        ("a.mp4\n", 1, "got 1 field"),
        ("my video.mp4 1\n", 1, "paths cannot contain spaces"),
    ],
)
def test_bad_video_list_line_names_file_and_line(tmp_path, text, line, message):
    list_file = write(tmp_path / "train.txt", text)
    with pytest.raises(AnnotationError, match=message) as caught:
        read_video_list(list_file, tmp_path, num_classes=3)
    assert caught.value.line == line and f"'{list_file}', line {line}" in str(caught.value)


def test_json_video_list_in_mmcv_format_reads_like_the_text_list(tmp_path):
    entries = [
        {"filename": "class_a/v1.mp4", "label": [0]},
        {"filename": "class_b/v2.mp4", "label": 2, "total_frames": 9},
    ]
    records = read_video_list(write(tmp_path / "train.json", json.dumps(entries)), tmp_path, num_classes=3)
    text = read_video_list(write(tmp_path / "train.txt", "class_a/v1.mp4 0\nclass_b/v2.mp4 2\n"), tmp_path, 3)
    assert [(record.source, record.label, record.relative_path) for record in records] == [
        (record.source, record.label, record.relative_path) for record in text
    ]
    assert records[0].line is None  # no line to point at in a JSON file: messages name the video


@pytest.mark.parametrize(
    "entries, entry, message",
    [
        ([{"filename": "a.mp4", "label": 0}, {"filename": "b.mp4", "label": 3}], 2, r"label 3 is outside \[0, 3\)"),
        ([{"filename": "a.mp4", "label": [0, 1]}], 1, "multi-label lists are not supported"),
        ([{"filename": "a.mp4", "label": "zero"}], 1, "'zero' is not a class index"),
        ([{"filename": "a.mp4"}], 1, "expected an object with a 'filename' string and a 'label'"),
        ([["a.mp4", 0]], 1, "expected an object"),
        ([{"frame_dir": "a", "label": 0}], 1, "'frame_dir' entries"),
    ],
)
def test_bad_json_video_list_names_file_and_entry(tmp_path, entries, entry, message):
    list_file = write(tmp_path / "train.json", json.dumps(entries))
    with pytest.raises(AnnotationError, match=message) as caught:
        read_video_list(list_file, tmp_path, num_classes=3)
    assert f"'{list_file}', entry {entry}:" in str(caught.value)


def test_json_video_list_that_is_not_a_list_or_not_json(tmp_path):
    with pytest.raises(AnnotationError, match="expected a JSON list"):
        read_video_list(write(tmp_path / "a.json", '{"filename": "a.mp4"}'), tmp_path, num_classes=3)
    with pytest.raises(AnnotationError, match="not valid JSON") as caught:
        read_video_list(write(tmp_path / "b.json", '[{"filename": "a.mp4",\n "label": 0'), tmp_path, num_classes=3)
    assert caught.value.line == 2


def test_record_descriptions_name_the_video_like_decoding_errors_do():
    assert VideoRecord("/data/a.mp4", 0, line=12).describe() == "'/data/a.mp4' (line 12)"
    in_tar = VideoRecord(TarMember("/data/train.tar", "a.mp4"), 0)
    assert in_tar.describe() == "'a.mp4' in tar archive '/data/train.tar'"
    assert VideoRecord(b"\x00" * 5, 0).describe() == "<5 bytes in memory>"
    assert VideoRecord(np.zeros((2, 4, 4, 3), np.uint8), 0).describe() == "<decoded frames (2, 4, 4, 3)>"


def test_empty_or_missing_video_list(tmp_path):
    with pytest.raises(AnnotationError, match="no entries"):
        read_video_list(write(tmp_path / "empty.txt", "\n\n"), tmp_path, num_classes=3)
    with pytest.raises(AnnotationError, match="video list not found"):
        read_video_list(tmp_path / "nope.txt", tmp_path, num_classes=3)


def test_missing_video_folder_fails_at_start_up(tmp_path):
    list_file = write(tmp_path / "train.txt", "a.mp4 0\n")
    with pytest.raises(FileNotFoundError, match=r"video folder \(DATA.ROOT\) .*does not exist"):
        read_video_list(list_file, tmp_path / "videos", num_classes=1)


def test_tar_root_reads_members_at_the_archive_root(tmp_path):
    (tmp_path / "v1.mp4").write_bytes(b"x")
    with tarfile.open(tmp_path / "train.tar", "w") as archive:
        archive.add(tmp_path / "v1.mp4", arcname="v1.mp4")
    records = read_video_list(write(tmp_path / "train.txt", "v1.mp4 0\n"), tmp_path / "train.tar", num_classes=1)
    assert records[0].source == TarMember(str(tmp_path / "train.tar"), "v1.mp4")


def test_tar_root_with_subfolders_uses_one_archive_per_folder(tmp_path):
    # Original convention: ROOT "<dir>/videos.tar" + "class_a/v1.mp4" -> member "v1.mp4" of "<dir>/videos/class_a.tar".
    (tmp_path / "videos").mkdir()
    for name in ("class_a", "class_b"):
        with tarfile.open(tmp_path / "videos" / f"{name}.tar", "w"):
            pass
    list_file = write(tmp_path / "train.txt", "class_a/v1.mp4 0\nclass_b/v2.mp4 1\n")
    records = read_video_list(list_file, tmp_path / "videos.tar", num_classes=2)
    assert [record.source for record in records] == [
        TarMember(str(tmp_path / "videos" / "class_a.tar"), "v1.mp4"),
        TarMember(str(tmp_path / "videos" / "class_b.tar"), "v2.mp4"),
    ]


def test_missing_or_compressed_tar_fails_at_start_up(tmp_path):
    list_file = write(tmp_path / "train.txt", "v1.mp4 0\n")
    with pytest.raises(FileNotFoundError, match="tar archive .*train.tar' does not exist"):
        read_video_list(list_file, tmp_path / "train.tar", num_classes=1)
    with tarfile.open(tmp_path / "train.tar", "w:gz"):
        pass
    with pytest.raises(ValueError, match="not an uncompressed tar archive"):
        read_video_list(list_file, tmp_path / "train.tar", num_classes=1)
    # check_video_root on its own takes records or their sources
    missing = TarMember(str(tmp_path / "other.tar"), "v1.mp4")
    for videos in ([missing], [VideoRecord(missing, 0)]):
        with pytest.raises(FileNotFoundError, match="other.tar' does not exist"):
            check_video_root(tmp_path / "other.tar", videos)


def test_video_list_round_trip(tmp_path):
    records = read_video_list(write(tmp_path / "train.txt", "a/1.mp4 1\nb/2.mp4 0\n"), tmp_path, num_classes=2)
    for name in ("copy.txt", "copy.json"):  # the format follows the extension, as when reading
        copy = read_video_list(write_video_list(records, tmp_path / name), tmp_path, num_classes=2)
        assert [(r.relative_path, r.label) for r in copy] == [("a/1.mp4", 1), ("b/2.mp4", 0)]
    with pytest.raises(ValueError, match="no relative path"):
        write_video_list([VideoRecord(tmp_path / "a.mp4", 0)], tmp_path / "bad.txt")


# ----------------------------------------------------------------------------------- video records, checked early


@pytest.mark.parametrize("source, shown", [(None, "NoneType"), (42, "int"), ([b"\x00"], "list")])
def test_a_record_refuses_a_source_that_is_no_video_and_names_itself(source, shown):
    message = rf"\(line 7\): a VideoRecord's source must be a path .*; got {shown}\."
    with pytest.raises(TypeError, match=message) as caught:
        VideoRecord(source, 0, line=7)
    assert "numpy array or tensor" in str(caught.value)


def test_a_record_takes_the_sources_the_decoder_takes_and_lists_them_alike(tmp_path):
    """VideoRecord kept its own copy of the sources MediaInput takes, and of their list in its message."""
    from xclip.video.sources import VIDEO_SOURCE_KINDS, MediaInput

    for source in ("a.mp4", tmp_path, b"\x00", bytearray(b"\x00"), memoryview(b"\x00"), io.BytesIO(b"\x00"),
                   TarMember("a.tar", "a.mp4")):
        assert VideoRecord(source, 0).source is source
    for taker in (MediaInput, lambda source: VideoRecord(source, 0)):
        with pytest.raises(TypeError, match=re.escape(VIDEO_SOURCE_KINDS)):
            taker(42)


def test_a_record_takes_a_uint8_tensor_as_frames_and_checks_it_like_an_array():
    torch = pytest.importorskip("torch")
    frames = torch.arange(4 * 8 * 8 * 3, dtype=torch.int64).reshape(4, 8, 8, 3).to(torch.uint8)
    record = VideoRecord(frames, 0)
    assert isinstance(record.source, np.ndarray) and np.array_equal(record.source, frames.numpy())
    with pytest.raises(TypeError, match=r"holds float32 frames of shape \(4, 8, 8, 3\); expected uint8"):
        VideoRecord(frames.float(), 0)


@pytest.mark.parametrize("label", [2**63, 2**70, -(2**63) - 1])
def test_a_label_that_does_not_fit_in_int64_is_refused_naming_the_record(tmp_path, label):
    with pytest.raises(ValueError, match=rf"'a.mp4': the label {label} does not fit in a 64-bit integer"):
        VideoRecord("a.mp4", label)
    assert VideoRecord("a.mp4", 2**63 - 1).label == 2**63 - 1
    list_file = write(tmp_path / "train.txt", f"a.mp4 0\nb.mp4 {abs(label)}\n")
    with pytest.raises(ValueError, match=r"b.mp4' \(line 2\): the label \d+ does not fit in a 64-bit integer"):
        read_video_list(list_file, tmp_path, num_classes=2**80)


@pytest.mark.parametrize("shape, missing", [((4, 0, 8, 3), "height"), ((4, 8, 0, 3), "width")])
def test_decoded_frames_without_a_pixel_are_refused_naming_their_origin(shape, missing):
    # Such frames used to pass, and divided by zero when resized. An array without frames passes: like a file
    # without frames, it is an unreadable video (tests/test_data_dataset.py).
    with pytest.raises(ValueError, match=rf"^Row 3 of column 'video' holds uint8 frames of shape .*no {missing}\.$"):
        VideoRecord(np.zeros(shape, np.uint8), 0, frames_origin="Row 3 of column 'video'")
    for no_frames in ((0, 8, 8, 3), (0, 0, 0, 3)):
        assert len(VideoRecord(np.zeros(no_frames, np.uint8), 0).source) == 0


@pytest.mark.parametrize(
    "num_classes, error, message",
    [
        (2.5, TypeError, "must be a positive integer, got float 2.5"),
        (True, TypeError, "must be a positive integer, got bool True"),
        (None, TypeError, "must be a positive integer, got None"),
        ("3", TypeError, "must be a positive integer, got str '3'"),
        (0, ValueError, "must be a positive integer, got 0"),
    ],
)
def test_num_classes_must_be_a_positive_integer(tmp_path, num_classes, error, message):
    list_file = write(tmp_path / "train.txt", "a.mp4 0\n")
    with pytest.raises(error, match=rf"^num_classes, the number of classes the labels of '.*train.txt' .*{message}"):
        read_video_list(list_file, tmp_path, num_classes=num_classes)
    assert read_video_list(list_file, tmp_path, num_classes=np.int64(1))[0].label == 0


def test_a_path_too_long_for_the_file_system_is_an_unreadable_video_not_an_error(tmp_path):
    # The list is read without touching the videos; only reading one stats it, where an OSError would stop the
    # whole dataset instead of that video being replaced (training) or marked invalid (evaluation).
    from xclip.data import VideoClipDataset
    from xclip.video import VideoDecodeError, probe

    long_name, deep_path = "v" * 300 + ".mp4", "/".join(["d"] * 2500) + "/v.mp4"
    records = read_video_list(write(tmp_path / "val.txt", f"{long_name} 0\n{deep_path} 1\n"), tmp_path, 2)
    for record in records:
        with pytest.raises(VideoDecodeError, match=r"cannot access the file \(File name too long\)") as caught:
            probe(record.source)
        assert caught.value.source == record.source
    in_tar = TarMember(tmp_path / ("t" * 300 + ".tar"), "v.mp4")
    with pytest.raises(VideoDecodeError, match=r"cannot read the tar archive \(File name too long\)"):
        probe(in_tar)
    dataset = VideoClipDataset([*records, VideoRecord(in_tar, 0)], num_frames=2, training=False, image_size=32)
    assert [dataset[index]["valid"] for index in range(3)] == [0, 0, 0]
