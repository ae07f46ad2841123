"""VideoClipDataset: item format, determinism per (seed, epoch, index), unreadable videos, tar roots, HF datasets."""

import logging
import tarfile

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from xclip.data import VideoClipDataset, VideoRecord, from_hf_dataset, read_video_list
from xclip.processing import XCLIPTrainTransform, XCLIPVideoProcessor
from xclip.video import sample_dense_indices
from xclip.video.synthetic import index_coded_frames, moving_texture_frames, read_index_code, write_video


NUM_FRAMES = 4
IMAGE_SIZE = 32
CODED_FRAMES = 40


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Four tiny H.264 videos (12 frames, 64x48) with different content, and an undecodable file."""
    folder = tmp_path_factory.mktemp("videos")
    paths = [
        write_video(folder / f"video{index}.mp4", moving_texture_frames(12, 48, 64, seed=index), fps=12)
        for index in range(4)
    ]
    corrupt = folder / "corrupt.mp4"
    corrupt.write_bytes(b"this is not a video" * 100)
    return {"folder": folder, "paths": paths, "corrupt": corrupt}


def records_of(paths, labels):
    return [VideoRecord(path, label) for path, label in zip(paths, labels)]


def train_dataset(records, **options):
    return VideoClipDataset(records, num_frames=NUM_FRAMES, training=True, image_size=IMAGE_SIZE, **options)


def eval_dataset(records, **options):
    return VideoClipDataset(records, num_frames=NUM_FRAMES, training=False, image_size=IMAGE_SIZE, **options)


def test_training_item_format(videos):
    item = train_dataset(records_of(videos["paths"], [0, 1, 2, 3]))[2]
    assert item["pixel_values"].shape == (NUM_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert item["pixel_values"].dtype == torch.float32
    assert item["labels"].dtype == torch.int64 and item["labels"].item() == 2
    assert (item["index"], item["replaced"], item["valid"]) == (2, 0, 1)


def test_multi_view_evaluation_matches_the_video_processor(videos):
    dataset = eval_dataset(records_of(videos["paths"], [0, 1, 2, 3]), num_clips=2, num_crops=3)
    item = dataset[1]
    assert item["pixel_values"].shape == (6, NUM_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    processor = XCLIPVideoProcessor.for_image_size(IMAGE_SIZE, NUM_FRAMES)
    expected = processor(str(videos["paths"][1]), num_clips=2, num_crops=3, return_tensors="pt").pixel_values[0]
    torch.testing.assert_close(item["pixel_values"], expected, rtol=0, atol=0)


def test_single_view_evaluation_is_deterministic_across_epochs(videos):
    dataset = eval_dataset(records_of(videos["paths"], [0, 1, 2, 3]))
    first = dataset[0]["pixel_values"]
    dataset.set_epoch(5)
    assert first.shape == (NUM_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert torch.equal(dataset[0]["pixel_values"], first)


@pytest.fixture(scope="module")
def index_coded_video(tmp_path_factory):
    """A 40-frame video whose frames show their own index (`index_coded_frames`), so a test reads which were used."""
    folder = tmp_path_factory.mktemp("index_coded")
    return write_video(folder / "coded.mp4", index_coded_frames(CODED_FRAMES, 64, 64), fps=25)


def frame_indices(pixel_values: torch.Tensor, white_above: float) -> list[int]:
    """The frame indices drawn in `[T, 3, H, W]` frames whose code's white blocks are the values above `white_above`."""
    white = (pixel_values.permute(0, 2, 3, 1) > white_above).numpy().astype(np.uint8) * 255
    return [read_index_code(frame) for frame in white]


def keep_decoded_frames(clip, generator):
    """A training transform that keeps the decoded frames (0-255) whole, so their codes stay readable: the real one
    crops and flips at random."""
    return torch.from_numpy(clip).permute(0, 3, 1, 2).float()


def index_coded_dataset(video, *, training: bool, **options) -> VideoClipDataset:
    """The index-coded `video` as a one-item dataset whose frames `sampled_frames` reads back."""
    transform = {"transform": keep_decoded_frames} if training else {}
    return VideoClipDataset([VideoRecord(video, 0)], num_frames=NUM_FRAMES, training=training,
                            image_size=IMAGE_SIZE, **transform, **options)


def sampled_frames(dataset: VideoClipDataset) -> list[int]:
    """The indices of the frames in the dataset's item (of the current epoch)."""
    # Training items keep the decoded 0-255 frames; evaluation's normalisation puts black below 0 and white above.
    return frame_indices(dataset[0]["pixel_values"], white_above=127 if dataset.training else 0)


@pytest.mark.parametrize("training", [True, False])
def test_dense_sampling(index_coded_video, training):
    interval = 2
    options = {"num_frames": NUM_FRAMES, "training": training, "image_size": IMAGE_SIZE, "sampling": "dense",
               "frame_interval": interval}
    dataset = VideoClipDataset([VideoRecord(index_coded_video, 0)], **options)
    assert dataset[0]["pixel_values"].shape == (NUM_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    if not training:
        # The centred clip.
        expected = sample_dense_indices(CODED_FRAMES, NUM_FRAMES, interval)[0].tolist()
        assert sampled_frames(dataset) == expected == [16, 18, 20, 22]
        return
    dataset = index_coded_dataset(index_coded_video, training=True, sampling="dense", frame_interval=interval)
    starts = set()
    for epoch in range(4):
        dataset.set_epoch(epoch)
        indices = sampled_frames(dataset)
        # Consecutive frames `interval` apart from a random start that keeps the clip inside the video (segment
        # sampling would take one frame from each quarter of the video instead).
        assert indices == [indices[0] + interval * step for step in range(NUM_FRAMES)], indices
        assert 0 <= indices[0] <= CODED_FRAMES - NUM_FRAMES * interval
        starts.add(indices[0])
    assert len(starts) > 1


def test_segment_sampling_takes_one_frame_of_each_segment(index_coded_video):
    """The default (TSN) sampling splits the 40 frames into 4 segments of 10: training takes a random frame of each
    segment, drawn anew for every epoch and seed; evaluation takes the segment centres, `int(i * 10 + 5)`."""
    assert sampled_frames(index_coded_dataset(index_coded_video, training=False)) == [5, 15, 25, 35]
    segment = CODED_FRAMES // NUM_FRAMES
    clips = []
    for seed in range(3):
        dataset = index_coded_dataset(index_coded_video, training=True, seed=seed)
        for epoch in range(4):
            dataset.set_epoch(epoch)
            indices = sampled_frames(dataset)
            assert [index // segment for index in indices] == list(range(NUM_FRAMES)), indices
            clips.append(tuple(indices))
    assert len(set(clips)) == len(clips)  # no two (seed, epoch) pairs drew the same clip here
    offsets = {index % segment for clip_indices in clips for index in clip_indices}
    assert len(offsets) >= 8, offsets  # anywhere in the segment, not only near its centre


def test_training_draws_depend_on_seed_epoch_and_index_only(videos):
    records = records_of(videos["paths"][:1] * 2, [0, 0])  # the same video twice
    dataset = train_dataset(records, seed=3)
    first, again = dataset[0]["pixel_values"], dataset[0]["pixel_values"]
    assert torch.equal(first, again)
    assert not torch.equal(first, dataset[1]["pixel_values"])  # same video, other index: other draws
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[0]["pixel_values"])
    dataset.set_epoch(0)
    assert torch.equal(first, dataset[0]["pixel_values"])
    assert not torch.equal(first, train_dataset(records, seed=4)[0]["pixel_values"])


@pytest.mark.parametrize("start_method", ["fork", "spawn"])  # spawn: the workers of hardware decoding
def test_items_are_identical_with_dataloader_workers_and_after_set_epoch(videos, start_method):
    dataset = train_dataset(records_of(videos["paths"], [0, 1, 2, 3]), seed=11)
    expected = {}
    for epoch in (0, 1):
        dataset.set_epoch(epoch)
        expected[epoch] = torch.stack([dataset[index]["pixel_values"] for index in range(len(dataset))])
    # Persistent workers are created once: the epoch must reach them through shared memory.
    loader = DataLoader(dataset, batch_size=2, num_workers=2, persistent_workers=True,
                        multiprocessing_context=start_method)
    for epoch in (0, 1):
        dataset.set_epoch(epoch)
        batches = list(loader)
        torch.testing.assert_close(torch.cat([batch["pixel_values"] for batch in batches]), expected[epoch])
        assert torch.cat([batch["index"] for batch in batches]).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(),
                                                                      reason="needs a CUDA device")]),
])
def test_training_items_finished_on_a_device_equal_the_finished_items(videos, device):
    """The training script's path: uint8 clips and their draws from the workers, the colour work on the batch."""
    records = records_of([*videos["paths"], videos["corrupt"]], [0, 1, 2, 3, 4])
    transform = XCLIPTrainTransform(IMAGE_SIZE, color_jitter_prob=0.5, grayscale_prob=0.5)
    finished_set = train_dataset(records, seed=5, transform=transform)
    deferred_set = train_dataset(records, seed=5, transform=transform, finish_on_device=True)
    batch = next(iter(DataLoader(deferred_set, batch_size=5)))
    assert batch["pixel_values"].dtype == torch.uint8
    assert batch["replaced"].tolist() == [0, 0, 0, 0, 1]  # the unreadable video's stand-in has its own draws
    assert set(batch["colour"]["jitter"].tolist()) == {True, False}
    on_device = {**batch, "pixel_values": batch["pixel_values"].to(device)}
    finished = deferred_set.finish(on_device)
    assert finished.device.type == device and finished.dtype == torch.float32
    expected = torch.stack([finished_set[index]["pixel_values"] for index in range(len(records))])
    if device == "cpu":
        torch.testing.assert_close(finished, expected, atol=1e-6, rtol=0)
    else:
        # The same uint8 clips and draws; the GPU's float kernels round a little differently from the CPU's.
        torch.testing.assert_close(finished.cpu(), expected, atol=1e-4, rtol=0)
    finished_batch = next(iter(DataLoader(finished_set, batch_size=5)))
    assert finished_set.finish(finished_batch) is finished_batch["pixel_values"]  # nothing left to do


def test_unreadable_training_video_is_replaced_by_the_next_readable_one(videos, caplog):
    paths = videos["paths"]
    missing = videos["folder"] / "missing.mp4"
    records = records_of([paths[0], missing, videos["corrupt"], paths[3]], [0, 1, 2, 3])
    dataset = train_dataset(records)
    with caplog.at_level(logging.WARNING, logger="xclip.data"):
        item = dataset[1]
    # Both bad videos are skipped; the replacement keeps its own label, so labels never shift.
    assert (item["labels"].item(), item["replaced"], item["valid"], item["index"]) == (3, 1, 1, 1)
    assert "missing.mp4" in caplog.text and "file not found" in caplog.text and "corrupt.mp4" in caplog.text
    # Same draws as if position 1 held the replacement video: the per-item generator is untouched by failures.
    reference = train_dataset(records_of([paths[0], paths[3]], [0, 3]))
    reference_item = reference[1]
    assert torch.equal(item["pixel_values"], reference_item["pixel_values"])

    loader = DataLoader(dataset, batch_size=2, num_workers=2)
    batches = list(loader)
    assert sum(int(batch["replaced"].sum()) for batch in batches) == 2
    assert torch.cat([batch["labels"] for batch in batches]).tolist() == [0, 3, 3, 3]


def test_replacement_wraps_around_and_gives_up_on_a_dataset_without_readable_videos(videos):
    records = records_of([videos["paths"][0], videos["corrupt"]], [0, 1])
    assert train_dataset(records)[1]["labels"].item() == 0  # wraps to the start of the list
    with pytest.raises(ValueError, match="no readable video among 2 consecutive videos"):
        train_dataset(records_of([videos["corrupt"]] * 2, [0, 1]))[0]


def test_evaluation_never_substitutes_an_unreadable_video(videos, caplog):
    records = records_of([videos["paths"][0], videos["corrupt"], videos["paths"][2]], [0, 1, 2])
    dataset = eval_dataset(records, num_clips=2)
    with caplog.at_level(logging.WARNING, logger="xclip.data"):
        batches = list(DataLoader(dataset, batch_size=3))
    batch = batches[0]
    assert batch["valid"].tolist() == [1, 0, 1]
    assert batch["replaced"].tolist() == [0, 0, 0]
    assert batch["labels"].tolist() == [0, 1, 2]
    assert batch["pixel_values"].shape == (3, 2, NUM_FRAMES, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert torch.count_nonzero(batch["pixel_values"][1]) == 0
    assert "excluded from the metrics" in caplog.text


def test_videos_in_a_tar_root_load_like_the_files(videos, tmp_path):
    with tarfile.open(tmp_path / "val.tar", "w") as archive:
        for path in videos["paths"][:2]:
            archive.add(path, arcname=path.name)
    list_file = tmp_path / "val.txt"
    list_file.write_text("".join(f"{path.name} {label}\n" for label, path in enumerate(videos["paths"][:2])))
    from_tar = eval_dataset(read_video_list(list_file, tmp_path / "val.tar", num_classes=2))
    from_folder = eval_dataset(read_video_list(list_file, videos["folder"], num_classes=2))
    for index in range(2):
        assert torch.equal(from_tar[index]["pixel_values"], from_folder[index]["pixel_values"])
        assert from_tar[index]["valid"] == 1


@pytest.mark.parametrize("num_clips, num_crops", [(1, 1), (2, 3)])
def test_evaluation_items_finished_on_the_device_give_the_same_views(videos, num_clips, num_crops):
    records = records_of([videos["paths"][0], videos["corrupt"], videos["paths"][2]], [0, 1, 2])
    views = {"num_clips": num_clips, "num_crops": num_crops}
    normalised = next(iter(DataLoader(eval_dataset(records, **views), batch_size=3)))
    deferred_set = eval_dataset(records, finish_on_device=True, **views)
    deferred = next(iter(DataLoader(deferred_set, batch_size=3)))  # the unreadable video's zeros collate with the rest
    assert deferred["pixel_values"].dtype == torch.uint8
    assert deferred["valid"].tolist() == [1, 0, 1]
    finished = deferred_set.finish(deferred)
    assert torch.equal(finished[[0, 2]], normalised["pixel_values"][[0, 2]])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"training": True, "finish_on_device": True, "transform": lambda clip, generator: clip}, "prepare"),
        ({"training": False, "finish_on_device": True, "video_processor": lambda *args, **kwargs: None},
         "normalize_deferred"),
        ({"training": True, "num_clips": 4}, "evaluation options"),
        ({"training": False, "num_crops": 2}, "num_crops must be 1"),
        ({"training": False, "sampling": "uniform"}, "sampling must be"),
        ({"training": False, "frame_interval": 4}, "only applies to sampling='dense'"),
        ({"training": False, "num_frames": 0}, "num_frames must be a positive integer"),
    ],
)
def test_invalid_options(videos, options, message):
    options = {"num_frames": NUM_FRAMES, **options}
    with pytest.raises(ValueError, match=message):
        VideoClipDataset(records_of(videos["paths"], [0, 1, 2, 3]), **options)


# ------------------------------------------------------------------------------------- Hugging Face datasets


def test_hf_dataset_of_paths_bytes_and_frames_gives_the_same_items(videos):
    datasets = pytest.importorskip("datasets")
    paths, labels = videos["paths"][:3], [2, 0, 1]
    features = datasets.Features(
        {"video": datasets.Value("string"), "label": datasets.ClassLabel(names=["a", "b", "c"])}
    )
    by_path = datasets.Dataset.from_dict({"video": [str(path) for path in paths], "label": labels}, features=features)
    by_bytes = datasets.Dataset.from_dict({"clip": [path.read_bytes() for path in paths], "y": labels})
    reference = train_dataset(records_of(paths, labels), seed=5)

    for hf_dataset, columns in ((by_path, {}), (by_bytes, {"video_column": "clip", "label_column": "y"})):
        dataset = from_hf_dataset(
            hf_dataset, **columns, num_frames=NUM_FRAMES, training=True, image_size=IMAGE_SIZE, seed=5
        )
        assert len(dataset) == 3
        for index in range(3):
            item, expected = dataset[index], reference[index]
            assert item["labels"].item() == labels[index]
            assert torch.equal(item["pixel_values"], expected["pixel_values"])


def test_hf_dataset_of_decoded_frames(videos):
    datasets = pytest.importorskip("datasets")
    frames = moving_texture_frames(6, 40, 56, seed=9)
    hf_dataset = datasets.Dataset.from_dict({"video": [frames], "label": [0]})
    item = from_hf_dataset(hf_dataset, num_frames=NUM_FRAMES, training=False, image_size=IMAGE_SIZE)[0]
    expected = XCLIPVideoProcessor.for_image_size(IMAGE_SIZE, NUM_FRAMES)(frames, return_tensors="pt").pixel_values[0]
    assert item["valid"] == 1
    torch.testing.assert_close(item["pixel_values"], expected, rtol=0, atol=0)


def test_hf_dataset_of_pil_frames_composites_transparency_as_the_processor_does():
    """`convert("RGB")` dropped the alpha: transparent pixels kept their hidden colour in training, where the
    processor composites them onto white at inference."""
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    rgb = moving_texture_frames(6, 40, 56, seed=10)
    alpha = np.random.default_rng(11).integers(0, 256, rgb.shape[:3], dtype=np.uint8)
    rgba = np.concatenate([rgb, alpha[..., None]], axis=-1)
    processor = XCLIPVideoProcessor.for_image_size(IMAGE_SIZE, NUM_FRAMES)
    for frames, mode in ((rgb, "RGB"), (rgba, "RGBA")):
        images = [Image.fromarray(frame, mode) for frame in frames]
        hf_dataset = datasets.Dataset.from_dict({"video": [images], "label": [0]})
        hf_dataset = hf_dataset.cast_column("video", datasets.Sequence(datasets.Image()))
        item = from_hf_dataset(hf_dataset, num_frames=NUM_FRAMES, training=False, image_size=IMAGE_SIZE)[0]
        expected = processor(frames, return_tensors="pt").pixel_values[0]
        # The dataset resizes the composite rounded to 8 bits, the processor resizes it in float: 2 levels apart at most
        # (dropping the alpha would put them up to 255 apart).
        torch.testing.assert_close(item["pixel_values"], expected, rtol=0, atol=2 / 255 / min(processor.image_std))
    # Float frames in [0, 1] (mode F) came out black: refused, as other frames that are not uint8 are.
    floats = [Image.fromarray(frame[..., 0] / 255, "F") for frame in rgb.astype(np.float32)]
    hf_dataset = datasets.Dataset.from_dict({"video": [floats], "label": [0]})
    hf_dataset = hf_dataset.cast_column("video", datasets.Sequence(datasets.Image()))
    with pytest.raises(TypeError, match=r"Row 0 of column 'video' holds PIL frames in mode F"):
        from_hf_dataset(hf_dataset, num_frames=NUM_FRAMES, training=False, image_size=IMAGE_SIZE)[0]


@pytest.mark.parametrize("training", [True, False])
def test_hf_frames_of_a_wrong_dtype_or_shape_are_an_error_naming_the_row_not_an_unreadable_video(training):
    datasets = pytest.importorskip("datasets")
    frames = moving_texture_frames(6, 32, 32, seed=1)
    options = {"num_frames": NUM_FRAMES, "training": training, "image_size": IMAGE_SIZE}

    as_floats = datasets.Dataset.from_dict({"video": [frames / 255] * 3, "label": [0, 1, 0]})
    # A column whose schema is not uint8 is refused when the dataset is wrapped, by its first row.
    with pytest.raises(TypeError, match=r"Row 0 of column 'video' holds float64 frames of shape \(6, 32, 32, 3\)"):
        from_hf_dataset(as_floats, **options)
    # Wider integers are refused too rather than cast, which would wrap values outside [0, 255] around.
    as_int64 = datasets.Dataset.from_dict({"clip": [frames.astype(np.int64)], "label": [0]})
    with pytest.raises(TypeError, match=r"Row 0 of column 'clip' holds int64 frames"):
        from_hf_dataset(as_int64, video_column="clip", **options)[0]
    as_torch_floats = as_floats.with_format("torch")
    with pytest.raises(TypeError, match=r"Row 0 of column 'video' holds float32 frames"):
        from_hf_dataset(as_torch_floats, **options)[0]
    grey = datasets.Dataset.from_dict({"video": [frames[..., 0]], "label": [0]})
    with pytest.raises(ValueError, match=r"Row 0 of column 'video' holds uint8 frames of shape \(6, 32, 32\)"):
        from_hf_dataset(grey, **options)[0]


def test_video_record_refuses_frames_that_are_not_uint8_rgb():
    with pytest.raises(TypeError, match=r"holds float32 frames of shape \(2, 4, 4, 3\)"):
        VideoRecord(np.zeros((2, 4, 4, 3), np.float32), 0)
    with pytest.raises(TypeError, match=r"holds float32 frames of shape \(0, 4, 4, 3\)"):
        VideoRecord(np.zeros((0, 4, 4, 3), np.float32), 0)


@pytest.mark.parametrize("training", [True, False])
def test_decoded_frames_without_frames_are_an_unreadable_video_like_a_file_without_frames(tmp_path, caplog, training):
    """An empty row stopped the dataset when its record was built, where a video file without frames is replaced in
    training and reported at evaluation."""
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    frames = [moving_texture_frames(6, 32, 32, seed=seed) for seed in (1, 2)]
    no_frames = np.zeros((0, 32, 32, 3), np.uint8)
    options = {"num_frames": NUM_FRAMES, "training": training, "image_size": IMAGE_SIZE}

    def around(empty_video):
        return [VideoRecord(frames[0], 0), VideoRecord(empty_video, 1), VideoRecord(frames[1], 2)]

    empty_file = VideoClipDataset(around(write_video(tmp_path / "empty.mp4", no_frames)), **options)
    # A nested-list column gives an empty row as `[]`; so does a column of images, whose schema gives no dtype.
    hf_dataset = datasets.Dataset.from_dict({"video": [frames[0], no_frames, frames[1]], "label": [0, 1, 2]})
    images = [[Image.fromarray(frame) for frame in video] for video in frames]
    image_dataset = datasets.Dataset.from_dict({"video": [images[0], [], images[1]], "label": [0, 1, 2]})
    image_dataset = image_dataset.cast_column("video", datasets.Sequence(datasets.Image()))
    with caplog.at_level(logging.WARNING, logger="xclip.data"):
        for without_frames in (from_hf_dataset(hf_dataset, **options), from_hf_dataset(image_dataset, **options),
                               VideoClipDataset(around(no_frames), **options)):
            items = [without_frames[index] for index in range(3)]
            replaced_by_the_next = (2, 1, 1) if training else (1, 0, 0)
            assert (items[1]["labels"].item(), items[1]["replaced"], items[1]["valid"]) == replaced_by_the_next
            for item, file_item in zip(items, [empty_file[index] for index in range(3)]):
                assert item.keys() == file_item.keys()
                for key, value in item.items():
                    assert torch.equal(value, file_item[key]) if key == "pixel_values" else value == file_item[key]
    for shape in ("(0,)", "(0, 32, 32, 3)"):
        assert f"Unreadable video (position 1): Cannot read video '<decoded frames {shape}>'" in caplog.text
    assert caplog.text.count(": contains no video frames") == 3


@pytest.mark.parametrize("label, shown", [("x", "'x'"), (1.0, "1.0"), (True, "True")])
def test_video_record_refuses_a_label_that_is_no_class_index(label, shown):
    with pytest.raises(ValueError, match=rf"'a.mp4': the label must be an integer class index, got {shown}"):
        VideoRecord("a.mp4", label)
    assert VideoRecord("a.mp4", np.int64(2)).label == 2


def test_the_dataset_takes_video_records_not_paths(videos):
    with pytest.raises(TypeError, match=r"takes VideoRecord objects \(e.g. from read_video_list\), got str 'a.mp4'"):
        VideoClipDataset(["a.mp4"], num_frames=2, training=False)


def test_hf_video_feature_is_decoded_with_pyav(videos):
    datasets = pytest.importorskip("datasets")
    hf_dataset = datasets.Dataset.from_dict({"video": [str(videos["paths"][0])], "label": [0]})
    try:
        hf_dataset = hf_dataset.cast_column("video", datasets.Video())
    except ImportError as error:  # some datasets versions need torchcodec even to declare the feature
        pytest.skip(f"datasets.Video is unavailable here: {error}")
    item = from_hf_dataset(hf_dataset, num_frames=NUM_FRAMES, training=False, image_size=IMAGE_SIZE)[0]
    expected = eval_dataset(records_of(videos["paths"][:1], [0]))[0]
    assert torch.equal(item["pixel_values"], expected["pixel_values"])


def test_hf_dataset_label_errors(videos):
    datasets = pytest.importorskip("datasets")
    hf_dataset = datasets.Dataset.from_dict({"video": [str(videos["paths"][0])] * 2, "label": [0, 5]})
    with pytest.raises(ValueError, match=r"Row 1 of column 'label' has label 5, outside \[0, 3\)"):
        from_hf_dataset(hf_dataset, num_classes=3, num_frames=NUM_FRAMES, training=True)
    with pytest.raises(KeyError, match="no column 'clip'"):
        from_hf_dataset(hf_dataset, video_column="clip", num_frames=NUM_FRAMES, training=True)
    with pytest.raises(ValueError, match="integer class indices"):
        from_hf_dataset(
            datasets.Dataset.from_dict({"video": ["a.mp4"], "label": [0.5]}), num_frames=NUM_FRAMES, training=True
        )


def test_hf_dataset_unreadable_row_is_reported(videos):
    datasets = pytest.importorskip("datasets")
    hf_dataset = datasets.Dataset.from_dict({"video": [str(videos["corrupt"])], "label": [0]})
    item = from_hf_dataset(hf_dataset, num_frames=NUM_FRAMES, training=False, image_size=IMAGE_SIZE)[0]
    assert item["valid"] == 0 and np.count_nonzero(item["pixel_values"].numpy()) == 0


# ------------------------------------------------------------------------------------- argument validation


@pytest.fixture(scope="module")
def frame_records():
    """Two labelled videos given as decoded frames: the checks below need items, not decoding."""
    return [VideoRecord(moving_texture_frames(8, 40, 40, seed=index), index) for index in range(2)]


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"num_frames": True}, TypeError, "num_frames must be a positive integer, got bool True"),
        ({"num_frames": 4.0}, TypeError, "num_frames must be a positive integer, got float 4.0"),
        ({"image_size": True}, TypeError, "image_size must be a positive integer, got bool True"),
        ({"training": False, "num_clips": True}, TypeError, "num_clips must be a positive integer, got bool"),
        ({"training": False, "num_crops": True}, TypeError, r"num_crops must be 1 \(centre crop\) or 3 .*got bool"),
        ({"training": False, "num_crops": 3.0}, TypeError, "num_crops must be 1 .* got float 3.0"),
        ({"sampling": "dense", "frame_interval": True}, TypeError, "frame_interval must be a positive integer or None"),
        ({"max_replacements": 1.5}, TypeError, "max_replacements must be a non-negative integer, got float 1.5"),
        ({"max_replacements": -1}, ValueError, "max_replacements must be a non-negative integer, got -1"),
        ({"seed": None}, TypeError, "seed must be a non-negative integer, got None"),
        ({"seed": "7"}, TypeError, "seed must be a non-negative integer, got str '7'"),
        ({"seed": 1.5}, TypeError, "seed must be a non-negative integer, got float 1.5"),
        ({"seed": -1}, ValueError, "seed must be a non-negative integer, got -1"),
        ({"decode_threads": -3}, ValueError, "decode_threads must be a non-negative integer or None, got -3"),
        ({"decode_threads": "x"}, TypeError, "decode_threads must be a non-negative integer or None, got str 'x'"),
    ],
)
def test_integer_options_must_be_integers_in_range(frame_records, options, error, message):
    options = {"num_frames": NUM_FRAMES, "training": True, "image_size": IMAGE_SIZE, **options}
    with pytest.raises(error, match=message):
        VideoClipDataset(frame_records, **options)


@pytest.mark.parametrize("training", [True, False])
def test_integer_options_take_numpy_integers_as_plain_ints(frame_records, training):
    views = {} if training else {"num_clips": np.int32(2), "num_crops": np.int64(3)}
    dataset = VideoClipDataset(
        frame_records, num_frames=np.int64(NUM_FRAMES), training=training, image_size=np.int16(IMAGE_SIZE),
        sampling="dense", frame_interval=np.uint8(2), seed=np.uint64(7), max_replacements=np.int64(0),
        decode_threads=np.int64(1), **views,
    )
    reference = VideoClipDataset(
        frame_records, num_frames=NUM_FRAMES, training=training, image_size=IMAGE_SIZE, sampling="dense",
        frame_interval=2, seed=7, max_replacements=0, decode_threads=1,
        **{key: int(value) for key, value in views.items()},
    )
    names = ("num_frames", "num_clips", "num_crops", "frame_interval", "seed", "max_replacements", "decode_threads")
    for name in names:
        assert type(getattr(dataset, name)) is int, name
    assert torch.equal(dataset[1]["pixel_values"], reference[1]["pixel_values"])


@pytest.mark.parametrize(
    "name, value, shown",
    [("training", "no", "str 'no'"), ("training", None, "None"), ("random_clips", 1, "int 1"),
     ("autorotate", "yes", "str 'yes'"), ("finish_on_device", None, "None")],
)
def test_flags_must_be_bools(frame_records, name, value, shown):
    options = {"num_frames": NUM_FRAMES, "training": False, name: value}
    with pytest.raises(TypeError, match=f"{name} must be True or False, got {shown}"):
        VideoClipDataset(frame_records, **options)


def test_numpy_bools_are_flags(frame_records):
    dataset = VideoClipDataset(
        frame_records, num_frames=NUM_FRAMES, training=np.bool_(True), autorotate=np.bool_(False)
    )
    assert dataset.training is True and dataset.autorotate is False


@pytest.mark.parametrize("training, name", [(True, "transform"), (False, "video_processor"), (False, "transform")])
def test_transform_and_video_processor_must_be_callable(frame_records, training, name):
    with pytest.raises(TypeError, match=f"{name} must be callable .*got str 'flip'"):
        VideoClipDataset(frame_records, num_frames=NUM_FRAMES, training=training, **{name: "flip"})


class _SizedTransform:
    """A transform that declares its crop side but returns another one."""

    image_size = 16

    def __call__(self, clip, generator):
        return torch.zeros(len(clip), 3, IMAGE_SIZE, IMAGE_SIZE)


@pytest.mark.parametrize(
    "transform, error, message",
    [
        (lambda clip, generator: torch.zeros(len(clip), 3, 32, 32, dtype=torch.uint8), TypeError,
         r"The transform <lambda> returned a uint8 Tensor of shape \(4, 3, 32, 32\); .* floating-point tensor"),
        (lambda clip, generator: torch.zeros(len(clip), 3, 40, 32), ValueError,
         r"returned a float32 Tensor of shape \(4, 3, 40, 32\); .*\(num_frames, 3, S, S\) = \(4, 3, S, S\)"),
        (lambda clip, generator: torch.zeros(2, 3, 32, 32), ValueError, r"of shape \(2, 3, 32, 32\)"),
        (lambda clip, generator: np.zeros((len(clip), 3, 32, 32), np.float32), TypeError,
         r"returned a float32 ndarray of shape"),
        (_SizedTransform(), ValueError,
         r"The transform _SizedTransform returned .*\(4, 3, 32, 32\); .* = \(4, 3, 16, 16\)"),
    ],
)
def test_a_transform_returning_the_wrong_clip_is_an_error_naming_it(frame_records, transform, error, message):
    dataset = VideoClipDataset(frame_records, num_frames=NUM_FRAMES, training=True, transform=transform)
    with pytest.raises(error, match=message):
        dataset[0]


class _FloatPrepare(XCLIPTrainTransform):
    def prepare(self, clip, generator=None):
        frames, colour = super().prepare(clip, generator)
        return frames.float(), colour


class _CroppingFinish(XCLIPTrainTransform):
    def finish(self, frames, colour):
        return super().finish(frames, colour)[..., :8]


def test_the_halves_of_a_transform_finishing_on_the_device_are_checked(frame_records):
    options = {"num_frames": NUM_FRAMES, "training": True, "finish_on_device": True}
    prepared_float = VideoClipDataset(frame_records, transform=_FloatPrepare(IMAGE_SIZE), **options)
    with pytest.raises(TypeError, match=r"The transform's prepare \(_FloatPrepare\) returned a float32 .*uint8 tensor"):
        prepared_float[0]
    cropping = VideoClipDataset(frame_records, transform=_CroppingFinish(IMAGE_SIZE), **options)
    batch = next(iter(DataLoader(cropping, batch_size=2)))
    message = r"The transform's finish returned .*\(2, 4, 3, 32, 8\); .*\(2, 4, 3, 32, 32\)"
    with pytest.raises(ValueError, match=message):
        cropping.finish(batch)


class _CroppingProcessor(XCLIPVideoProcessor):
    def __call__(self, *args, **kwargs):
        outputs = super().__call__(*args, **kwargs)
        outputs["pixel_values"] = outputs["pixel_values"][..., :16]
        return outputs


def test_a_video_processor_returning_other_views_is_an_error_naming_it(frame_records):
    processor = _CroppingProcessor.for_image_size(IMAGE_SIZE, NUM_FRAMES)
    dataset = VideoClipDataset(frame_records, num_frames=NUM_FRAMES, training=False, video_processor=processor)
    message = r"The video processor _CroppingProcessor returned a float32 Tensor of shape \(4, 3, 32, 16\); .*32, 32\)"
    with pytest.raises(ValueError, match=message):
        dataset[0]


@pytest.mark.parametrize(
    "records, message",
    [
        ("a.mp4", r"records must be a sequence of VideoRecord \(e.g. from read_video_list\), got str 'a.mp4'"),
        (None, "records must be a sequence of VideoRecord .*got None"),
        ((VideoRecord("a.mp4", 0) for _ in range(2)), "records must be a sequence of VideoRecord .*got generator"),
        (VideoRecord("a.mp4", 0), "got VideoRecord; wrap a single one in a list"),
        ([VideoRecord("a.mp4", 0), None], "takes VideoRecord objects .*got None at position 1 of records"),
        ((VideoRecord("a.mp4", 0), VideoRecord("b.mp4", 1), "c.mp4"), "got str 'c.mp4' at position 2 of records"),
    ],
)
def test_records_must_be_a_sequence_of_video_records(records, message):
    with pytest.raises(TypeError, match=message):
        VideoClipDataset(records, num_frames=NUM_FRAMES, training=False)


def test_training_refuses_a_negative_label_and_evaluation_keeps_it(frame_records):
    unlabelled = VideoRecord("clips/a.mp4", -1, line=3)
    with pytest.raises(ValueError, match=r"record 2 \('clips/a.mp4' \(line 3\)\) has label -1"):
        VideoClipDataset([*frame_records, unlabelled], num_frames=NUM_FRAMES, training=True)
    # Predicting unlabelled videos is evaluation without metrics: the label passes through.
    frames = VideoRecord(frame_records[0].source, -1)
    item = VideoClipDataset([frames], num_frames=NUM_FRAMES, training=False, image_size=IMAGE_SIZE)[0]
    assert item["labels"].item() == -1 and item["valid"] == 1


def test_index_must_be_an_integer_in_range(frame_records):
    dataset = train_dataset(frame_records)
    expected = dataset[1]["pixel_values"]
    for index in (np.int64(1), torch.tensor(1)):
        item = dataset[index]
        assert type(item["index"]) is int and item["index"] == 1
        assert torch.equal(item["pixel_values"], expected)
    for index, shown in ((1.0, "float 1.0"), (slice(0, 1), "slice"), ("0", "str '0'"), (True, "bool True"),
                         (torch.tensor([1]), r"an int64 Tensor of shape \(1,\)")):
        with pytest.raises(TypeError, match=f"index must be an integer, got {shown}"):
            dataset[index]
    for index in (2, -1):
        with pytest.raises(IndexError, match=f"index {index} is out of range for a dataset of 2 videos"):
            dataset[index]


def test_set_epoch_takes_non_negative_integers(frame_records):
    dataset = train_dataset(frame_records)
    dataset.set_epoch(np.int64(2))
    assert dataset.epoch == 2
    for epoch, shown in ((1.7, "float 1.7"), ("3", "str '3'"), (None, "None"), (True, "bool True")):
        with pytest.raises(TypeError, match=f"epoch must be a non-negative integer below 2\\*\\*63, got {shown}"):
            dataset.set_epoch(epoch)
    for epoch in (-1, 2**63, 2**70):
        with pytest.raises(ValueError, match=f"epoch must be a non-negative integer below 2\\*\\*63, got {epoch}"):
            dataset.set_epoch(epoch)
    assert dataset.epoch == 2


@pytest.mark.parametrize("training", [True, False])
def test_finish_takes_only_the_uint8_batches_of_its_own_items(frame_records, training):
    dataset = VideoClipDataset(
        frame_records, num_frames=NUM_FRAMES, training=training, image_size=IMAGE_SIZE, finish_on_device=True
    )
    batch = next(iter(DataLoader(dataset, batch_size=2)))
    finished = dataset.finish(batch)
    # Finishing twice would normalise twice.
    with pytest.raises(TypeError, match=r"uint8 pixel_values \(got a float32 Tensor of shape \(2, 4, 3, 32, 32\)\)"):
        dataset.finish({**batch, "pixel_values": finished})
    if training:
        with pytest.raises(ValueError, match="with their colour draws; this batch has no 'colour'"):
            dataset.finish({key: value for key, value in batch.items() if key != "colour"})
