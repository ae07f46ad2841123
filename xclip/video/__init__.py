"""Video input for X-CLIP: decoding frames by index with PyAV, and the original's frame sampling."""

from .decoding import DecodeStats, VideoInfo, VideoReader, probe, read_frames
from .errors import VideoDecodeError
from .sampling import sample_dense_indices, sample_multi_clip_indices, sample_segment_indices
from .sources import TarMember, VideoSource, resolve_video_source


__all__ = [
    "DecodeStats",
    "TarMember",
    "VideoDecodeError",
    "VideoInfo",
    "VideoReader",
    "VideoSource",
    "probe",
    "read_frames",
    "resolve_video_source",
    "sample_dense_indices",
    "sample_multi_clip_indices",
    "sample_segment_indices",
]
