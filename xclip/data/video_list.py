"""Video lists in the original X-CLIP's formats, with paths joined with `DATA.ROOT`: one `<relative_video_path> <label>`
per line, or a `.json` file (mmcv's format, which the original also reads): a list of `{"filename": path, "label": k}`
objects, the label a class index or a list holding one.

Paths are split from labels on whitespace, so they cannot contain spaces (as in the original). `DATA.ROOT` is either a
folder of videos or, when it contains `".tar"`, the original's tar convention: every `".tar"` is removed from the root,
and the video `dir/name.mp4` is the member `name.mp4` at the root of the uncompressed archive `dir.tar` (see
`xclip.video.resolve_video_source`).

Everything that can be checked cheaply is checked when the list is read, so a bad list fails at start-up rather than
hours into training: the list's syntax, every label against the number of classes, and the video folder (or the tar
archives, which are few). Individual video files are not checked here, because stat-ing millions of files on a network
file system takes long; a missing or corrupt video is an unreadable video when it is loaded (see `VideoClipDataset`).
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import InitVar, dataclass
from pathlib import Path
from typing import Union

import numpy as np

from ..files import write_text_atomically
from ..video import TarMember, VideoSource, resolve_video_source
from ..video.errors import describe_source
from ..video.sources import VIDEO_SOURCE_KINDS, check_video_folder, is_tar_root, is_video_source
from .arguments import integer
from .errors import AnnotationError, open_annotation_text


logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]  # the data modules' file arguments
RecordSource = Union[VideoSource, np.ndarray]

_INT64_MIN, _INT64_MAX = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)


@dataclass(frozen=True, eq=False)
class VideoRecord:
    """One labelled video of a dataset.

    Attributes:
        source: Where the video is: a file path, a `TarMember`, encoded bytes, a binary file object, or already
            decoded frames as a uint8 array `(T, H, W, 3)` (from a Hugging Face dataset; a tensor becomes an array).
        label: Class index in `[0, num_classes)`.
        line: 1-based line of the video list this record comes from, for messages; `None` for other origins.
        relative_path: The path as written in the video list, used to write lists back (few-shot lists, class
            subsets); `None` when the record does not come from a list.

    Args:
        frames_origin: Where decoded frames come from, starting the message when they are not uint8 `(T, H, W, 3)`
            (see `check_decoded_frames`), e.g. `"Row 3 of column 'video'"`; not kept.
    """

    source: RecordSource
    label: int
    line: int | None = None
    relative_path: str | None = None
    frames_origin: InitVar[str | None] = None

    def __post_init__(self, frames_origin: str | None) -> None:
        if hasattr(self.source, "__array__") and not isinstance(self.source, np.ndarray):
            # A tensor of frames, as a Hugging Face dataset in torch format gives: the same frames as a numpy array.
            try:
                object.__setattr__(self, "source", np.asarray(self.source))
            except (TypeError, ValueError, RuntimeError) as error:  # a GPU tensor, say
                raise TypeError(f"{self.describe()}: cannot take its frames as a numpy array ({error}).") from None
        if isinstance(self.source, np.ndarray):
            check_decoded_frames(self.source, frames_origin or "The decoded frames of a VideoRecord")
        elif not is_video_source(self.source):
            # Checked here, since reading happens in a DataLoader worker, hours later, naming no record.
            raise TypeError(
                f"{self.describe()}: a VideoRecord's source must be {VIDEO_SOURCE_KINDS}, or decoded uint8 frames "
                f"[T, H, W, 3] (a numpy array or tensor); got {type(self.source).__name__}."
            )
        # Its range is checked where the classes are known (`read_video_list`, the model): an unlabelled test list
        # may mark its videos -1, and `xclip prepare` passes such lists through.
        if isinstance(self.label, bool) or not isinstance(self.label, (int, np.integer)):
            raise ValueError(f"{self.describe()}: the label must be an integer class index, got {self.label!r}.")
        if not _INT64_MIN <= self.label <= _INT64_MAX:
            # Batches hold labels as int64 tensors, which would fail to take it only when the batch is built.
            raise ValueError(f"{self.describe()}: the label {self.label} does not fit in a 64-bit integer.")

    def describe(self) -> str:
        """A short name for messages, e.g. `'/data/k400/a.mp4' (line 12)`."""
        if hasattr(self.source, "__array__"):  # a numpy array, or a tensor that cannot be one
            name = f"<decoded frames {tuple(getattr(self.source, 'shape', ()))}>"
        else:
            name = describe_source(self.source)
        return name if self.line is None else f"{name} (line {self.line})"


def check_decoded_frames(frames: np.ndarray, origin: str) -> None:
    """Check that already decoded frames are a uint8 RGB array `(T, H, W, 3)` of frames of at least one pixel.

    A wrong array is a wrong dataset rather than an unreadable video, so it is an error instead of a
    `VideoDecodeError` that training would skip. Other dtypes are refused rather than cast, since casting cannot
    know whether float frames are in [0, 1] or [0, 255], and wraps integers outside [0, 255] around. An array without
    frames, `(0, H, W, 3)` whatever H and W or the `(0,)` of an empty row, passes: like a video file without frames,
    it is an unreadable video, which `VideoClipDataset` skips in training and reports at evaluation.

    Args:
        frames: The frames.
        origin: Where they come from, starting the message, e.g. `"Row 3 of column 'video'"`.

    Raises:
        ValueError: The frames are not a `(T, H, W, 3)` array, or have no height or width.
        TypeError: They are not uint8.
    """
    found = f"{origin} holds {frames.dtype} frames of shape {tuple(frames.shape)}"
    # An empty row of a nested-list column reads as `(0,)`; without frames there is no frame size to check.
    if frames.shape != (0,) and (frames.ndim != 4 or frames.shape[-1] != 3):
        raise ValueError(f"{found}; expected an RGB array [T, H, W, 3].")
    empty = [name for name, size in zip(("height", "width"), frames.shape[1:3]) if size == 0] if len(frames) else []
    if empty:
        # Resizing would divide by the zero size, far from the dataset that holds the array.
        raise ValueError(f"{found}; expected an RGB array [T, H, W, 3], not frames with no {' or '.join(empty)}.")
    if frames.dtype != np.uint8:
        raise TypeError(
            f"{found}; expected uint8 values in [0, 255]. Convert them first, e.g. float frames in [0, 1] with "
            "`(frames * 255).round().astype(np.uint8)`."
        )


def check_num_classes(num_classes: object, what: str) -> None:
    """Check that `num_classes`, the number of classes that `what` (e.g. `"the labels of 'train.txt'"`) is checked
    against, is an integer >= 1 (a numpy integer too, not a bool).

    Raises:
        TypeError: It is not an integer.
        ValueError: It is below 1.
    """
    integer(f"num_classes, the number of classes {what} are checked against,", num_classes, minimum=1)


def is_json_list(list_file: PathLike) -> bool:
    """Whether a video list is in the JSON format (by its extension, as the original decides)."""
    return os.fspath(list_file).lower().endswith(".json")


def parse_video_list(list_file: PathLike) -> Iterator[tuple[str, int, int]]:
    """Yield `(relative_path, label, line)` for every entry of a video list; blank lines are skipped. For a `.json`
    list, `line` is the 1-based entry number.

    Raises:
        AnnotationError: The file is missing, a line is not `<path> <integer label>`, or a JSON entry is not
            `{"filename": path, "label": k or [k]}`.
    """
    path = Path(list_file)
    if not path.is_file():
        raise AnnotationError(path, "video list not found" if not path.exists() else "is not a file")
    if is_json_list(path):
        yield from _parse_json_list(path)
        return
    with open_annotation_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            fields = text.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise AnnotationError(
                    path,
                    f"expected '<relative_video_path> <label>' (two fields separated by whitespace; paths cannot "
                    f"contain spaces), got {len(fields)} field(s): {text.strip()!r}",
                    line,
                )
            relative_path, label_text = fields
            try:
                label = int(label_text)
            except ValueError:
                raise AnnotationError(path, f"the label {label_text!r} is not an integer class index", line) from None
            yield relative_path, label, line


def _parse_json_list(path: Path) -> Iterator[tuple[str, int, int]]:
    try:
        entries = json.load(open_annotation_text(path))
    except json.JSONDecodeError as error:
        raise AnnotationError(path, f"not valid JSON: {error.msg}", error.lineno) from None
    if not isinstance(entries, list):
        raise AnnotationError(path, 'expected a JSON list of {"filename": ..., "label": ...} objects')
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, dict) and "frame_dir" in entry and "filename" not in entry:
            raise AnnotationError(
                path, "'frame_dir' entries (folders of extracted frames) are not supported: give video files as "
                "'filename'", number, unit="entry"
            )
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str) or "label" not in entry:
            raise AnnotationError(
                path, f"expected an object with a 'filename' string and a 'label', got {entry!r:.100}", number,
                unit="entry",
            )
        label = entry["label"]
        if isinstance(label, list) and len(label) == 1:  # mmcv's single-label form
            label = label[0]
        if not isinstance(label, int) or isinstance(label, bool):
            raise AnnotationError(
                path, f"the label {entry['label']!r} is not a class index (multi-label lists are not supported)",
                number, unit="entry",
            )
        yield entry["filename"], label, number


def read_video_list(list_file: PathLike, root: PathLike, num_classes: int) -> list[VideoRecord]:
    """Read a video list and locate its videos under `root` (a folder, or the original's tar convention).

    Args:
        list_file: The list (`DATA.TRAIN_FILE` / `DATA.VAL_FILE`): one `<relative_video_path> <label>` per line, or
            a `.json` list of `{"filename", "label"}` objects.
        root: The video folder (`DATA.ROOT`); with `".tar"` in it, videos are read from tar archives.
        num_classes: Number of classes (rows of the labels CSV); every label must be in `[0, num_classes)`.

    Returns:
        One `VideoRecord` per entry, in file order.

    Raises:
        AnnotationError: The list is missing, malformed, empty, or names a label outside `[0, num_classes)`.
        TypeError, ValueError: `num_classes` is not an integer >= 1.
        FileNotFoundError: The video folder, or a tar archive the list needs, does not exist.
        ValueError: A tar archive is compressed or not a tar archive.
    """
    check_num_classes(num_classes, f"the labels of {os.fspath(list_file)!r}")
    unit = "entry" if is_json_list(list_file) else "line"
    records = []
    first_line_of: dict[str, int] = {}
    repeats: list[str] = []
    for relative_path, label, line in parse_video_list(list_file):
        if relative_path in first_line_of:
            repeats.append(f"{relative_path!r} ({unit}s {first_line_of[relative_path]} and {line})")
        first_line_of.setdefault(relative_path, line)
        if not 0 <= label < num_classes:
            raise AnnotationError(
                list_file,
                f"label {label} is outside [0, {num_classes}): the labels CSV (DATA.LABEL_LIST) has {num_classes} "
                "classes",
                line,
                unit,
            )
        # A record's `line` points into a text list; JSON entries are named by their path alone.
        text_line = line if unit == "line" else None
        records.append(VideoRecord(resolve_video_source(root, relative_path), label, text_line, relative_path))
    if not records:
        raise AnnotationError(list_file, "the video list has no entries")
    if repeats:
        # Kept, as the original keeps them, but worth knowing: each copy is one more training item, or one more
        # vote in the accuracy.
        logger.warning(
            "%s lists %d video(s) more than once, e.g. %s; each entry counts separately.",
            os.fspath(list_file), len(repeats), ", ".join(repeats[:3]),
        )
    check_video_root(root, records)
    return records


def check_video_root(root: PathLike, videos: Iterable[VideoRecord | RecordSource]) -> None:
    """Check that the folder, or each distinct tar archive, that `videos` (records, or their sources) are read from
    exists.

    Raises:
        FileNotFoundError: The video folder or an archive is missing.
        ValueError: An archive is compressed or not a tar archive.
    """
    if not is_tar_root(root):
        check_video_folder(root, "DATA.ROOT")
        return
    sources = [video.source if isinstance(video, VideoRecord) else video for video in videos]
    archives = sorted({os.fspath(source.tar_path) for source in sources if isinstance(source, TarMember)})
    for archive in archives:
        if not os.path.isfile(archive):
            raise FileNotFoundError(
                f"The tar archive {archive!r} does not exist. DATA.ROOT {os.fspath(root)!r} contains '.tar', so videos "
                "are read from '<folder>.tar' archives with the videos at the archive root, as in the original X-CLIP."
            )
        try:
            # Opening reads only the first header: cheap, and it rejects compressed or non-tar files early.
            with tarfile.open(archive, mode="r:"):
                pass
        except tarfile.TarError as error:
            raise ValueError(
                f"{archive!r} is not an uncompressed tar archive ({error}); videos are read in place, which needs an "
                "uncompressed tar ('tar -cf', not '-czf')."
            ) from None


def write_video_list(records: Sequence[VideoRecord], list_file: PathLike) -> Path:
    """Write records as a video list that `read_video_list` reads back, atomically: `<relative_video_path> <label>`
    per line, or for a `.json` file a list of `{"filename", "label"}` objects.

    Raises:
        ValueError: A record has no `relative_path` (it did not come from a video list).

    Returns:
        `list_file` as a `Path`.
    """
    for record in records:
        if record.relative_path is None:
            raise ValueError(f"Cannot write {record.describe()} to a video list: it has no relative path.")
    if is_json_list(list_file):
        entries = [{"filename": record.relative_path, "label": record.label} for record in records]
        return write_text_atomically(list_file, json.dumps(entries, indent=1) + "\n")
    return write_text_atomically(list_file, "".join(f"{record.relative_path} {record.label}\n" for record in records))
