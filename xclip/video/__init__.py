"""Video input for X-CLIP: decoding frames by index with PyAV, the original's frame sampling, and synthetic clips of
moving shapes for tests and demos."""

from .decoding import DecodeStats, DisplayOrientation, VideoInfo, VideoReader, display_matrix, probe, read_frames
from .errors import VideoDecodeError
from .moving_shapes import ShapeMotion, ShapeStyle, render_moving_shape
from .sampling import sample_dense_indices, sample_multi_clip_indices, sample_segment_indices
from .sources import TarMember, VideoSource, resolve_video_source


__all__ = [
    "DecodeStats",
    "DisplayOrientation",
    "ShapeMotion",
    "ShapeStyle",
    "TarMember",
    "VideoDecodeError",
    "VideoInfo",
    "VideoReader",
    "VideoSource",
    "display_matrix",
    "probe",
    "read_frames",
    "render_moving_shape",
    "resolve_video_source",
    "sample_dense_indices",
    "sample_multi_clip_indices",
    "sample_segment_indices",
]
