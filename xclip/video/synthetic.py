"""Small synthetic videos, written with PyAV: for tests, benchmarks and demos that must run without a dataset.

- `write_video` encodes RGB frames to any container/codec FFmpeg has, optionally with irregular timestamps
  (variable frame rate).
- `index_coded_frames` draws each frame's own index as a block pattern that survives lossy compression, and
  `read_index_code` reads it back: a test can check exactly which frame a decoder returned.
- `moving_texture_frames` is camera-like content (panning texture, a moving object, sensor noise) that is not
  trivially compressible, for realistic decoding benchmarks.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


_CODE_GRID = 4  # index codes are a 4 x 4 grid of black/white blocks: 16 bits


def write_video(
    path: str | os.PathLike,
    frames: np.ndarray,
    *,
    fps: float = 25,
    codec: str = "libx264",
    pixel_format: str = "yuv420p",
    options: dict[str, str] | None = None,
    timestamps: Sequence[int] | None = None,
    time_base: Fraction = Fraction(1, 1000),
    container_options: dict[str, str] | None = None,
    display_rotation: int = 0,
    display_mirrored: bool = False,
) -> Path:
    """Encode RGB frames to a video file; the container follows the extension (.mp4, .mkv, .webm, .avi, ...).

    Args:
        path: Output file.
        frames: `(T, H, W, 3)` uint8 RGB frames (H and W even for 4:2:0 pixel formats).
        fps: Nominal frame rate; the frame spacing unless `timestamps` is given.
        codec: FFmpeg encoder name, e.g. `"libx264"`, `"libvpx-vp9"`, `"mpeg4"`.
        pixel_format: Encoder pixel format.
        options: Encoder options, e.g. `{"g": "12", "bf": "2"}` (GOP of 12 frames, 2 B-frames) or x264's
            `{"preset": "veryfast"}`.
        timestamps: `(T,)` increasing presentation timestamps in `time_base` units, for variable frame rate.
        time_base: Unit of `timestamps`.
        container_options: Muxer options, e.g. `{"movflags": "faststart"}` (MP4 index before the data).
        display_rotation: Counterclockwise degrees a player turns the frames by, stored as the stream's display
            matrix; phones record portrait video as landscape frames with -90 (FFmpeg's "rotation of -90.00
            degrees", a quarter turn clockwise).
        display_mirrored: Whether the display matrix also mirrors the frames left to right, after the rotation.

    Returns:
        `path` as a `Path`.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be a [T, H, W, 3] uint8 array, got {frames.dtype} {frames.shape}")
    if timestamps is not None and len(timestamps) != len(frames):
        raise ValueError(f"got {len(timestamps)} timestamps for {len(frames)} frames")
    path = Path(path)
    with av.open(os.fspath(path), mode="w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001), options=options or {})
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pixel_format
        if display_rotation or display_mirrored:
            stream.set_display_rotation(display_rotation, hflip=display_mirrored)
        if timestamps is not None:
            stream.codec_context.time_base = time_base
        container.start_encoding()  # writes the header even when there are no frames
        for position, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if timestamps is not None:
                frame.pts, frame.time_base = int(timestamps[position]), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def index_coded_frames(num_frames: int, height: int = 64, width: int = 64) -> np.ndarray:
    """Frames showing their own index as a 4 x 4 grid of black (0) / white (1) blocks, least significant bit first.

    Returns:
        `np.ndarray` uint8 of shape `(num_frames, height, width, 3)` (at most 65536 frames).
    """
    if num_frames > 2 ** (_CODE_GRID * _CODE_GRID):
        raise ValueError(f"index codes hold at most {2 ** (_CODE_GRID * _CODE_GRID)} frames, got {num_frames}")
    bits = (np.arange(num_frames)[:, None] >> np.arange(_CODE_GRID * _CODE_GRID)[None, :]) & 1
    grid = bits.reshape(num_frames, _CODE_GRID, _CODE_GRID).astype(np.uint8) * 255
    rows = np.linspace(0, _CODE_GRID, height, endpoint=False).astype(int)
    columns = np.linspace(0, _CODE_GRID, width, endpoint=False).astype(int)
    return np.repeat(grid[:, rows][:, :, columns, None], 3, axis=-1)


def read_index_code(frame: np.ndarray) -> int:
    """The index drawn by `index_coded_frames` into `frame` (`(H, W, 3)`), read from the centre of each block."""
    height, width = frame.shape[:2]
    centres_y = ((np.arange(_CODE_GRID) + 0.5) * height / _CODE_GRID).astype(int)
    centres_x = ((np.arange(_CODE_GRID) + 0.5) * width / _CODE_GRID).astype(int)
    bits = frame[centres_y][:, centres_x].mean(axis=-1).ravel() > 127
    return int((bits.astype(np.int64) << np.arange(bits.size)).sum())


def moving_texture_frames(num_frames: int, height: int, width: int, *, seed: int = 0) -> np.ndarray:
    """Camera-like frames: a panning multi-scale texture, a moving bright object and per-frame noise.

    Returns:
        `np.ndarray` uint8 of shape `(num_frames, height, width, 3)`.
    """
    rng = np.random.default_rng(seed)
    margin = 2 * num_frames + 64
    canvas_h, canvas_w = height + margin, width + margin
    texture = np.zeros((canvas_h, canvas_w, 3), dtype=np.float32)
    for block, weight in ((32, 0.5), (8, 0.3), (2, 0.2)):  # coarse shapes, mid detail, fine grain
        cells = rng.random((canvas_h // block + 1, canvas_w // block + 1, 3), dtype=np.float32)
        texture += weight * np.kron(cells, np.ones((block, block, 1), dtype=np.float32))[:canvas_h, :canvas_w]
    texture *= 255
    object_size = max(4, min(height, width) // 5)
    frames = np.empty((num_frames, height, width, 3), dtype=np.uint8)
    for position in range(num_frames):
        # The camera pans with a slowly varying speed; the object crosses the frame on its own path.
        x = int(position * (1.5 + np.sin(position / 20))) % (margin - 1)
        y = int(position * 0.7) % (margin - 1)
        view = texture[y : y + height, x : x + width].copy()
        top = int((height - object_size) * (0.5 + 0.4 * np.sin(position / 9)))
        left = int((width - object_size) * (position / max(1, num_frames - 1)))
        view[top : top + object_size, left : left + object_size] = (240, 200, 60)
        view += rng.normal(0, 4, size=view.shape).astype(np.float32)
        frames[position] = np.clip(view, 0, 255).astype(np.uint8)
    return frames
