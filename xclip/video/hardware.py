"""Hardware video decoding through FFmpeg (NVDEC with `"cuda"`), for `VideoReader(..., hwaccel=...)`.

The decoder's slice work moves to the GPU; FFmpeg still parses the stream on the CPU and the frames come back to
host memory as the same `uint8` RGB arrays (H.264 decoding is exact by the standard; a GPU test compares the frames
with software decoding). PyAV creates a hardware device for every opened file; with CUDA that is the GPU's primary
context, which this module retains once per process so that each opening only takes another reference to it
instead of creating a context.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import av
import numpy as np
from av.codec.hwaccel import HWAccel, hwdevices_available

from .synthetic import moving_texture_frames, write_video

# Hardware accelerators kept alive for the life of the process, by device type: their only job is to hold the device.
_retained_devices: dict[str, HWAccel] = {}


def local_gpu_index() -> int:
    """The GPU of this training process: `LOCAL_RANK` under `torchrun`/`accelerate launch` (DataLoader workers inherit
    it), else 0."""
    return int(os.environ.get("LOCAL_RANK", 0))


def check_hwaccel(device_type: str) -> None:
    """Raises `ValueError`, naming the device types this FFmpeg build has, unless it has `device_type` (`"cuda"`)."""
    available = hwdevices_available()
    if device_type not in available:
        raise ValueError(
            f"Unknown hardware decoder {device_type!r}: this FFmpeg build offers {', '.join(available) or 'none'}."
        )


def hardware_accelerator(device_type: str) -> HWAccel:
    """What `av.open(..., hwaccel=)` takes to decode on `device_type`, falling back to software decoding for streams
    the hardware cannot decode (an unsupported profile, say).

    Raises:
        ValueError: FFmpeg has no such device type.
        RuntimeError: The device cannot be opened (no GPU, no driver, no permission).
    """
    options = {"primary_ctx": "1"} if device_type == "cuda" else {}
    device = str(local_gpu_index()) if device_type == "cuda" else None
    if device_type not in _retained_devices:
        check_hwaccel(device_type)
        try:
            retained = HWAccel(device_type, device=device, options=options).create(av.Codec("h264", "r"))
        except (av.error.FFmpegError, NotImplementedError) as error:
            raise RuntimeError(
                f"Cannot open FFmpeg's {device_type!r} device for hardware video decoding ({error}); decode on the CPU "
                "instead (hwaccel=None, DATA.HWACCEL '')."
            ) from None
        _check_decodes(HWAccel(device_type, device=device, allow_software_fallback=False, options=options))
        _retained_devices[device_type] = retained  # only once it decodes: every later call would skip the checks
    return HWAccel(device_type, device=device, allow_software_fallback=True, options=options)


def _check_decodes(strict: HWAccel) -> None:
    """Decodes a small H.264 clip on the device, without falling back to software: the device can be opened but
    its decoder still be missing (a container without the driver's video library, libnvcuvid for NVDEC), and the
    fallback would then decode every video on the CPU without a word."""
    num_frames = 8
    with tempfile.TemporaryDirectory() as folder:
        clip = write_video(Path(folder) / "probe.mp4", moving_texture_frames(num_frames, 64, 64))
        try:
            with av.open(str(clip), hwaccel=strict) as container:
                decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
        except av.error.FFmpegError as error:
            decoded, reason = [], str(error)
        else:
            reason = f"{len(decoded)} of {num_frames} frames decoded"
    if len(decoded) != num_frames or not all(np.any(frame) for frame in decoded):
        raise RuntimeError(
            f"FFmpeg opened the hardware device but cannot decode H.264 on it ({reason}); for NVDEC the container "
            "needs the driver's video library (NVIDIA_DRIVER_CAPABILITIES including 'video'). Decode on the CPU "
            "instead (hwaccel=None, DATA.HWACCEL '')."
        )
