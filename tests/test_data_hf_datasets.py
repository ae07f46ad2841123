"""Hugging Face datasets refused when they are wrapped, not at their first item: what is passed instead of a
`datasets.Dataset`, label columns that hold lists or disagree with `num_classes`, and frame columns whose schema is
not uint8; PIL frames of more than 8 bits, refused naming the row. (Reading Hugging Face datasets is
tested with `VideoClipDataset` in test_data_dataset.py.)"""

import numpy as np
import pytest
from PIL import Image

from xclip.data import HFVideoRecords, from_hf_dataset


datasets = pytest.importorskip("datasets")

OPTIONS = {"num_frames": 2, "training": True, "image_size": 32}


def paths_dataset(labels, features=None):
    videos = [f"v{row}.mp4" for row in range(len(labels))]
    return datasets.Dataset.from_dict({"video": videos, "label": labels}, features=features)


@pytest.mark.parametrize("labels", [[[0], [1]], [[0, 1], [1, 0]], [[0], [0, 1]]])
def test_a_label_column_of_lists_is_refused_when_wrapped(labels):
    message = r"^Column 'label' must hold one integer class index per row; its feature type List\(Value\('int64'\)\)"
    with pytest.raises(ValueError, match=message):
        from_hf_dataset(paths_dataset(labels), **OPTIONS)
    with pytest.raises(ValueError, match=message):
        HFVideoRecords(paths_dataset(labels), "video", "label")


def test_num_classes_must_agree_with_a_class_label_column():
    features = datasets.Features({"video": datasets.Value("string"), "label": datasets.ClassLabel(names=["a", "b"])})
    hf_dataset = paths_dataset([0, 1], features)
    with pytest.raises(ValueError, match=r"num_classes=3 disagrees with column 'label', a ClassLabel of 2 names"):
        from_hf_dataset(hf_dataset, num_classes=3, **OPTIONS)
    assert len(from_hf_dataset(hf_dataset, num_classes=np.int64(2), **OPTIONS)) == 2
    assert len(from_hf_dataset(hf_dataset, **OPTIONS)) == 2


@pytest.mark.parametrize("num_classes, error", [(2.5, TypeError), (True, TypeError), (0, ValueError)])
def test_num_classes_must_be_a_positive_integer(num_classes, error):
    with pytest.raises(error, match="^num_classes, the number of classes the labels of column 'label'"):
        from_hf_dataset(paths_dataset([0, 1]), num_classes=num_classes, **OPTIONS)


def test_what_is_not_a_dataset_is_refused_saying_what_is_expected():
    rows = [{"video": "v0.mp4", "label": 0}]
    with pytest.raises(TypeError, match=r"^Expected a datasets.Dataset, got list; .*Dataset.from_list\(rows\)"):
        from_hf_dataset(rows, **OPTIONS)
    splits = datasets.DatasetDict({"train": paths_dataset([0]), "validation": paths_dataset([1])})
    message = r"got a DatasetDict of the splits \['train', 'validation'\]: pass one split, e.g. dataset\['train'\]"
    with pytest.raises(TypeError, match=message):
        from_hf_dataset(splits, **OPTIONS)
    with pytest.raises(TypeError, match="got an IterableDataset"):
        from_hf_dataset(paths_dataset([0]).to_iterable_dataset(), **OPTIONS)


def test_frames_whose_schema_is_not_uint8_are_refused_when_wrapped():
    # Python ints make an int64 column: every row would be refused, so the first row's error comes at once.
    frames = np.zeros((3, 4, 4, 3), np.uint8).tolist()
    as_ints = datasets.Dataset.from_dict({"clip": [frames, frames], "label": [0, 1]})
    message = r"^Row 0 of column 'clip' holds int64 frames of shape \(3, 4, 4, 3\); expected uint8"
    with pytest.raises(TypeError, match=message):
        from_hf_dataset(as_ints, video_column="clip", **OPTIONS)
    with pytest.raises(TypeError, match=message):
        HFVideoRecords(as_ints, "clip", "label")
    as_floats = datasets.Dataset.from_dict({"video": [np.zeros((2, 4, 4, 3))] * 2, "label": [0, 1]})
    with pytest.raises(TypeError, match=r"^Row 0 of column 'video' holds float64 frames of shape \(2, 4, 4, 3\)"):
        from_hf_dataset(as_floats, **OPTIONS)
    # Cast to the uint8 schema, the same lists are frames.
    uint8_frames = datasets.Value("uint8")
    for _ in range(4):
        uint8_frames = datasets.Sequence(uint8_frames)
    as_uint8 = as_ints.cast(datasets.Features({"clip": uint8_frames, "label": datasets.Value("int64")}))
    record = HFVideoRecords(as_uint8, "clip", "label")[1]
    assert record.source.dtype == np.uint8 and record.source.shape == (3, 4, 4, 3) and record.label == 1


@pytest.mark.parametrize("format_type", ["torch", "numpy"])
def test_uint8_frames_read_through_a_format_keep_their_schema_dtype(format_type):
    """A formatted dataset returns integer frames as int64; the column's uint8 schema says what they are."""
    frames = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    plain = datasets.Dataset.from_dict({"video": [frames], "label": [0]})
    formatted = HFVideoRecords(plain.with_format(format_type), "video", "label")[0].source
    assert formatted.dtype == np.uint8 and np.array_equal(formatted, frames)


@pytest.mark.parametrize(("mode", "values"), [("I;16", np.full((4, 6), 1000, np.uint16)),
                                              ("I", np.full((4, 6), 1000, np.int32))])
def test_pil_frames_of_more_than_8_bits_are_refused_naming_the_row(mode, values):
    """PIL's RGB rendering would clip them to 0-255 levels, as the video processor's check says; a record's advice
    offers no floats, which it refuses (mode F: test_data_dataset.py)."""
    frames = [Image.fromarray(values)]
    assert frames[0].mode == mode
    hf_dataset = datasets.Dataset.from_dict({"video": [frames], "label": [0]})
    with pytest.raises(TypeError, match=rf"^Row 0 of column 'video' holds PIL frames in mode {mode}, which are not "):
        HFVideoRecords(hf_dataset, "video", "label")[0]
