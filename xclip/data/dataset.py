"""`VideoClipDataset`: labelled videos decoded, sampled and preprocessed as the original X-CLIP does.

Training items are one clip of `num_frames` frames (TSN segment sampling with a random frame per segment, or dense
sampling), augmented with `XCLIPTrainTransform`. Evaluation items are the original's test views: segment centres,
optionally several clips and three crops, preprocessed by `XCLIPVideoProcessor`.

Randomness: every item draws from its own generator seeded with `(seed, epoch, index)`, so an item does not depend
on which DataLoader worker builds it, in which order, or whether training was interrupted and resumed. Call
`set_epoch(epoch)` before each epoch; the epoch is kept in shared memory, so it also reaches persistent workers.

Unreadable videos (missing, corrupt, not a video, or without frames, be it a file or decoded frames) never stop a
run, and are handled differently in the two modes:

- training: the video is replaced by the next readable video of the list (lists are usually grouped by class, so
  the replacement is most often of the same class), with the replacement's own label, so labels never shift. The
  item says `replaced=1`; sum it over batches to count replacements across worker processes.
- evaluation: a video is never replaced, since scoring another video in its place would bias the accuracy. The item
  says `valid=0` and carries zeros as `pixel_values`; the evaluation loop excludes such items from the metrics and
  reports their count as `num_unreadable`. Every video is therefore either evaluated exactly once or reported.

Each unreadable video is logged once per process with the file and the cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch.utils.data import Dataset

from ..processing import XCLIPTrainTransform, XCLIPVideoProcessor
from ..video import (
    VideoDecodeError,
    VideoReader,
    sample_dense_indices,
    sample_multi_clip_indices,
    sample_segment_indices,
)
from .arguments import as_integer, describe_value, flag, integer, optional_integer
from .video_list import VideoRecord


logger = logging.getLogger(__name__)

TrainTransform = Callable[..., torch.Tensor]
"""`transform(clip (T, H, W, 3) uint8, generator=np.random.Generator) -> (T, 3, S, S)` float, like
`XCLIPTrainTransform`."""

# Consecutive unreadable videos tolerated while looking for a replacement; more means a systematic problem (wrong
# DATA.ROOT, unmounted disk) that should stop training rather than train on a handful of videos.
DEFAULT_MAX_REPLACEMENTS = 100

# The epoch lives in an int64 tensor (shared with the DataLoader workers).
_MAX_EPOCH = torch.iinfo(torch.int64).max


class VideoClipDataset(Dataset):
    """
    A map-style dataset of labelled videos giving X-CLIP inputs.

    Args:
        records: The videos and labels, e.g. from `read_video_list` (any sequence of `VideoRecord`).
        num_frames: Frames per clip (`T`), the model's frame count (`DATA.NUM_FRAMES`).
        training: Training items (random sampling and augmentation) or evaluation items (deterministic views).
        transform: Training augmentation; defaults to `XCLIPTrainTransform(image_size)`. Called as
            `transform(clip, generator=rng)` with `clip` uint8 `(T, H, W, 3)`; returns a float tensor `(T, 3, S, S)`,
            `S` being its `image_size` when it has one (checked for every item). With `finish_on_device` it needs
            `XCLIPTrainTransform`'s `prepare` and `finish` halves instead.
        video_processor: Evaluation preprocessing; defaults to `XCLIPVideoProcessor.for_image_size(image_size,
            num_frames)`. Its crop size sets `S`; the frame count and views come from this dataset.
        image_size: Crop side `S` of the default transform and processor (`DATA.INPUT_SIZE`).
        num_clips: Evaluation clips per video (`TEST.NUM_CLIP`).
        num_crops: Evaluation crops per clip, 1 or 3 (`TEST.NUM_CROP`).
        sampling: `"segment"` (the original's TSN sampling) or `"dense"` (`num_frames` frames every
            `frame_interval` frames, the paper's ablation).
        frame_interval: Frame step of dense sampling; defaults to `64 // num_frames` as in the paper.
        random_clips: Evaluate clips sampled at random like the original's multi-clip test, instead of evenly
            offset deterministic clips.
        seed: Base seed of the per-item generators.
        max_replacements: Consecutive unreadable training videos tolerated before giving up.
        decode_threads: Decoder threads per video, 0 for FFmpeg's choice; by default 1 inside DataLoader workers (the
            workers already use the cores) and FFmpeg's choice in the main process.
        hwaccel: Decode on this FFmpeg hardware device, e.g. `"cuda"` (see `VideoReader`); DataLoader workers must
            then be spawned (`multiprocessing_context="spawn"`), since CUDA does not survive a fork.
        autorotate: Turn frames upright by the video's display rotation (see `VideoReader`); False reads them as
            stored, as the original's decord did.
        finish_on_device: Items stop at uint8 `pixel_values`, and `finish` does the floating-point rest on a batch,
            on the GPU where there is one: for evaluation items the rescaling and normalisation, for training items
            the colour jitter, grayscale and normalisation, as drawn in the worker (the transform's `prepare` and
            `finish`; the items then carry their draws in `colour`). Workers then do a fraction of the CPU work and
            send a quarter of the bytes (4 x 3 evaluation views of 8 frames at 224 pixels: 14 instead of 58 MB per
            video).

    Items are dictionaries:

    - `pixel_values`: float32 `(T, 3, S, S)`, or `(V, T, 3, S, S)` for `V = num_crops * num_clips > 1` evaluation
      views (crop-major, as `XCLIPVideoProcessor` orders them); uint8 with `finish_on_device`;
    - `colour`: training items with `finish_on_device` only, the clip's `ColourDraws` (see `XCLIPTrainTransform`);
    - `labels`: int64 scalar tensor, the label of the video actually used;
    - `index`: the requested position in `records`;
    - `replaced`: 1 when a training item stands in for an unreadable video, else 0;
    - `valid`: 0 for an unreadable evaluation video (then `pixel_values` is zeros and must be ignored), else 1.

    Raises:
        TypeError: `records` is not a sequence of `VideoRecord`, or an option has the wrong type (integer options take
            Python or NumPy integers, flags take bools, `transform` and `video_processor` must be callable).
        ValueError: An option is out of range or inconsistent, or a record of a training list has a negative label.
    """

    def __init__(
        self,
        records: Sequence[VideoRecord],
        *,
        num_frames: int,
        training: bool,
        transform: TrainTransform | None = None,
        video_processor: XCLIPVideoProcessor | None = None,
        image_size: int = 224,
        num_clips: int = 1,
        num_crops: int = 1,
        sampling: Literal["segment", "dense"] = "segment",
        frame_interval: int | None = None,
        random_clips: bool = False,
        seed: int = 0,
        max_replacements: int = DEFAULT_MAX_REPLACEMENTS,
        decode_threads: int | None = None,
        hwaccel: str | None = None,
        autorotate: bool = True,
        finish_on_device: bool = False,
    ):
        training = flag("training", training)
        random_clips = flag("random_clips", random_clips)
        autorotate = flag("autorotate", autorotate)
        finish_on_device = flag("finish_on_device", finish_on_device)
        _check_records(records, training)
        if len(records) == 0:
            raise ValueError("VideoClipDataset needs at least one video record.")
        num_frames = integer("num_frames", num_frames, minimum=1)
        num_clips = integer("num_clips", num_clips, minimum=1)
        image_size = integer("image_size", image_size, minimum=1)
        crops = as_integer(num_crops)
        if crops not in (1, 3):
            raise (TypeError if crops is None else ValueError)(
                f"num_crops must be 1 (centre crop) or 3 (three crops), got {describe_value(num_crops)}."
            )
        num_crops = crops
        max_replacements = integer("max_replacements", max_replacements, minimum=0)
        seed = integer("seed", seed, minimum=0)  # any size: numpy's SeedSequence takes arbitrarily large integers
        # 0 is FFmpeg's own choice of threads (see `VideoReader`).
        decode_threads = optional_integer("decode_threads", decode_threads, minimum=0)
        frame_interval = optional_integer("frame_interval", frame_interval, minimum=1)
        if training and (num_clips, num_crops) != (1, 1):
            raise ValueError(
                f"Training items are single clips; num_clips={num_clips} and num_crops={num_crops} are evaluation "
                "options."
            )
        for name, function in (("transform", transform), ("video_processor", video_processor)):
            if function is not None and not callable(function):
                raise TypeError(f"{name} must be callable (or None for the default), got {describe_value(function)}.")
        if training and finish_on_device and transform is not None and not (
            callable(getattr(transform, "prepare", None)) and callable(getattr(transform, "finish", None))
        ):
            raise ValueError(
                "finish_on_device needs a transform with `prepare` and `finish` halves, like XCLIPTrainTransform; "
                f"got {type(transform).__name__}."
            )
        # The instance, not its class: a wrapper that forwards attributes (a timing one, say) has the method too.
        processor = XCLIPVideoProcessor if video_processor is None else video_processor
        if not training and finish_on_device and not callable(getattr(processor, "normalize_deferred", None)):
            raise ValueError(
                "finish_on_device needs a video processor with `normalize_deferred`, like XCLIPVideoProcessor; got "
                f"{type(video_processor).__name__}."
            )
        if sampling not in ("segment", "dense"):
            raise ValueError(f"sampling must be 'segment' or 'dense', got {sampling!r}.")
        if sampling == "segment" and frame_interval is not None:
            raise ValueError("frame_interval only applies to sampling='dense'.")
        if sampling == "dense" and frame_interval is None:
            frame_interval = max(1, 64 // num_frames)

        self.records = records
        self.num_frames = num_frames
        self.training = training
        self.num_clips = num_clips
        self.num_crops = num_crops
        self.sampling = sampling
        self.frame_interval = frame_interval
        self.random_clips = random_clips
        self.seed = seed
        self.max_replacements = max_replacements
        self.decode_threads = decode_threads
        self.hwaccel = hwaccel or None
        self.autorotate = autorotate
        self.finish_on_device = finish_on_device
        if training:
            self.transform = transform if transform is not None else XCLIPTrainTransform(image_size=image_size)
            self.video_processor = None
        else:
            self.transform = None
            self.video_processor = (
                video_processor
                if video_processor is not None
                else XCLIPVideoProcessor.for_image_size(image_size, num_frames)
            )
        # A custom transform need not say its crop side; its clips are then only checked to be square.
        side = getattr(self.transform, "image_size", None)
        self._clip_side = as_integer(side) if training else None
        # Shared memory: DataLoader workers (persistent ones included) see the epoch set in the main process.
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self._reported_unreadable: set[int] = set()

    def __len__(self) -> int:
        return len(self.records)

    @property
    def needs_spawned_workers(self) -> bool:
        """Whether DataLoader workers must start with `spawn`: decoding on a GPU uses CUDA in them, and CUDA does not
        survive a fork."""
        return self.hwaccel is not None

    @property
    def epoch(self) -> int:
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose random draws `__getitem__` makes (call it before iterating each epoch)."""
        self._epoch.fill_(integer("epoch", epoch, minimum=0, maximum=_MAX_EPOCH))

    def finish(self, batch: dict[str, Any]) -> torch.Tensor:
        """A batch's float32 `pixel_values` (`(B, T, 3, S, S)` or `(B, V, T, 3, S, S)`): with `finish_on_device`,
        the rest of the work done on the batch's device, equal to the items of a dataset built without it (training
        clips within float rounding, tested); otherwise the batch's `pixel_values` as they are.

        Raises:
            TypeError: With `finish_on_device`, the `pixel_values` are not uint8: finishing float ones (finished
                already, or from another dataset) would normalise them twice.
            ValueError: A training batch has no `colour` draws.
        """
        if not self.finish_on_device:
            return batch["pixel_values"]
        pixel_values = batch["pixel_values"]
        if not isinstance(pixel_values, torch.Tensor) or pixel_values.dtype != torch.uint8:
            raise TypeError(
                "finish() takes batches of this dataset's finish_on_device items: uint8 pixel_values (got "
                f"{describe_value(pixel_values)}); float ones are finished already."
            )
        if not self.training:
            finished = self.video_processor.normalize_deferred(pixel_values)
            _check_output(finished, "The video processor's normalize_deferred", tuple(pixel_values.shape), uint8=False)
            return finished
        if "colour" not in batch:
            raise ValueError(
                "finish() takes batches of this dataset's finish_on_device training items, with their colour draws; "
                f"this batch has no 'colour' (keys: {sorted(batch)})."
            )
        finished = self.transform.finish(pixel_values, batch["colour"])
        _check_output(finished, "The transform's finish", tuple(pixel_values.shape), uint8=False)
        return finished

    def generator(self, index: int) -> np.random.Generator:
        """The random generator of item `index` in the current epoch."""
        return np.random.default_rng([self.seed, self.epoch, index])

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Item `index` (a Python or NumPy integer, or a 0-d integer tensor).

        Raises:
            TypeError: `index` is not an integer (slices, floats).
            IndexError: It is outside `[0, len(self))`.
        """
        position = as_integer(index)
        if position is None:
            raise TypeError(f"VideoClipDataset index must be an integer, got {describe_value(index)}.")
        index = position
        if not 0 <= index < len(self.records):
            raise IndexError(f"index {index} is out of range for a dataset of {len(self.records)} videos")
        rng = self.generator(index)
        return self._training_item(index, rng) if self.training else self._evaluation_item(index, rng)

    def _training_item(self, index: int, rng: np.random.Generator) -> dict[str, Any]:
        for attempt in range(min(self.max_replacements, len(self.records) - 1) + 1):
            position = (index + attempt) % len(self.records)
            record = self.records[position]
            try:
                clip = self._read_clip(record, rng)
            except VideoDecodeError as error:
                self._report_unreadable(position, record, error, "training uses the next readable video instead")
                continue
            if not self.finish_on_device:
                pixel_values = self.transform(clip, generator=rng)
                self._check_clip(pixel_values, f"The transform {_name_of(self.transform)}", uint8=False)
                return _item(pixel_values, record.label, index, replaced=attempt > 0, valid=True)
            prepared = self.transform.prepare(clip, generator=rng)
            if not (isinstance(prepared, tuple) and len(prepared) == 2):
                raise TypeError(
                    f"The transform's prepare ({_name_of(self.transform)}) returned {describe_value(prepared)}; "
                    "VideoClipDataset expects a pair (uint8 frames, colour draws), like XCLIPTrainTransform.prepare."
                )
            pixel_values, colour = prepared
            self._check_clip(pixel_values, f"The transform's prepare ({_name_of(self.transform)})", uint8=True)
            return {**_item(pixel_values, record.label, index, replaced=attempt > 0, valid=True), "colour": colour}
        raise ValueError(
            f"Found no readable video among {attempt + 1} consecutive videos from position {index} of the list "
            f"(first: {self.records[index].describe()}); check DATA.ROOT and the video files."
        )

    def _evaluation_item(self, index: int, rng: np.random.Generator) -> dict[str, Any]:
        record = self.records[index]
        try:
            clips = self._read_clip(record, rng)
        except VideoDecodeError as error:
            self._report_unreadable(index, record, error, "it is excluded from the metrics and counted as unreadable")
            dtype = torch.uint8 if self.finish_on_device else torch.float32
            pixel_values = torch.zeros(self._evaluation_shape(), dtype=dtype)
            return _item(pixel_values, record.label, index, replaced=False, valid=False)
        deferred = {"do_rescale": False, "do_normalize": False} if self.finish_on_device else {}
        pixel_values = self.video_processor(
            clips,
            num_frames=self.num_frames,
            num_clips=self.num_clips,
            num_crops=self.num_crops,
            do_sample_frames=False,
            input_data_format="channels_last",
            return_tensors="pt",
            **deferred,
        ).pixel_values[0]
        _check_output(
            pixel_values,
            f"The video processor {_name_of(self.video_processor)}",
            self._evaluation_shape(),
            uint8=self.finish_on_device,
        )
        return _item(pixel_values, record.label, index, replaced=False, valid=True)

    def _read_clip(self, record: VideoRecord, rng: np.random.Generator) -> np.ndarray:
        """The sampled frames of `record`: uint8 `(num_clips * T, H, W, 3)`, clip-major."""
        if isinstance(record.source, np.ndarray):
            if not len(record.source):
                # As the decoder says of a video file without frames: an unreadable video, skipped or reported.
                raise VideoDecodeError(record.describe(), "contains no video frames")
            return record.source[self._sample_indices(len(record.source), rng).reshape(-1)]
        with VideoReader(
            record.source, num_threads=self.decode_threads, hwaccel=self.hwaccel, autorotate=self.autorotate
        ) as reader:
            return reader.read(self._sample_indices(reader.info.num_frames, rng).reshape(-1))

    def _sample_indices(self, total_frames: int, rng: np.random.Generator) -> np.ndarray:
        """`(num_clips, T)` frame indices."""
        if self.sampling == "dense":
            return sample_dense_indices(
                total_frames,
                self.num_frames,
                self.frame_interval,
                num_clips=self.num_clips,
                training=self.training or self.random_clips,
                rng=rng,
            )
        if self.training:
            return sample_segment_indices(total_frames, self.num_frames, training=True, rng=rng)[None]
        return sample_multi_clip_indices(
            total_frames, self.num_frames, self.num_clips, random=self.random_clips, rng=rng
        )

    def _check_clip(self, pixel_values: Any, producer: str, *, uint8: bool) -> None:
        """Check a training clip: a wrong one would otherwise surface far from its cause, in collation or the loss,
        or not at all (uint8 frames fed to the model)."""
        side = self._clip_side
        if side is not None:
            text = f"(num_frames, 3, S, S) = {(self.num_frames, 3, side, side)}"
        else:
            text = f"(num_frames, 3, S, S) = ({self.num_frames}, 3, S, S) for some S"
            if isinstance(pixel_values, torch.Tensor) and pixel_values.ndim == 4:
                side = pixel_values.shape[-1]
        shape = (self.num_frames, 3, side, side) if side is not None else None
        _check_output(pixel_values, producer, shape, uint8=uint8, shape_text=text)

    def _evaluation_shape(self) -> tuple[int, ...]:
        crop_size = self.video_processor.crop_size
        clip_shape = (self.num_frames, 3, crop_size["height"], crop_size["width"])
        views = self.num_clips * self.num_crops
        return clip_shape if views == 1 else (views, *clip_shape)

    def _report_unreadable(self, position: int, record: VideoRecord, error: VideoDecodeError, consequence: str) -> None:
        if position in self._reported_unreadable:
            return
        self._reported_unreadable.add(position)
        line = f", line {record.line} of the video list" if record.line is not None else ""
        logger.warning("Unreadable video (position %d%s): %s; %s.", position, line, error, consequence)


def _check_records(records: Any, training: bool) -> None:
    if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
        # A path or None is worth showing; the repr of a generator or a record is noise.
        shown = records is None or isinstance(records, (str, bytes))
        found = describe_value(records) if shown else type(records).__name__
        hint = "; wrap a single one in a list" if isinstance(records, VideoRecord) else ""
        raise TypeError(f"records must be a sequence of VideoRecord (e.g. from read_video_list), got {found}{hint}.")
    # Lists only: indexing a lazy view of a dataset (`from_hf_dataset`) would read a video now; `from_hf_dataset`
    # checks its labels from the label column instead.
    if not isinstance(records, (list, tuple)):
        return
    for position, record in enumerate(records):
        if not isinstance(record, VideoRecord):
            raise TypeError(
                f"VideoClipDataset takes VideoRecord objects (e.g. from read_video_list), got {describe_value(record)} "
                f"at position {position} of records."
            )
        # Evaluation may keep them: predicting unlabelled videos needs no label, and the accuracy refuses them.
        if training and record.label < 0:
            raise ValueError(
                f"Training needs a class index for every video, but record {position} ({record.describe()}) has "
                f"label {record.label}; leave unlabelled videos out of training lists."
            )


def _check_output(
    value: Any, producer: str, shape: tuple[int, ...] | None, *, uint8: bool, shape_text: str | None = None
) -> None:
    """Check that `producer` returned a uint8 (or floating-point) tensor of `shape`; None matches no shape.

    Raises:
        TypeError: `value` is not a tensor of that dtype.
        ValueError: Its shape differs.
    """
    right_dtype = isinstance(value, torch.Tensor) and (
        value.dtype == torch.uint8 if uint8 else value.is_floating_point()
    )
    if right_dtype and tuple(value.shape) == shape:
        return
    kind = "uint8" if uint8 else "floating-point"
    raise (ValueError if right_dtype else TypeError)(
        f"{producer} returned {describe_value(value)}; VideoClipDataset expects a {kind} tensor of shape "
        f"{shape_text or shape}."
    )


def _name_of(function: Any) -> str:
    """A function's own name; an object's class name (an instance has no `__qualname__`)."""
    return getattr(function, "__qualname__", type(function).__name__)


def _item(pixel_values: torch.Tensor, label: int, index: int, *, replaced: bool, valid: bool) -> dict[str, Any]:
    return {
        "pixel_values": pixel_values,
        "labels": torch.tensor(label, dtype=torch.int64),
        "index": index,
        "replaced": int(replaced),
        "valid": int(valid),
    }
