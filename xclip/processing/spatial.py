"""Geometry shared by the test-time video processor and the training transform: the original's resize and crops.

The original X-CLIP resizes with mmcv (OpenCV `INTER_LINEAR`) and crops with mmaction2's rules. Two details differ
from torchvision's defaults and are reproduced here:

- the output size of a short-side resize rounds (`int(side * scale + 0.5)`) where torchvision truncates;
- crop offsets floor (`(H - h) // 2`) where torchvision's `center_crop` rounds half to even.

Resizing uses torchvision's bilinear kernel with `antialias=False`, the same half-pixel formula as OpenCV's
`INTER_LINEAR` (no low-pass filter when shrinking). `antialias=True` would instead match PIL, which the original never
used: on a 720p noise frame shrunk to 256 px it differs from OpenCV by up to 147 of 255 levels. Bilinear resizing
keeps uint8 frames in uint8, as OpenCV does for the original: on a CPU with AVX2 by torch's integer kernel, which
differs from OpenCV's by at most one level (on about a quarter of the pixels) and runs about 6 times faster than the
float kernel; elsewhere by the float kernel, rounded. Float frames, and uint8 frames under any other interpolation
(torch's integer bicubic kernel is tens of levels from OpenCV's), are resized in float without rounding, within one
level of OpenCV (both measured in tests/test_video_processor.py).
"""

from __future__ import annotations

import torch
import torchvision.transforms.v2.functional as tvF
from torchvision.transforms import InterpolationMode

# Interpolations that keep uint8 frames in uint8 (see the module docstring).
_UINT8_INTERPOLATIONS = (InterpolationMode.BILINEAR, InterpolationMode.NEAREST, InterpolationMode.NEAREST_EXACT)

__all__ = [
    "center_crop_offset",
    "crop",
    "resize",
    "resize_short_side",
    "short_side_for_crop",
    "short_side_resize_shape",
    "three_crop_offsets",
]


def short_side_for_crop(image_size: int) -> int:
    """The original's test-time short side for a crop of `image_size`: `int(256 / 224 * image_size)` (224 -> 256)."""
    return int(256 / 224 * image_size)


def short_side_resize_shape(height: int, width: int, short_side: int) -> tuple[int, int]:
    """`(new_height, new_width)` with the short side equal to `short_side` and the aspect ratio kept.

    Both sides are scaled by `short_side / min(height, width)` and rounded half up, as mmcv's `rescale_size` does:
    a 176x144 (WxH) frame becomes 313x256, where torchvision's `resize(256)` truncates to 312x256.
    """
    scale = short_side / min(height, width)
    return int(height * scale + 0.5), int(width * scale + 0.5)


def resize(
    frames: torch.Tensor, size: tuple[int, int], interpolation: InterpolationMode = InterpolationMode.BILINEAR
) -> torch.Tensor:
    """Resize frames `(..., C, H, W)` (uint8 or float, kept) to `size = (height, width)` without antialiasing
    (OpenCV's behaviour).

    Frames that already have the requested size are returned unchanged.
    """
    if tuple(frames.shape[-2:]) == tuple(size):
        return frames
    if frames.dtype == torch.uint8 and interpolation not in _UINT8_INTERPOLATIONS:
        frames = frames.float()
    return tvF.resize(frames, list(size), interpolation=interpolation, antialias=False)


def resize_short_side(
    frames: torch.Tensor, short_side: int, interpolation: InterpolationMode = InterpolationMode.BILINEAR
) -> torch.Tensor:
    """Resize frames `(..., C, H, W)` (uint8 or float, kept) so that `min(H, W) == short_side`, keeping the aspect
    ratio."""
    height, width = frames.shape[-2:]
    return resize(frames, short_side_resize_shape(height, width, short_side), interpolation)


def center_crop_offset(height: int, width: int, crop_height: int, crop_width: int) -> tuple[int, int]:
    """`(top, left)` of the centred crop, floored as in mmaction2's `CenterCrop`."""
    return (height - crop_height) // 2, (width - crop_width) // 2


def three_crop_offsets(height: int, width: int, crop_size: int) -> list[tuple[int, int]]:
    """`(top, left)` of the original's three `crop_size` squares along the long side: start, end, centre.

    One side must already equal `crop_size` (the 3-crop test first resizes the short side to the crop size). The
    order is left/top, right/bottom, middle, with `step = (long - crop_size) // 2` and offsets `0, 2 * step, step`,
    as mmaction2's `ThreeCrop` computes them.
    """
    if height == crop_size:
        step = (width - crop_size) // 2
        return [(0, 0), (0, 2 * step), (0, step)]
    if width == crop_size:
        step = (height - crop_size) // 2
        return [(0, 0), (2 * step, 0), (step, 0)]
    raise ValueError(
        f"Three-crop needs one side of the frame equal to the crop size {crop_size}, got {height}x{width} (HxW)."
    )


def crop(frames: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """Crop frames `(..., C, H, W)` to `(..., C, height, width)` at `(top, left)`, which must lie inside the frame."""
    frame_height, frame_width = frames.shape[-2:]
    if top < 0 or left < 0 or top + height > frame_height or left + width > frame_width:
        raise ValueError(
            f"Crop {height}x{width} at (top={top}, left={left}) does not fit in a {frame_height}x{frame_width} frame."
        )
    return frames[..., top : top + height, left : left + width]
