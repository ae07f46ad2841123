"""Test sets of the zero-shot protocols: a checkpoint is evaluated on label sets it was not trained on.

- HMDB-51 and UCF-101: the full label set on each of the three official test splits, mean and std of top-1.
  `xclip splits` (`write_official_split_lists`) converts the datasets' own split files (HMDB-51's
  `testTrainMulti_7030_splits`, UCF-101's `ucfTrainTestlist`) into `test_split{1,2,3}.txt` lists in the original
  format, which `zero_shot_splits_from_lists` reads.
- Kinetics-600: the 220 classes that are not Kinetics-400 classes (`kinetics600_novel_classes`), in three random
  160-class subsets; each subset is evaluated with only its own 160 class texts (non-generalised zero-shot), and the
  mean and std of top-1 and top-5 are reported. X-CLIP follows ER-ZSAR (Chen & Huang, ICCV 2021), whose subsets were
  never published, so exact reproduction is impossible. Ours are deterministic: `novel_class_splits` draws subset `i`
  with `np.random.default_rng([seed, i])` from the 220 classes in Kinetics-600 order (`seed=0` by default), so a
  run redraws the same subsets from `TEST.ZERO_SHOT.SUBSET_SEED`. `write_zero_shot_split` writes one split as a labels
  CSV and a relabelled video list, to inspect it or to evaluate it alone as an ordinary test set (`DATA.LABEL_LIST`,
  `DATA.VAL_FILE`, `DATA.NUM_CLASSES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .kinetics import kinetics600_novel_classes
from .labels import read_label_names, write_label_names
from .video_list import PathLike, VideoRecord, read_video_list, write_video_list


KINETICS600_SPLIT_SIZE = 160
KINETICS600_NUM_SPLITS = 3


@dataclass
class ZeroShotSplit:
    """One test set of a zero-shot protocol.

    Attributes:
        name: E.g. `"split1"`.
        class_names: The class texts of this split; record labels index into it.
        records: The test videos.
    """

    name: str
    class_names: list[str]
    records: list[VideoRecord]


def novel_class_splits(
    names: Sequence[str],
    num_splits: int = KINETICS600_NUM_SPLITS,
    split_size: int = KINETICS600_SPLIT_SIZE,
    seed: int = 0,
) -> list[list[str]]:
    """Draw `num_splits` class subsets of `split_size` classes each, deterministically.

    Subset `i` is `split_size` classes drawn without replacement with `np.random.default_rng([seed, i])`, kept in
    the order of `names`.

    Raises:
        ValueError: `split_size` is not in `[1, len(names)]`, or `names` has duplicates.
    """
    if len(set(names)) != len(names):
        raise ValueError("names has duplicate class names.")
    if not 1 <= split_size <= len(names):
        raise ValueError(f"split_size must be in [1, {len(names)}] for {len(names)} classes, got {split_size}.")
    if num_splits < 1:
        raise ValueError(f"num_splits must be positive, got {num_splits}.")
    splits = []
    for split in range(num_splits):
        chosen = np.random.default_rng([seed, split]).choice(len(names), size=split_size, replace=False)
        splits.append([names[position] for position in sorted(chosen)])
    return splits


def restrict_to_classes(
    records: Sequence[VideoRecord], class_names: Sequence[str], selected: Sequence[str]
) -> list[VideoRecord]:
    """Keep the videos of the `selected` classes, relabelled to their position in `selected`.

    Args:
        records: Videos labelled with indices into `class_names`.
        class_names: The label set of `records`.
        selected: Names of the classes to keep, all in `class_names`; new label `j` is `selected[j]`.

    Raises:
        ValueError: A selected name is not in `class_names`.
    """
    position = {name: index for index, name in enumerate(class_names)}
    missing = [name for name in selected if name not in position]
    if missing:
        raise ValueError(f"{len(missing)} selected class(es) are not in the label set, e.g. {missing[:5]}.")
    new_label = {position[name]: index for index, name in enumerate(selected)}
    return [replace(record, label=new_label[record.label]) for record in records if record.label in new_label]


def kinetics600_zero_shot_splits(
    k400_csv: PathLike,
    k600_csv: PathLike,
    val_list: PathLike,
    root: PathLike,
    *,
    num_splits: int = KINETICS600_NUM_SPLITS,
    split_size: int = KINETICS600_SPLIT_SIZE,
    seed: int = 0,
) -> list[ZeroShotSplit]:
    """The Kinetics-600 new-class test sets: `num_splits` subsets of the classes absent from Kinetics-400.

    Args:
        k400_csv: Kinetics-400 labels CSV.
        k600_csv: Kinetics-600 labels CSV; the labels of `val_list` index into it.
        val_list: Kinetics-600 test videos in the original list format, with Kinetics-600 labels.
        root: Video folder of `val_list`.
        num_splits, split_size, seed: See `novel_class_splits`.

    Returns:
        One `ZeroShotSplit` per subset, named `split1`, `split2`, ...
    """
    k600_names = read_label_names(k600_csv)
    records = read_video_list(val_list, root, len(k600_names))
    subsets = novel_class_splits(kinetics600_novel_classes(k400_csv, k600_csv), num_splits, split_size, seed)
    return [
        ZeroShotSplit(f"split{number}", subset, restrict_to_classes(records, k600_names, subset))
        for number, subset in enumerate(subsets, start=1)
    ]


def zero_shot_splits_from_lists(
    list_files: Sequence[PathLike], label_csv: PathLike, root: PathLike, names: Sequence[str] | None = None
) -> list[ZeroShotSplit]:
    """Test sets that share one label set, e.g. the three official HMDB-51 or UCF-101 test splits.

    Args:
        list_files: One video list per split, in the original format.
        label_csv: The labels CSV of the dataset.
        root: Video folder.
        names: Split names; defaults to `split1`, `split2`, ...
    """
    class_names = read_label_names(label_csv)
    names = list(names) if names is not None else [f"split{number}" for number in range(1, len(list_files) + 1)]
    if len(names) != len(list_files):
        raise ValueError(f"Got {len(names)} split names for {len(list_files)} list files.")
    return [
        ZeroShotSplit(name, class_names, read_video_list(list_file, root, len(class_names)))
        for name, list_file in zip(names, list_files)
    ]


def write_zero_shot_split(split: ZeroShotSplit, output_dir: PathLike) -> tuple[Path, Path]:
    """Save a split as `<name>_labels.csv` and `<name>_test.txt` in the original formats (`DATA.LABEL_LIST`,
    `DATA.VAL_FILE`).

    Returns:
        The labels CSV and the video list paths.
    """
    output_dir = Path(output_dir)
    labels_csv = write_label_names(split.class_names, output_dir / f"{split.name}_labels.csv")
    video_list = write_video_list(split.records, output_dir / f"{split.name}_test.txt")
    return labels_csv, video_list
