"""What the X-CLIP pipelines accept as videos, and how one video becomes `pixel_values`.

One video: a path, an `http(s)://` or `file://` URL, a `(T, H, W, C)`/`(T, C, H, W)` array or tensor, or a list of
frames (PIL images or 2-D/3-D arrays). Several videos: a list of those, or a 5-D array
(`xclip.processing.video_inputs.is_video_batch` tells them apart). Frame sampling, resizing and cropping are the
model's `XCLIPVideoProcessor`'s, which decodes files with `xclip.video` (PyAV).
"""

import contextlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from ..processing.video_inputs import ArrayVideo, FileVideo, as_video_batch
from ..video import VideoDecodeError

__all__ = ["URL_SCHEMES", "check_video_channels", "local_video", "video_to_pixel_values"]

# Greyscale frames are repeated into RGB by the video processor; other channel counts are refused (see
# `check_video_channels`).
PIPELINE_CHANNEL_COUNTS = (1, 3)

URL_SCHEMES = ("http://", "https://", "file://")
_DOWNLOAD_TIMEOUT_S = 60


@contextlib.contextmanager
def local_video(video: Any) -> Iterator[Any]:
    """A URL downloaded to a temporary file (deleted on exit); any other video is yielded unchanged.

    Raises:
        VideoDecodeError: the download failed.
    """
    if not (isinstance(video, str) and video.startswith(URL_SCHEMES)):
        yield video
        return
    # Keep the URL's extension: it tells FFmpeg the container when the stream itself is ambiguous.
    suffix = Path(urllib.parse.urlparse(video).path).suffix
    with tempfile.TemporaryDirectory(prefix="xclip-video-") as folder:
        path = Path(folder) / f"video{suffix}"
        try:
            with urllib.request.urlopen(video, timeout=_DOWNLOAD_TIMEOUT_S) as response, path.open("wb") as file:
                shutil.copyfileobj(response, file)
        except (OSError, ValueError) as error:  # urllib's URLError/HTTPError are OSErrors
            raise VideoDecodeError(video, f"download failed ({error})") from None
        yield os.fspath(path)


def check_video_channels(video: FileVideo | ArrayVideo) -> None:
    """Refuse in-memory video frames of a channel count the model would score without complaint but meaninglessly.

    Files and URLs are left to the decoder, and PIL images were converted to RGB, or to RGBA when they have
    transparency, which the video processor composites onto white (their alpha is 0-255 like their colours). Arrays and
    tensors must be RGB (3 channels) or greyscale (1). (Non-finite values are refused by the video processor, on the
    sampled frames only.)

    Raises:
        ValueError: naming the input and its problem.
    """
    if (
        isinstance(video, ArrayVideo)
        and video.frames.shape[1] not in PIPELINE_CHANNEL_COUNTS
        and not (video.frames.shape[1] == 4 and video.alpha_from_images)
    ):
        raise ValueError(
            f"{video.description} has {video.frames.shape[1]} channels; the pipeline takes RGB (3 channels) or "
            "greyscale (1) frames. For RGBA frames, drop the alpha channel (e.g. video[..., :3]) or composite it first."
        )


def video_to_pixel_values(
    video_processor: Any,
    video: Any,
    *,
    num_frames: int,
    num_clips: int = 1,
    num_crops: int = 1,
) -> torch.Tensor:
    """Sample, resize and crop one video for the model, leaving the rescaling and normalisation to
    `video_processor.normalize_deferred` (on the model's device).

    The video is always sampled to `num_frames` frames per clip (segment centres, with repetition when it has fewer
    frames), whatever its length.

    Args:
        video_processor: an `XCLIPVideoProcessor`.
        video: one video (see the module docstring).
        num_frames: the model's frame count, `config.vision_config.num_frames`.
        num_clips, num_crops: views for the original's multi-view test (4 clips x 3 crops in the paper).

    Returns:
        `(1, num_frames, 3, S, S)`, or `(1, num_clips * num_crops, num_frames, 3, S, S)` with several views: uint8
        for uint8 frames (files, PIL images, uint8 arrays), float32 on the frames' own scale for float frames.

    Raises:
        ValueError: `video` is not one video (e.g. a nested list of videos), or its frames are not 3- or 1-channel or
            not finite (see `check_video_channels`).
        TypeError: its frames are neither uint8 nor floating point (16-bit or int64 frames, bools).
    """
    with local_video(video) as local:
        videos = as_video_batch(local)  # interpreted once: the processor takes the result as it is
        if len(videos) != 1:
            raise ValueError(
                f"Each input must be one video (a path, URL, 4-D array or list of frames); one input held "
                f"{len(videos)} videos. Pass a flat list of videos instead."
            )
        check_video_channels(videos[0])
        pixel_values = video_processor(
            videos[0],
            num_frames=num_frames,
            do_sample_frames=True,
            num_clips=num_clips,
            num_crops=num_crops,
            do_rescale=False,
            do_normalize=False,
            return_tensors="pt",
        )["pixel_values"]
    return pixel_values
