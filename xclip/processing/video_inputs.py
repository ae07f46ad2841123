"""Every way a caller may hand videos to the processor, turned into one list of videos that can read frames by index.

Accepted, for one video: a file path (of a video, or of a still image: a one-frame video); a `(T, H, W, C)` or
`(T, C, H, W)` NumPy array or torch tensor; a list of frames (PIL images, or `(H, W, C)`/`(C, H, W)`/`(H, W)` arrays);
a single PIL image (a one-frame video). For a batch: a list of any of these, or a 5-D array `(B, T, ...)`. Each video
reads the frames an `IndexChooser` picks from its frame count, as channels-first tensors `(n, C, H, W)` in the input's
dtype (uint8 from files).

Frames must be uint8 or floating point. Other integer dtypes (16-bit frames, int64 from `torch.randint`) and bools
are refused rather than read as 0-255 values. PIL images in mode `F` are their float arrays (PIL's RGB rendering
would clip them to 0-255 levels). PIL images with transparency (RGBA, LA, palette or colour-key transparency) keep
their alpha as a fourth channel, so that the video processor composites them onto white exactly as it does RGBA arrays.

The channel axis is inferred (size 1, 3 or 4 last, or else right after the frame axis). When both positions are
possible (e.g. `(T, 3, H, 3)`), pass `input_data_format="channels_last"` or `"channels_first"`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import PIL.Image
import torch
from transformers.image_utils import ChannelDimension

from ..video import VideoReader

__all__ = [
    "ArrayVideo", "FileVideo", "IndexChooser", "VideoFrames", "as_video_batch", "is_video_batch", "pil_frame_to_array",
]

_CHANNEL_COUNTS = (1, 3, 4)  # grayscale, RGB, RGBA

# Given a video's frame count, the indices of the frames to read (or an error if the count does not fit).
IndexChooser = Callable[[int], np.ndarray]


@dataclass(frozen=True)
class FileVideo:
    """A video file, decoded with `xclip.video`: opened once, and only the chosen frames are decoded."""

    path: Path

    @property
    def description(self) -> str:
        return f"video file {os.fspath(self.path)!r}"

    def read_frames(self, choose_indices: IndexChooser) -> torch.Tensor:
        """The frames `choose_indices(num_frames)` picks (any order, repeats allowed) as uint8 `(n, 3, H, W)`."""
        with VideoReader(self.path) as reader:
            frames = reader.read(choose_indices(reader.info.num_frames))
        return torch.from_numpy(frames).permute(0, 3, 1, 2)


@dataclass(frozen=True)
class ArrayVideo:
    """A video already in memory as channels-first frames `(T, C, H, W)` (uint8 or float, any device).

    `alpha_from_images` is True when the fourth channel is the alpha of PIL images (0-255 like their colours), which
    the pipelines accept although they refuse RGBA arrays, whose alpha scale they cannot know.
    """

    frames: torch.Tensor
    description: str
    alpha_from_images: bool = False

    def read_frames(self, choose_indices: IndexChooser) -> torch.Tensor:
        """The frames `choose_indices(T)` picks, as `(n, C, H, W)`: the frames themselves when it picks every frame in
        order (frames already sampled, `do_sample_frames=False`), since the processor never writes into its input."""
        total = self.frames.shape[0]
        indices = choose_indices(total)
        if np.array_equal(indices, np.arange(total)):
            return self.frames
        return self.frames[torch.as_tensor(indices, dtype=torch.long, device=self.frames.device)]


# What the video processor accepts as one video or a batch (see the module docstring); `FileVideo` and `ArrayVideo`
# are inputs already interpreted by `as_video_batch`.
VideoFrames = str | os.PathLike | np.ndarray | torch.Tensor | PIL.Image.Image | list | tuple | FileVideo | ArrayVideo


def _channel_dimension(input_data_format: str | ChannelDimension | None) -> ChannelDimension | None:
    if input_data_format is None:
        return None
    try:
        return ChannelDimension(input_data_format)
    except ValueError:
        raise ValueError(
            f"input_data_format must be 'channels_first' or 'channels_last', got {input_data_format!r}."
        ) from None


def _as_tensor(array: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(array, torch.Tensor):
        return array
    # Views with negative strides (e.g. `frames[..., ::-1]` for BGR -> RGB) cannot be shared with torch.
    return torch.from_numpy(np.ascontiguousarray(array))


def _check_dtype(array: np.ndarray | torch.Tensor, what: str) -> None:
    """Refuse frames whose dtype has no known 0-255 reading: the processor would take 16-bit or int64 values as
    0-255 levels and return saturated `pixel_values` without complaint."""
    if isinstance(array, np.ndarray):
        if array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating):
            return
        name, integer, cast = array.dtype.name, np.issubdtype(array.dtype, np.integer), ".astype(np.uint8)"
    else:
        if array.dtype == torch.uint8 or array.dtype.is_floating_point:
            return
        name, cast = str(array.dtype).removeprefix("torch."), ".to(torch.uint8)"
        integer = array.dtype != torch.bool and not array.dtype.is_complex
    expected = (
        f"{what} has dtype {name}; video frames must be uint8 (0-255) or floating point (on the 0-255 scale, or in "
        "[0, 1] with do_rescale=False)."
    )
    if name == "bool":
        raise TypeError(f"{expected} Convert a mask to 0 and 255 first: `mask{cast} * 255`.")
    if integer:
        raise TypeError(
            f"{expected} Other integers are not read as 0-255 levels; convert them first: 16-bit frames (0-65535) "
            f"with `(frames // 257){cast}`, frames already in 0-255 with `frames{cast}`."
        )
    raise TypeError(expected)


def _to_channels_first(
    tensor: torch.Tensor, channel_format: ChannelDimension | None, what: str
) -> torch.Tensor:
    """Move the channel axis of `(..., H, W, C)` or `(..., C, H, W)` (the last 3 axes) to `(..., C, H, W)`."""
    last_possible = tensor.shape[-1] in _CHANNEL_COUNTS
    first_possible = tensor.shape[-3] in _CHANNEL_COUNTS
    if channel_format is None:
        if last_possible and first_possible:
            raise ValueError(
                f"Cannot tell where the channel axis of {what} with shape {tuple(tensor.shape)} is; pass "
                "input_data_format='channels_last' or 'channels_first'."
            )
        if last_possible:
            channel_format = ChannelDimension.LAST
        elif first_possible:
            channel_format = ChannelDimension.FIRST
        else:
            raise ValueError(
                f"{what} with shape {tuple(tensor.shape)} has no channel axis of size 1, 3 or 4 "
                "(expected [..., H, W, C] or [..., C, H, W])."
            )
    channels = tensor.shape[-1] if channel_format == ChannelDimension.LAST else tensor.shape[-3]
    if channels not in _CHANNEL_COUNTS:
        raise ValueError(
            f"{what} with shape {tuple(tensor.shape)} has {channels} channels along its {channel_format.value} axis; "
            "expected 1, 3 or 4."
        )
    return tensor.movedim(-1, -3) if channel_format == ChannelDimension.LAST else tensor


def _is_frame(item: Any) -> bool:
    """Whether `item` is a single frame (an image), as opposed to a whole video."""
    if isinstance(item, PIL.Image.Image):
        return True
    return isinstance(item, (np.ndarray, torch.Tensor)) and item.ndim in (2, 3)


def _still_image(path: Path) -> PIL.Image.Image | None:
    """The image in `path` when its name is an image file's (PIL's registered extensions) and it holds a single still
    image, loaded; None for anything else: a video, an animated image (PyAV decodes GIFs), a missing or unreadable
    file (whose decoder error names it). Video files are not opened here."""
    if path.suffix.lower() not in PIL.Image.registered_extensions():
        return None
    try:
        image = PIL.Image.open(path)
    except (OSError, ValueError):  # missing or unreadable: the decoder's error names it
        return None
    try:
        if getattr(image, "n_frames", 1) == 1:
            image.load()  # reads the pixels and closes the file
            return image
    except (OSError, ValueError, NotImplementedError):  # PIL identifies MPEG streams, which it cannot decode
        pass
    image.close()
    return None


def pil_frame_to_array(image: PIL.Image.Image, what: str) -> np.ndarray:
    """
    The values of a PIL frame, as the video processor reads them (and Hugging Face datasets of PIL frames, which must
    agree with it): float32 `(H, W)` for mode `F`, else uint8 RGBA `(H, W, 4)` when the image has transparency
    (an alpha band, or palette or colour-key transparency, by the test of transformers' `convert_to_rgb`) and uint8
    RGB `(H, W, 3)` when it has none.

    PIL's RGB rendering would clip 32-bit float values to 0-255 levels (a [0, 1] image turns black), so a mode `F`
    image is the float grayscale array it holds. Palette, CMYK and alpha modes have a well-defined RGB(A) rendering
    in PIL; the alpha is kept, not dropped by `convert("RGB")`, so that transparent frames are composited onto white
    as the same RGBA arrays are.

    Args:
        image: The frame.
        what: Names it in messages, e.g. `"frame 0 of the video"`.

    Raises:
        TypeError: A 16- or 32-bit integer image (mode `I` or `I;16...`), whose values PIL's RGB rendering clips at
            255: refused as the same arrays are.
    """
    if image.mode == "F":
        return np.array(image)
    if image.mode == "I" or image.mode.startswith("I;16"):
        _check_dtype(np.array(image), f"{what} (PIL image in mode {image.mode})")
    has_transparency = "A" in image.getbands() or image.info.get("transparency") is not None
    return np.array(image.convert("RGBA" if has_transparency else "RGB"))


def _frame_to_tensor(frame: Any, channel_format: ChannelDimension | None, what: str) -> torch.Tensor:
    """One frame as a channels-first tensor `(C, H, W)`: RGBA for a PIL image with transparency, else RGB."""
    if isinstance(frame, PIL.Image.Image):
        values = torch.from_numpy(pil_frame_to_array(frame, what))
        # A PIL image's array is channels-last whatever `channel_format` says of the caller's arrays.
        return values.unsqueeze(0) if values.ndim == 2 else values.permute(2, 0, 1)
    _check_dtype(frame, what)
    tensor = _as_tensor(frame)
    if tensor.ndim == 2:
        return tensor.unsqueeze(0)
    return _to_channels_first(tensor, channel_format, what)


def _frames_to_video(frames: list, channel_format: ChannelDimension | None, what: str) -> ArrayVideo:
    tensors = [
        _frame_to_tensor(frame, channel_format, f"frame {index} of {what}") for index, frame in enumerate(frames)
    ]
    rgba_from_images = [
        isinstance(frame, PIL.Image.Image) for frame, tensor in zip(frames, tensors) if tensor.shape[0] == 4
    ]
    if rgba_from_images:
        # Frames of one video may differ in transparency (a GIF's, say): opaque RGB frames get an alpha channel of
        # 255, which compositing leaves unchanged, rather than failing on the channel count.
        tensors = [
            torch.cat([tensor, torch.full_like(tensor[:1], 255)]) if tensor.shape[0] == 3 else tensor
            for tensor in tensors
        ]
    for index, tensor in enumerate(tensors[1:], start=1):
        if tensor.shape != tensors[0].shape:
            raise ValueError(
                f"Frames of {what} differ in shape: frame 0 is {tuple(tensors[0].shape)} (CxHxW) but frame {index} "
                f"is {tuple(tensor.shape)}."
            )
    alpha_from_images = bool(rgba_from_images) and all(rgba_from_images)
    return ArrayVideo(torch.stack(tensors), f"{what} (list of {len(frames)} frames)", alpha_from_images)


def _to_video(item: Any, channel_format: ChannelDimension | None, what: str) -> FileVideo | ArrayVideo:
    if isinstance(item, (FileVideo, ArrayVideo)):  # already interpreted, e.g. by a pipeline that checked it
        return item
    if isinstance(item, (str, os.PathLike)):
        image = _still_image(Path(item))
        if image is not None:  # PyAV refuses still images; as a PIL image, it is a one-frame video
            return _frames_to_video([image], channel_format, f"{what} (image file {os.fspath(item)!r})")
        return FileVideo(Path(item))
    if isinstance(item, PIL.Image.Image):
        return _frames_to_video([item], channel_format, what)
    if isinstance(item, (np.ndarray, torch.Tensor)):
        if item.ndim != 4:
            raise ValueError(
                f"{what} must be a 4-D array [T, H, W, C] or [T, C, H, W], got shape {tuple(item.shape)}; wrap a "
                "single frame as a one-element list, and give greyscale frames [T, H, W] a channel axis "
                "(video[..., None])."
            )
        _check_dtype(item, f"{what} (array of shape {tuple(item.shape)})")
        frames = _to_channels_first(_as_tensor(item), channel_format, what)
        if frames.shape[0] == 0:
            raise ValueError(f"{what} has no frames (shape {tuple(item.shape)}).")
        return ArrayVideo(frames, f"{what} (array of shape {tuple(item.shape)})")
    if isinstance(item, (list, tuple)):
        if not item:
            raise ValueError(f"{what} is an empty list of frames.")
        if not all(_is_frame(frame) for frame in item):
            kinds = sorted({type(frame).__name__ for frame in item})
            raise ValueError(
                f"{what} mixes frames with other inputs ({', '.join(kinds)}); a video given as a list must hold only "
                "PIL images or 2-D/3-D arrays."
            )
        return _frames_to_video(list(item), channel_format, what)
    raise TypeError(
        f"{what} has unsupported type {type(item).__name__}; expected a path, an array/tensor, a PIL image or a list "
        "of frames."
    )


def is_video_batch(videos: VideoFrames) -> bool:
    """Whether `videos` is several videos (a list of videos, a 5-D array) rather than one (a list of frames is one).

    Raises:
        ValueError: `videos` is an empty list.
    """
    if isinstance(videos, (np.ndarray, torch.Tensor)):
        return videos.ndim == 5
    if isinstance(videos, (list, tuple)):
        if not videos:
            raise ValueError("Got an empty list of videos.")
        # A list that is not one video's frames is a batch: one entry per video.
        return not all(_is_frame(item) for item in videos)
    return False


def as_video_batch(
    videos: VideoFrames, input_data_format: str | ChannelDimension | None = None
) -> list[FileVideo | ArrayVideo]:
    """
    Interpret `videos` as one video or a batch of videos (see the module docstring for what is accepted).

    Args:
        videos: One video or a batch of videos.
        input_data_format: Where the channel axis of array inputs is, when it cannot be inferred.

    Returns:
        One `FileVideo` or `ArrayVideo` per video, in input order.
    """
    channel_format = _channel_dimension(input_data_format)
    if is_video_batch(videos):
        return [_to_video(video, channel_format, f"video {index} of the batch") for index, video in enumerate(videos)]
    return [_to_video(videos, channel_format, "the video")]
