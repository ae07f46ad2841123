"""The official train/test splits of HMDB-51 and UCF-101, converted to the original X-CLIP's video lists.

Both datasets define three train/test splits, in formats of their own:

- HMDB-51 (`testTrainMulti_7030_splits/`): one file per class and split, `<class>_test_split<N>.txt` (e.g.
  `brush_hair_test_split1.txt`), each line `<video>.avi <tag>`: tag 1 is a training video, 2 a test video, 0 a video
  that split does not use. The video is `<class>/<video>.avi` in the extracted dataset.
- UCF-101 (`ucfTrainTestlist/`): `classInd.txt` with `<id> <ClassName>` lines (ids from 1), `trainlist0<N>.txt` with
  `<Class>/<video>.avi <id>` lines and `testlist0<N>.txt` with `<Class>/<video>.avi` lines (no label).

The training script reads `<relative_video_path> <label>` lists whose labels are rows of the original's labels CSV
(`labels/hmdb_51_labels.csv`, `labels/ucf_101_labels.csv`). HMDB-51's folders spell class names differently from its
CSV (`brush_hair` is `"brush hair"`), so classes are matched by `normalise_class_name`: lower case, without spaces,
underscores and hyphens. UCF-101's folders are named as `classInd.txt` names the classes (`HandstandPushups`; only the
video file names say `v_HandStandPushups_...`); matching them by `normalise_class_name` too costs nothing and lets a
hand-edited list write a folder in another case. A split lists each video once, so a video listed twice (in both
lists, which would leak test videos into training, or twice in one) is refused. `write_official_split_lists` writes
`train_split<N>.txt` and `test_split<N>.txt` for the three splits, the files `configs/zero_shot/{hmdb51,ucf101}.yaml`
(`TEST.ZERO_SHOT.SPLIT_FILES`) and the few-shot configs expect.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..files import folder_problem
from ..text_utils import format_names
from ..video.sources import check_video_folder
from .errors import AnnotationError, open_annotation_text
from .labels import normalise_class_name, read_label_names
from .video_list import PathLike, VideoRecord, write_video_list

__all__ = [
    "OFFICIAL_SPLITS",
    "OFFICIAL_SPLIT_READERS",
    "WrittenSplit",
    "hmdb51_split_lists",
    "ucf101_split_lists",
    "write_official_split_lists",
]

logger = logging.getLogger(__name__)

SplitLists = tuple[list[VideoRecord], list[VideoRecord]]

OFFICIAL_SPLITS = (1, 2, 3)
HMDB51_TAGS = {"0": None, "1": "train", "2": "test"}  # a video's role in one split; 0: not used by it
ITEMS_SHOWN = 10  # in a message listing classes, files or videos


def hmdb51_split_lists(splits_dir: PathLike, label_csv: PathLike, split: int) -> SplitLists:
    """The training and test videos of one official HMDB-51 split, labelled with rows of `label_csv`.

    Args:
        splits_dir: The extracted `testTrainMulti_7030_splits` folder: `<class>_test_split<N>.txt` per class and
            split, with `<video>.avi <tag>` lines (1: training, 2: test, 0: unused).
        label_csv: The labels CSV (`id,name`, class `k` on row `k`), e.g. `labels/hmdb_51_labels.csv`.
        split: 1, 2 or 3.

    Returns:
        `(train, test)` records in class order, then file order; each record's `relative_path` is
        `<class>/<video>.avi` and its `source` is that path relative to the video folder.

    Raises:
        AnnotationError: `splits_dir` is missing, a class of the CSV has no split file, a split file's class is not
            in the CSV, a line is malformed, or a video is tagged for training or test twice (named with its file and
            line number, and the other line's).
    """
    _check_split_number(split)
    folder = _existing_folder(splits_dir)
    suffix = f"_test_split{split}.txt"
    files = {path.name[: -len(suffix)]: path for path in sorted(folder.glob(f"*{suffix}"))}
    names = read_label_names(label_csv)
    rows = _rows_by_key(names, label_csv)
    unmatched = [f"{name!r} ({path.name})" for name, path in files.items() if normalise_class_name(name) not in rows]
    if unmatched:
        raise AnnotationError(
            label_csv, f"{len(unmatched)} class(es) of the HMDB-51 split files in {os.fspath(folder)!r} are not in "
            f"this labels CSV: {format_names(unmatched, ITEMS_SHOWN, quote=False)}"
        )
    file_of_row = _one_file_per_class(files, rows, folder)
    missing = [f"{names[row].replace(' ', '_')}{suffix}" for row in range(len(names)) if row not in file_of_row]
    if missing:
        raise AnnotationError(
            folder, f"no split {split} file for {len(missing)} class(es) of the labels CSV {os.fspath(label_csv)!r}: "
            f"expected {format_names(missing, ITEMS_SHOWN, quote=False)}"
        )

    lists: dict[str, list[VideoRecord]] = {"train": [], "test": []}
    listed: dict[str, tuple[Path, int]] = {}
    for row, (class_name, path) in sorted(file_of_row.items()):
        for line, fields, text in _split_file_lines(path):
            if len(fields) != 2 or fields[1] not in HMDB51_TAGS:
                raise AnnotationError(
                    path, f"expected '<video>.avi <tag>' with tag 1 (training), 2 (test) or 0 (unused), got {text!r}",
                    line,
                )
            role = HMDB51_TAGS[fields[1]]
            if role is not None:
                relative_path = f"{class_name}/{fields[0]}"
                _list_once(listed, relative_path, path, line)
                lists[role].append(_record(relative_path, row))
    return lists["train"], lists["test"]


def ucf101_split_lists(splits_dir: PathLike, label_csv: PathLike, split: int) -> SplitLists:
    """The training and test videos of one official UCF-101 split, labelled with rows of `label_csv`.

    The label is the class's row in the CSV, not its `classInd.txt` id (the two agree for the original's
    `ucf_101_labels.csv`, whose rows are in `classInd.txt`'s order; a warning says so when they do not). A test
    video's class is its folder's: the official lists write the folder as `classInd.txt` names the class (in
    `HandstandPushups/v_HandStandPushups_g01_c01.avi` only the file name spells it otherwise), and folders are matched
    by `normalise_class_name`, so a hand-edited list may write one in another case.

    Args:
        splits_dir: The extracted `ucfTrainTestlist` folder: `classInd.txt`, `trainlist0<N>.txt`, `testlist0<N>.txt`.
        label_csv: The labels CSV (`id,name`, class `k` on row `k`), e.g. `labels/ucf_101_labels.csv`.
        split: 1, 2 or 3.

    Returns:
        `(train, test)` records in file order; each record's `relative_path` is `<Class>/<video>.avi` as the split
        file writes it, and its `source` is that path relative to the video folder.

    Raises:
        AnnotationError: `splits_dir` or one of its three files is missing, a class of `classInd.txt` is not in the
            CSV (or the other way round), or a line is malformed, names an unknown class id or folder, puts a video
            in a folder of another class than its id's, or lists a video the training or test list already lists
            (named with its file and line number, and the other line's).
    """
    _check_split_number(split)
    folder = _existing_folder(splits_dir)
    row_of_id = _ucf101_class_rows(folder / "classInd.txt", label_csv)
    id_of_key = {key: class_id for class_id, (key, _) in row_of_id.items()}

    def folder_class(path: Path, line: int, relative_path: str) -> int:
        class_folder, slash, _ = relative_path.partition("/")
        if not slash or normalise_class_name(class_folder) not in id_of_key:
            raise AnnotationError(
                path, f"{relative_path!r} is not in the folder of a class of classInd.txt ('<Class>/<video>.avi')", line
            )
        return id_of_key[normalise_class_name(class_folder)]

    train_file, test_file = folder / f"trainlist0{split}.txt", folder / f"testlist0{split}.txt"
    listed: dict[str, tuple[Path, int]] = {}
    train = []
    for line, fields, text in _split_file_lines(train_file):
        if len(fields) != 2 or not fields[1].isdecimal():
            raise AnnotationError(train_file, f"expected '<Class>/<video>.avi <class id>', got {text!r}", line)
        relative_path, class_id = fields[0], int(fields[1])
        if class_id not in row_of_id:
            raise AnnotationError(train_file, f"class id {class_id} is not in classInd.txt", line)
        if folder_class(train_file, line, relative_path) != class_id:
            raise AnnotationError(
                train_file, f"{relative_path!r} is not in the folder of class {class_id} of classInd.txt", line
            )
        _list_once(listed, relative_path, train_file, line)
        train.append(_record(relative_path, row_of_id[class_id][1]))
    test = []
    for line, fields, text in _split_file_lines(test_file):
        if len(fields) != 1:
            raise AnnotationError(test_file, f"expected '<Class>/<video>.avi' (no label), got {text!r}", line)
        class_id = folder_class(test_file, line, fields[0])
        _list_once(listed, fields[0], test_file, line)
        test.append(_record(fields[0], row_of_id[class_id][1]))
    return train, test


OFFICIAL_SPLIT_READERS: dict[str, Callable[[PathLike, PathLike, int], SplitLists]] = {
    "hmdb51": hmdb51_split_lists,
    "ucf101": ucf101_split_lists,
}


@dataclass(frozen=True)
class WrittenSplit:
    """One official split as `write_official_split_lists` wrote it.

    Attributes:
        split: 1, 2 or 3.
        train, test: Its training and test videos.
        train_file, test_file: The video lists written (`train_split<N>.txt`, `test_split<N>.txt`).
    """

    split: int
    train: list[VideoRecord]
    test: list[VideoRecord]
    train_file: Path
    test_file: Path

    def summary(self) -> str:
        """E.g. `split 1: 3570 training and 1530 test videos of 51 classes -> out/train_split1.txt, ...`."""
        classes = len({record.label for record in [*self.train, *self.test]})
        return (
            f"split {self.split}: {len(self.train)} training and {len(self.test)} test videos of {classes} classes -> "
            f"{self.train_file}, {self.test_file}"
        )


def write_official_split_lists(
    dataset: str,
    splits_dir: PathLike,
    label_csv: PathLike,
    output_dir: PathLike,
    video_root: PathLike | None = None,
    overwrite: bool = False,
) -> list[WrittenSplit]:
    """Convert the three official splits of HMDB-51 or UCF-101 to `train_split<N>.txt` and `test_split<N>.txt`.

    Every split is read and checked before anything is written, and each list is written atomically, so bad input
    leaves `output_dir` as it was.

    Args:
        dataset: `"hmdb51"` or `"ucf101"`.
        splits_dir: The dataset's extracted split folder (see `hmdb51_split_lists`, `ucf101_split_lists`).
        label_csv: The dataset's labels CSV; labels are its rows.
        output_dir: Where to write the six lists (created if needed).
        video_root: The dataset's video folder (`DATA.ROOT`). When given, every listed video must exist in it.
        overwrite: Replace split lists that `output_dir` already holds; by default they are kept and nothing is
            written.

    Returns:
        The splits written, in order.

    Raises:
        ValueError: `dataset` is not one of the two; `output_dir` is a file, or already holds split lists and
            `overwrite` is not set, or one of them is the labels CSV.
        AnnotationError: See `hmdb51_split_lists` and `ucf101_split_lists`; also a split without training or test
            videos.
        FileNotFoundError: `video_root` is not a folder, or videos the splits list are not in it (the first
            `ITEMS_SHOWN` named, and the count).
    """
    if dataset not in OFFICIAL_SPLIT_READERS:
        raise ValueError(f"Unknown dataset {dataset!r}; expected one of {sorted(OFFICIAL_SPLIT_READERS)}.")
    read_split = OFFICIAL_SPLIT_READERS[dataset]
    output_dir = Path(output_dir)
    _check_output_folder(output_dir, label_csv, overwrite)
    lists = {split: read_split(splits_dir, label_csv, split) for split in OFFICIAL_SPLITS}
    for split, (train, test) in lists.items():
        for kind, records in (("training", train), ("test", test)):
            if not records:
                raise AnnotationError(splits_dir, f"split {split} has no {kind} videos")
    if video_root is not None:
        _check_videos_exist(video_root, (record for train, test in lists.values() for record in [*train, *test]))

    written = []
    for split, (train, test) in lists.items():
        train_file = write_video_list(train, output_dir / f"train_split{split}.txt")
        test_file = write_video_list(test, output_dir / f"test_split{split}.txt")
        written.append(WrittenSplit(split, train, test, train_file, test_file))
    logger.info("Wrote the %s lists of splits %s to %s", dataset, OFFICIAL_SPLITS, output_dir)
    return written


def _split_list_files(output_dir: Path) -> list[Path]:
    return [output_dir / f"{kind}_split{split}.txt" for split in OFFICIAL_SPLITS for kind in ("train", "test")]


def _check_output_folder(output_dir: Path, label_csv: PathLike, overwrite: bool) -> None:
    """`output_dir` must be (or become) a folder whose split lists may be written: none there yet unless
    `overwrite`, and never one that is the labels CSV."""
    problem = folder_problem(output_dir)
    if problem is not None:
        raise ValueError(f"The output folder {os.fspath(output_dir)!r} {problem}.")
    targets = _split_list_files(output_dir)
    labels = Path(label_csv).resolve()
    for target in targets:
        if target.is_dir():
            raise ValueError(f"{os.fspath(target)!r} is a folder; the split list cannot be written there.")
        if target.resolve() == labels:
            raise ValueError(f"The split list {os.fspath(target)!r} would be written over the labels CSV.")
    existing = [target.name for target in targets if target.exists()]
    if existing and not overwrite:
        raise ValueError(
            f"The output folder {os.fspath(output_dir)!r} already holds split lists ({', '.join(existing)}); pass "
            "--overwrite (overwrite=True) to replace them."
        )


def _check_split_number(split: int) -> None:
    if split not in OFFICIAL_SPLITS:
        raise ValueError(f"The official splits are numbered {OFFICIAL_SPLITS}, got {split!r}.")


def _existing_folder(splits_dir: PathLike) -> Path:
    folder = Path(splits_dir)
    if not folder.is_dir():
        raise AnnotationError(folder, "splits folder not found" if not folder.exists() else "is not a folder")
    return folder


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise AnnotationError(path, "split file not found" if not path.exists() else "is not a file")


def _split_file_lines(path: Path) -> Iterator[tuple[int, list[str], str]]:
    """`(line number, whitespace-separated fields, stripped text)` of each non-blank line (the official files have
    Windows line ends and trailing spaces; `utf-8-sig` drops a byte order mark an editor may have written, which would
    otherwise stick to the first video or class id)."""
    _check_file(path)
    with open_annotation_text(path) as handle:
        for line, text in enumerate(handle, start=1):
            if text.strip():
                yield line, text.split(), text.strip()


def _list_once(listed: dict[str, tuple[Path, int]], relative_path: str, path: Path, line: int) -> None:
    """Record that line `line` of `path` lists `relative_path` in `listed` (`relative_path -> (file, line)`, shared by
    the training and test lists of one split), refusing a second listing: in the other list it would leak a test
    video into training, in the same one it would count the video twice."""
    if relative_path in listed:
        first_path, first_line = listed[relative_path]
        raise AnnotationError(
            path, f"{relative_path!r} is listed again: the split lists it at {os.fspath(first_path)!r}, line "
            f"{first_line}; each video belongs in its training or test list once", line,
        )
    listed[relative_path] = (path, line)


def _rows_by_key(names: Sequence[str], label_csv: PathLike) -> dict[str, int]:
    """`normalise_class_name(name) -> row` of a labels CSV's names, which must stay distinct once keyed."""
    rows: dict[str, int] = {}
    for row, name in enumerate(names):
        key = normalise_class_name(name)
        if key in rows:
            raise AnnotationError(
                label_csv, f"classes {names[rows[key]]!r} and {name!r} differ only in case, spaces, underscores or "
                "hyphens, so the split files cannot tell them apart", row + 2,
            )
        rows[key] = row
    return rows


def _one_file_per_class(files: dict[str, Path], rows: dict[str, int], folder: Path) -> dict[int, tuple[str, Path]]:
    """`row -> (class folder name, split file)`, refusing two split files of one class (`a_b` and `a-b`)."""
    file_of_row: dict[int, tuple[str, Path]] = {}
    for class_name, path in files.items():
        row = rows[normalise_class_name(class_name)]
        if row in file_of_row:
            raise AnnotationError(
                folder, f"{file_of_row[row][1].name} and {path.name} are split files of the same class"
            )
        file_of_row[row] = (class_name, path)
    return file_of_row


def _ucf101_class_rows(class_index: Path, label_csv: PathLike) -> dict[int, tuple[str, int]]:
    """`classInd.txt` id -> `(normalised name, labels CSV row)`; the two files must name the same classes."""
    names = read_label_names(label_csv)
    rows = _rows_by_key(names, label_csv)
    row_of_id: dict[int, tuple[str, int]] = {}
    for line, fields, text in _split_file_lines(class_index):
        if len(fields) != 2 or not fields[0].isdecimal():
            raise AnnotationError(class_index, f"expected '<class id> <ClassName>', got {text!r}", line)
        class_id, key = int(fields[0]), normalise_class_name(fields[1])
        if class_id in row_of_id:
            raise AnnotationError(class_index, f"class id {class_id} appears twice", line)
        if key not in rows:
            raise AnnotationError(
                class_index, f"class {fields[1]!r} is not in the labels CSV {os.fspath(label_csv)!r}", line
            )
        row_of_id[class_id] = (key, rows[key])
    listed = {key for key, _ in row_of_id.values()}
    absent = [name for name in names if normalise_class_name(name) not in listed]
    if absent:
        raise AnnotationError(
            class_index, f"{len(absent)} class(es) of the labels CSV {os.fspath(label_csv)!r} are not listed: "
            f"{format_names(absent, ITEMS_SHOWN)}"
        )
    renumbered = sorted(class_id for class_id, (_, row) in row_of_id.items() if row != class_id - 1)
    if renumbered:
        logger.warning(
            "%s: %d class id(s) (first: %d) are not their labels CSV row + 1; the lists use the CSV rows.",
            class_index, len(renumbered), renumbered[0],
        )
    return row_of_id


def _record(relative_path: str, label: int) -> VideoRecord:
    return VideoRecord(Path(relative_path), label, relative_path=relative_path)


def _check_videos_exist(video_root: PathLike, records: Iterable[VideoRecord]) -> None:
    check_video_folder(video_root, "--video-root")
    root = Path(video_root)
    listed = sorted({record.relative_path for record in records})
    missing = [relative_path for relative_path in listed if not (root / relative_path).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{len(missing)} of the {len(listed)} videos of the splits are not in the video folder "
            f"{os.fspath(root)!r}: {format_names(missing, ITEMS_SHOWN, quote=False)}"
        )
