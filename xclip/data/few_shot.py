"""K-shot training lists for the few-shot protocol (the original never released its lists).

The paper samples K videos per class at random from the training set (K in {2, 4, 8, 16}, HMDB-51 and UCF-101, first
split). Here the draw is seeded, and the list is written in the original's format so that the exact videos of a run
can be reused, shared, or passed to the original code as `DATA.TRAIN_FILE`.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..text_utils import format_names
from .video_list import PathLike, VideoRecord, read_video_list, write_video_list


logger = logging.getLogger(__name__)


def build_few_shot_list(
    records_or_list_file: Sequence[VideoRecord] | PathLike,
    k: int,
    seed: int,
    output_path: PathLike,
    *,
    root: PathLike | None = None,
    num_classes: int | None = None,
) -> list[VideoRecord]:
    """Draw `k` videos per class without replacement, and write them as a video list.

    The draw depends only on the full list, `k` and `seed`: each class's videos are taken in list order and `k` of
    them are chosen with `np.random.default_rng([seed, class])`, so adding a class does not change the others. The
    chosen videos keep their list order.

    Args:
        records_or_list_file: The full training set: records from `read_video_list`, or a list file (then `root` and
            `num_classes` are required to read it).
        k: Videos per class.
        seed: Seed of the draw.
        output_path: Where to write the K-shot list (e.g. `OUTPUT/train_8shot_seed0.txt`).
        root: Video folder, when a list file is given.
        num_classes: Number of classes. When given, every class in `[0, num_classes)` must have `k` videos, including
            classes absent from the list.

    Returns:
        The chosen records, grouped by class in class order.

    Raises:
        ValueError: `k` is not positive, or a class has fewer than `k` videos (all such classes are listed).
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    if isinstance(records_or_list_file, (str, os.PathLike)):
        if root is None or num_classes is None:
            raise ValueError("Reading a video list needs root (DATA.ROOT) and num_classes.")
        records = read_video_list(records_or_list_file, root, num_classes)
    else:
        records = list(records_or_list_file)

    by_class: dict[int, list[VideoRecord]] = defaultdict(list)
    for record in records:
        by_class[record.label].append(record)
    classes = range(num_classes) if num_classes is not None else sorted(by_class)
    too_small = {label: len(by_class.get(label, ())) for label in classes if len(by_class.get(label, ())) < k}
    if too_small:
        listed = format_names(
            (f"class {label}: {count}" for label, count in sorted(too_small.items())), limit=20, quote=False
        )
        raise ValueError(
            f"{len(too_small)} class(es) have fewer than k={k} videos ({listed}); a {k}-shot list needs {k} videos "
            "in every class."
        )

    chosen = []
    for label in classes:
        candidates = by_class[label]
        picks = np.random.default_rng([seed, label]).choice(len(candidates), size=k, replace=False)
        chosen.extend(candidates[position] for position in sorted(picks))
    write_video_list(chosen, output_path)
    logger.info("Wrote a %d-shot list of %d videos (seed %d) to %s", k, len(chosen), seed, Path(output_path))
    return chosen
