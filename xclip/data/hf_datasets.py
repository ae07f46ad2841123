"""Training and evaluating on a Hugging Face `datasets.Dataset` with a video column and a label column.

The video column may hold, per row:

- a path (`str` or `os.PathLike`), relative paths being joined with `root` when given;
- a `datasets.Video` value: the column is read with `decode=False` (`{"path", "bytes"}` dictionaries) and decoded
  here with PyAV, so no torchcodec is needed and sampling is exactly the original's;
- encoded bytes;
- decoded frames: a uint8 array, tensor or nested list `(T, H, W, 3)`, or a list of PIL images (read as the video
  processor reads them, transparent ones composited onto white as it composites them). Frames of another
  dtype or shape are an error naming the row, not an unreadable video; convert them to uint8 first. A column whose
  schema gives another dtype (nested Python ints are int64) is refused when the dataset is wrapped. A row without
  frames is an unreadable video, as a video file without frames is (see `VideoClipDataset`).

Rows are converted to `VideoRecord`s lazily, one at a time, so a dataset that embeds its videos is not loaded into
memory at once.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
from transformers.image_utils import ChannelDimension
from transformers.video_utils import convert_to_rgb

from ..processing.video_inputs import pil_frame_to_array
from .dataset import VideoClipDataset
from .video_list import RecordSource, VideoRecord, check_num_classes


class HFVideoRecords(Sequence):
    """The rows of a Hugging Face dataset as `VideoRecord`s, converted on access.

    Args:
        dataset: A `datasets.Dataset`.
        video_column: Column holding the videos (see the module docstring for the accepted values).
        label_column: Column holding integer class indices.
        root: Folder that relative video paths are joined with.

    Raises:
        TypeError: `dataset` is not a `datasets.Dataset`, or its schema says that the video column holds frames of
            another dtype than uint8 (the first row's error).
        KeyError: A column is missing.
        ValueError: The label column holds lists, not one class index per row.
    """

    def __init__(self, dataset: Any, video_column: str, label_column: str, root: str | os.PathLike | None = None):
        import datasets

        _check_is_dataset(dataset)
        for column in (video_column, label_column):
            if column not in dataset.column_names:
                raise KeyError(f"The dataset has no column {column!r}; its columns are {dataset.column_names}.")
        label_feature = dataset.features[label_column]
        array_features = (datasets.Array2D, datasets.Array3D, datasets.Array4D, datasets.Array5D)
        if hasattr(label_feature, "feature") or isinstance(label_feature, array_features):
            raise ValueError(
                f"Column {label_column!r} must hold one integer class index per row; its feature type {label_feature} "
                "holds a list per row (multi-label datasets are not supported)."
            )
        dataset = dataset.select_columns([video_column, label_column])
        feature = dataset.features[video_column]
        if isinstance(feature, datasets.Video) and feature.decode:
            dataset = dataset.cast_column(video_column, datasets.Video(decode=False))
        self.dataset = dataset
        self.video_column = video_column
        self._frame_list_dtype = _list_element_dtype(feature)
        self.label_column = label_column
        self.root = Path(root) if root is not None else None
        if self._frame_list_dtype is not None and self._frame_list_dtype != np.uint8 and len(dataset):
            # The schema gives every row this dtype, so the first row's error is every row's: raised now, rather than
            # at the first item, in a DataLoader worker after the model is loaded.
            self[0]

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> VideoRecord:
        row = self.dataset[int(index)]
        return VideoRecord(
            self._source(row[self.video_column], index),
            int(row[self.label_column]),
            frames_origin=f"Row {index} of column {self.video_column!r}",
        )

    def _source(self, value: Any, index: int) -> RecordSource:
        if isinstance(value, dict):
            # A `datasets.Video(decode=False)` value: embedded bytes win over a path that may be repository-relative.
            if value.get("bytes"):
                return value["bytes"]
            value = value.get("path")
        if isinstance(value, (str, os.PathLike)):
            path = Path(value)
            return self.root / path if self.root is not None and not path.is_absolute() else path
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], PIL.Image.Image):
            return np.stack([_rgb_on_white(image, f"Row {index} of column {self.video_column!r}") for image in value])
        if isinstance(value, (list, tuple)) and not value:
            # No frames, whatever the column holds (an image column's schema gives no dtype): an unreadable video.
            return np.empty((0,), np.uint8)
        if isinstance(value, (list, tuple)) or hasattr(value, "__array__"):
            # Rows of nested lists come back as Python numbers, and formatted ones (`with_format("torch")`) as int64:
            # the column's schema keeps their real dtype.
            from_schema = isinstance(value, (list, tuple)) or self._frame_list_dtype == np.uint8
            return np.asarray(value, dtype=self._frame_list_dtype if from_schema else None)
        raise TypeError(
            f"Row {index} of column {self.video_column!r} holds {type(value).__name__}; expected a path, a "
            "datasets.Video value, bytes, or frames [T, H, W, 3]."
        )


def _rgb_on_white(image: PIL.Image.Image, origin: str) -> np.ndarray:
    """A PIL frame as uint8 `(H, W, 3)`, its values read as the video processor reads them (`pil_frame_to_array`).
    Transparency is composited onto white as the processor composites it at inference (transformers'
    `convert_to_rgb`), rounded to 0-255 levels.

    Raises:
        TypeError: A float (mode `F`), 16-bit or 32-bit integer frame.
    """
    try:
        values = pil_frame_to_array(image, origin)
    except TypeError:  # 16- or 32-bit integers; the processor's advice would offer floats, which a record refuses
        values = None
    if values is None or values.dtype != np.uint8:
        # The processor reads mode F on the scale `do_rescale` says; a record holds uint8 frames, and nothing tells
        # whether these floats are in [0, 1] or [0, 255], so converting them could only guess (as for float arrays,
        # which `check_decoded_frames` refuses).
        raise TypeError(
            f"{origin} holds PIL frames in mode {image.mode}, which are not 8-bit; convert them to uint8 RGB first, "
            "e.g. 16-bit values with `values // 257`, float values in [0, 1] with `(values * 255).round()`."
        )
    if values.shape[-1] == 3:
        return values
    rgb = convert_to_rgb(values, input_data_format=ChannelDimension.LAST)  # (3, H, W)
    return np.round(rgb).astype(np.uint8).transpose(1, 2, 0)


def _check_is_dataset(dataset: Any) -> None:
    import datasets

    if isinstance(dataset, (datasets.DatasetDict, datasets.IterableDatasetDict)):
        split = next(iter(dataset), "train")
        raise TypeError(
            f"Expected a datasets.Dataset, got a {type(dataset).__name__} of the splits {list(dataset)}: pass one "
            f"split, e.g. dataset[{split!r}]."
        )
    if isinstance(dataset, datasets.IterableDataset):
        raise TypeError(
            "Expected a datasets.Dataset, got an IterableDataset (a streamed dataset), which cannot be indexed; load "
            "it without streaming=True."
        )
    if not isinstance(dataset, datasets.Dataset):
        hint = "; for a list of row dicts, pass datasets.Dataset.from_list(rows)" if isinstance(dataset, list) else ""
        raise TypeError(f"Expected a datasets.Dataset, got {type(dataset).__name__}{hint}.")


def _list_element_dtype(feature: Any) -> np.dtype | None:
    """The numeric dtype of the elements of a nested-list or array column (`List(List(...Value("uint8")))`,
    `Array4D(dtype="uint8")`), or `None` for other columns."""
    while hasattr(feature, "feature"):  # List, LargeList, Sequence
        feature = feature.feature
    element_type = getattr(feature, "dtype", None)
    try:
        return np.dtype(element_type) if isinstance(element_type, str) else None
    except TypeError:  # "string", "binary", "PIL.Image.Image", ...
        return None


def hf_label_names(dataset: Any, label_column: str = "label") -> list[str] | None:
    """The class names of a `datasets.ClassLabel` label column, or `None` when the column has no names."""
    import datasets

    feature = dataset.features.get(label_column)
    return list(feature.names) if isinstance(feature, datasets.ClassLabel) else None


def from_hf_dataset(
    dataset: Any,
    video_column: str = "video",
    label_column: str = "label",
    *,
    num_classes: int | None = None,
    root: str | os.PathLike | None = None,
    **dataset_kwargs: Any,
) -> VideoClipDataset:
    """Wrap a Hugging Face dataset as a `VideoClipDataset` (same items as for a video list).

    Args:
        dataset: A `datasets.Dataset` (one split of a `DatasetDict`).
        video_column: Column holding the videos.
        label_column: Column holding integer class indices.
        num_classes: Number of classes; defaults to that of a `ClassLabel` column, which it must equal. Labels are
            checked against it.
        root: Folder that relative video paths are joined with.
        **dataset_kwargs: `VideoClipDataset` options (`num_frames` and `training` are required).

    Raises:
        TypeError: `dataset` is not a `datasets.Dataset`, `num_classes` is not an integer, or the schema says the
            video column holds frames that are not uint8.
        KeyError: A column is missing.
        ValueError: A label is not an integer or is outside `[0, num_classes)`, the label column holds lists, or
            `num_classes` is below 1 or differs from the `ClassLabel`'s number of names.
    """
    records = HFVideoRecords(dataset, video_column, label_column, root)
    names = hf_label_names(dataset, label_column)
    if num_classes is not None:
        check_num_classes(num_classes, f"the labels of column {label_column!r}")
        if names is not None and num_classes != len(names):
            raise ValueError(
                f"num_classes={num_classes} disagrees with column {label_column!r}, a ClassLabel of {len(names)} "
                "names; leave num_classes out to take the ClassLabel's."
            )
    if num_classes is None and names is not None:
        num_classes = len(names)
    _check_labels(np.asarray(records.dataset[label_column]), label_column, num_classes)
    return VideoClipDataset(records, **dataset_kwargs)


def _check_labels(labels: np.ndarray, label_column: str, num_classes: int | None) -> None:
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"Column {label_column!r} must hold integer class indices, got {labels.dtype}.")
    upper = num_classes if num_classes is not None else np.inf
    bad_rows = np.flatnonzero((labels < 0) | (labels >= upper))
    if bad_rows.size:
        row = int(bad_rows[0])
        allowed = f"[0, {num_classes})" if num_classes is not None else "non-negative"
        raise ValueError(
            f"Row {row} of column {label_column!r} has label {int(labels[row])}, outside {allowed} "
            f"({bad_rows.size} such row(s))."
        )
