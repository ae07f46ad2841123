"""Frame-accurate video decoding with PyAV.

Frame `i` is the `i`-th frame in presentation order, as in decord (which the original X-CLIP used), so sampled
indices select the same pictures. `VideoReader` first demuxes the stream without decoding to learn every frame's
timestamp and the keyframes, then, for a set of wanted frames:

- jumps to the keyframe before a wanted frame when that skips enough frames, instead of decoding from the start,
  so a few frames spread over a long video cost about the groups of pictures (GOPs) they fall in;
- asks the decoder to drop non-reference frames that are not wanted (`skip_frame="NONREF"`): no other frame
  depends on them, so the wanted frames are bit-identical, at a fraction of the work;
- converts only the wanted frames to RGB, each once, however often it is requested.

Frames are shown as players show them when the stream stores a display matrix (portrait phone videos are
landscape frames with a quarter-turn rotation), as FFmpeg's command line does by default: turned to the nearest
quarter turn, and mirrored when the matrix mirrors (the eight orientations EXIF names). decord, and with it the
original X-CLIP, returned such frames sideways; `autorotate=False` does the same.
"""

from __future__ import annotations

import logging
import math
import sys
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .errors import VideoDecodeError, describe_source
from .hardware import hardware_accelerator
from .sources import MediaInput, VideoSource


logger = logging.getLogger(__name__)

# A seek flushes the decoder; decoding forward is kept when a seek would skip no more than this many frames.
MIN_FRAMES_SKIPPED_PER_SEEK = 4

_STILL_IMAGE_FORMATS = ("image2", "tty")  # plus every "*_pipe" demuxer (png_pipe, jpeg_pipe, ...)


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` reports about a video.

    Attributes:
        num_frames: Number of frames shown, counted by demuxing the stream: the frames actually in the file, not what
            a header announces (a truncated MP4's announces every frame). decord, the original's reader, counts by
            demuxing too, but also counts the frames an edit list hides.
        fps: Average frame rate.
        duration: Duration in seconds.
        width: Frame width in pixels, as stored (before any display rotation).
        height: Frame height in pixels, as stored.
    """

    num_frames: int
    fps: float
    duration: float
    width: int
    height: int


@dataclass
class DecodeStats:
    """Work counters that `VideoReader.read`/`read_frames` add to, so a caller (e.g. the tests) can see how much
    decoding a read cost.

    Attributes:
        frames_decoded: Frames the decoder produced (skipped non-reference frames are not counted).
        seeks: Jumps to a keyframe.
    """

    frames_decoded: int = 0
    seeks: int = 0


class _TimestampMismatch(Exception):
    """Decoded frames do not line up with the demuxed timestamps; the caller falls back to counting frames."""


@dataclass(frozen=True)
class _FrameIndex:
    """Every frame's presentation timestamp and which frames are keyframes, learned by demuxing without decoding.

    Attributes:
        num_frames: Frames whose packets could be read.
        pts: `(num_frames,)` sorted presentation timestamps, or `None` when the container does not give every packet
            a unique timestamp (the reader then decodes from the start and counts frames).
        keyframes: Sorted presentation-order indices of the keyframes.
        num_announced: The frames an MP4 header says are shown (its sample count, less an edit list's hidden
            pre-roll), which a file cut short no longer holds; None for other containers, whose header counts differ
            (an AVI's counts dropped frames) or are missing.
    """

    num_frames: int
    pts: np.ndarray | None
    keyframes: np.ndarray
    num_announced: int | None = None

    def frame_at(self, pts: int | None) -> int | None:
        position = int(np.searchsorted(self.pts, pts)) if pts is not None else self.num_frames
        return position if position < self.num_frames and self.pts[position] == pts else None

    def keyframe_before(self, frame: int) -> int:
        """The last keyframe at or before `frame` (0 when none is known: decode from the start)."""
        position = int(np.searchsorted(self.keyframes, frame, side="right"))
        return int(self.keyframes[position - 1]) if position > 0 else 0


class _FrameCollector:
    """Keeps the decoded frames at the wanted indices, fed frames in increasing index order.

    A wanted frame that the decoder never produces (damaged data) gets the closest earlier decoded frame, or the
    next one when nothing was decoded before it.
    """

    def __init__(self, wanted: np.ndarray):
        self.frames: dict[int, av.VideoFrame] = {}
        self.substituted: list[int] = []
        self._pending = deque(int(index) for index in wanted)
        self._previous: av.VideoFrame | None = None

    @property
    def done(self) -> bool:
        return not self._pending

    @property
    def next_wanted(self) -> int:
        return self._pending[0]

    def offer(self, index: int, frame: av.VideoFrame) -> None:
        while self._pending and self._pending[0] < index:
            self._substitute(self._pending.popleft(), self._previous or frame)
        if self._pending and self._pending[0] == index:
            self.frames[self._pending.popleft()] = frame
        self._previous = frame

    def finish(self) -> None:
        """End of the decodable data: frames still wanted get the last decoded frame."""
        while self._pending and self._previous is not None:
            self._substitute(self._pending.popleft(), self._previous)

    def _substitute(self, index: int, frame: av.VideoFrame) -> None:
        self.frames[index] = frame
        self.substituted.append(index)


def _default_num_threads() -> int:
    # Checked without importing torch: a process that never imported it is not a DataLoader worker.
    data_module = sys.modules.get("torch.utils.data")
    return 1 if data_module is not None and data_module.get_worker_info() is not None else 0


class VideoReader:
    """An open video: its `info`, and frames read by index with `read`.

    Use it (as a context manager) to probe and read a video with a single open; `probe` and `read_frames` are
    one-call shortcuts.

    Args:
        source: A path, encoded bytes, a seekable binary file object or a `TarMember`.
        num_threads: Decoder threads; 0 lets FFmpeg use one per CPU core (frame and slice threading). By default
            (None), 1 inside a torch DataLoader worker, whose siblings already occupy the cores, otherwise 0.
        hwaccel: Decode on this FFmpeg hardware device, e.g. `"cuda"` (NVDEC), for the same frames (H.264 decoding
            is exact; a GPU test compares them). Streams the hardware cannot decode fall back to software decoding.
            Experimental; see `xclip.video.hardware`.
        autorotate: Show frames as the stream's display matrix says, turned to the nearest quarter turn and
            mirrored if it mirrors (the frames then are `info.width` high when it is a quarter turn). False returns
            the frames as stored, as decord does.

    Raises:
        VideoDecodeError: The source is missing, is not a video (text, still image, audio only) or is unreadable.
        ValueError, RuntimeError: `hwaccel` names no FFmpeg device type, or its device cannot be opened.
    """

    def __init__(
        self,
        source: VideoSource,
        *,
        num_threads: int | None = None,
        hwaccel: str | None = None,
        autorotate: bool = True,
    ):
        self.source = source
        self.autorotate = autorotate
        self._name = describe_source(source)
        self.num_threads = _default_num_threads() if num_threads is None else num_threads
        # Raised before the file is opened: a missing GPU must stop a run, not mark every video unreadable.
        self._hwaccel = hardware_accelerator(hwaccel) if hwaccel else None
        self._media = MediaInput(source)
        # One converter for every frame: PyAV's `to_ndarray` sets up a new one per call (a third of the RGB cost).
        self._rgb_converter = VideoReformatter()
        # Taken from the first converted frame: the display matrix belongs to the stream, and one value for all
        # frames keeps them stackable.
        self._orientation: DisplayOrientation | None = None
        self._container: av.container.InputContainer | None = None
        self._index: _FrameIndex | None = None
        self._info: VideoInfo | None = None
        try:
            self._open_container()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._media.close()

    @property
    def info(self) -> VideoInfo:
        if self._info is None:
            self._info = self._read_info()
        return self._info

    @property
    def decodes_on_hardware(self) -> bool:
        """Whether the decoder was given the `hwaccel` device: False without one and for codecs the device has no
        decoder for (MJPEG, say). A stream whose profile the hardware rejects is still decoded in software inside
        FFmpeg."""
        return bool(self._stream.codec_context.is_hwaccel)

    def read(self, indices: Sequence[int], *, stats: DecodeStats | None = None) -> np.ndarray:
        """Decode the frames at `indices` (any order, repeats allowed).

        Indices past the last readable frame (e.g. of a file truncated at the end) are clamped to it with a
        warning.

        Args:
            indices: `(N,)` frame indices in presentation order (frame 0 is the first frame shown).
            stats: Optional counters to add this call's decoding work to.

        Returns:
            `np.ndarray` of `uint8`, shape `(N, height, width, 3)`, RGB, in the order of `indices`; height and width
            are swapped against `info` when `autorotate` turns the frames by a quarter turn (the rotation is read
            from decoded frames, so an empty `indices` gives the stored shape).

        Raises:
            ValueError: `indices` is not a 1-D sequence of non-negative integers.
            VideoDecodeError: No frame of the video can be decoded.
        """
        requested = self._check_indices(indices)
        if requested.size == 0:
            return np.empty((0, self.info.height, self.info.width, 3), dtype=np.uint8)
        stats = stats if stats is not None else DecodeStats()
        index = self._frame_index()
        requested = self._clamp_to_readable(requested, index)
        wanted = np.unique(requested)
        collector = _FrameCollector(wanted)
        if index.pts is not None:
            try:
                self._decode_seeking(collector, wanted, index, stats)
            except _TimestampMismatch as mismatch:
                logger.debug("%s: %s; decoding from the start instead", self._name, mismatch)
                collector = _FrameCollector(wanted)
        if not collector.done:
            self._decode_counting(collector, stats)
        collector.finish()
        if not collector.frames:
            raise VideoDecodeError(self.source, "no frame could be decoded (corrupt or truncated data)")
        if collector.substituted:
            warnings.warn(
                f"Video {self._name}: frames {collector.substituted} could not be decoded (damaged data); "
                "using the nearest decodable frame instead.",
                RuntimeWarning,
                stacklevel=2,
            )
        rgb = {frame_index: self._to_rgb(frame) for frame_index, frame in collector.frames.items()}
        return np.stack([rgb[frame_index] for frame_index in requested.tolist()])

    def frames(self, *, stats: DecodeStats | None = None) -> Iterator[av.VideoFrame]:
        """Every readable frame from the first, in presentation order, as PyAV frames (not converted to RGB): frame
        `i` is the frame `read([i])` returns, before its display matrix is applied (`display_matrix(frame)` holds
        it). Damaged data ends the frames with a warning, as for `read`."""
        self._frame_index()  # demuxed now: `info`, read during the iteration, would demux this container midway
        self._container.close()  # probing or reading may have moved through the stream: start again
        self._open_container()
        yield from self._decode(self._container.demux(self._stream), None, stats or DecodeStats())

    # Opening and probing

    def _open_container(self) -> None:
        try:
            container = av.open(self._media.open(), mode="r", hwaccel=self._hwaccel)
        except av.error.FFmpegError as error:
            raise VideoDecodeError(self.source, f"not a readable media file ({error.strerror})") from None
        self._container = container
        format_name = container.format.name
        if format_name.endswith("_pipe") or format_name in _STILL_IMAGE_FORMATS:
            raise VideoDecodeError(self.source, f"is a still image or text ({format_name}), not a video")
        if not container.streams.video:
            raise VideoDecodeError(self.source, "contains no video stream")
        self._stream = container.streams.video[0]
        if self._stream.codec_context is None:
            raise VideoDecodeError(self.source, "its video stream has an unknown codec or a damaged header")
        self._stream.thread_type = "AUTO"
        self._stream.thread_count = self.num_threads

    def _read_info(self) -> VideoInfo:
        stream = self._stream
        # Counted by demuxing, not read from the header: a truncated file's header still announces the frames that
        # were cut off, and sampling over them would repeat its last readable frame.
        index = self._frame_index()
        num_frames = index.num_frames
        if index.num_announced is not None and index.num_announced > num_frames:
            warnings.warn(
                f"Video {self._name} has {num_frames} readable frames where its header announces "
                f"{index.num_announced} (a file cut short?); frames are sampled from those it has.",
                RuntimeWarning,
                stacklevel=2,
            )
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif self._container.duration:
            duration = self._container.duration / av.time_base
        else:
            duration = 0.0
        rate = stream.average_rate or stream.guessed_rate
        fps = float(rate) if rate else (num_frames / duration if duration else 0.0)
        if not duration and fps:
            duration = num_frames / fps
        return VideoInfo(num_frames, fps, duration, stream.codec_context.width, stream.codec_context.height)

    def _frame_index(self) -> _FrameIndex:
        if self._index is None:
            self._index = self._build_frame_index()
        return self._index

    def _build_frame_index(self) -> _FrameIndex:
        packets: list[tuple[int | None, int | None, bool]] = []  # (pts, dts, is_keyframe) in decode order
        num_hidden = 0
        truncated = False
        try:
            for packet in self._container.demux(self._stream):
                # Empty packets only signal the end; "discard" packets (edit-list pre-roll) decode to hidden frames.
                num_hidden += bool(packet.size and packet.is_discard)
                if packet.size == 0 or packet.is_discard:
                    continue
                packets.append((packet.pts, packet.dts, packet.is_keyframe))
                # A file cut in the middle of a packet ends with that packet, read partially.
                truncated = packet.is_corrupt
        except av.error.FFmpegError as error:
            logger.warning("%s: stopped reading after %d frames (%s)", self._name, len(packets), error.strerror)
            truncated = True
        # An MP4 header counts every sample, an edit list's hidden ones too.
        header_counts_samples = "mov" in self._container.format.name.split(",")
        num_announced = self._stream.frames - num_hidden if header_counts_samples and self._stream.frames else None
        if truncated and packets:
            packets = self._complete_prefix(packets[:-1])
        elif num_announced is not None and num_announced > len(packets):
            packets = self._complete_prefix(packets)
        if not packets:
            raise VideoDecodeError(self.source, "contains no video frames")
        timestamps = [pts for pts, _, _ in packets]
        if None in timestamps or len(set(timestamps)) < len(timestamps):
            return _FrameIndex(len(packets), None, np.zeros(0, dtype=np.int64), num_announced)
        pts = np.sort(np.asarray(timestamps, dtype=np.int64))
        keyframes = np.searchsorted(pts, [pts for pts, _, is_keyframe in packets if is_keyframe])
        return _FrameIndex(len(packets), pts, np.sort(keyframes).astype(np.int64), num_announced)

    @staticmethod
    def _complete_prefix(
        packets: list[tuple[int | None, int | None, bool]],
    ) -> list[tuple[int | None, int | None, bool]]:
        """The packets of a truncated stream whose frames have every earlier frame (in presentation order) read.

        Packets come in decode order with increasing dts, and a frame is never shown before it is decoded (pts >=
        dts), so every unread frame has a pts above the last read dts: the frames at or below it are complete.
        """
        if not packets or any(pts is None or dts is None for pts, dts, _ in packets):
            return packets
        last_dts = packets[-1][1]
        return [packet for packet in packets if packet[0] <= last_dts]

    # Decoding

    def _decode_seeking(
        self, collector: _FrameCollector, wanted: np.ndarray, index: _FrameIndex, stats: DecodeStats
    ) -> None:
        wanted_pts = set(index.pts[wanted].tolist())
        frames: Iterator[tuple[int, av.VideoFrame]] | None = None
        last_decoded = -1
        while not collector.done:
            target = collector.next_wanted
            keyframe = index.keyframe_before(target)
            if frames is None or keyframe - (last_decoded + 1) > MIN_FRAMES_SKIPPED_PER_SEEK:
                frames = self._frames_from_keyframe(keyframe, target, index, wanted_pts, stats)
            for frame_index, frame in frames:
                last_decoded = max(last_decoded, frame_index)
                collector.offer(frame_index, frame)
                if frame_index >= target:
                    break
            else:
                return

    def _frames_from_keyframe(
        self, keyframe: int, target: int, index: _FrameIndex, wanted_pts: set[int], stats: DecodeStats
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        """`(frame index, frame)` in presentation order, from a seek to `keyframe` on."""
        self._container.seek(int(index.pts[keyframe]), stream=self._stream, backward=True)
        stats.seeks += 1
        first = True
        for frame in self._decode(self._container.demux(self._stream), wanted_pts, stats):
            frame_index = index.frame_at(frame.pts)
            if frame_index is None:
                raise _TimestampMismatch(f"decoded a frame with unknown timestamp {frame.pts}")
            if first and frame_index > target:
                # The demuxer landed after the wanted frame (imprecise seek index): restart from the beginning.
                if keyframe == 0:
                    raise _TimestampMismatch(f"seeking to the start landed on frame {frame_index}")
                yield from self._frames_from_keyframe(0, target, index, wanted_pts, stats)
                return
            first = False
            yield frame_index, frame

    def _decode_counting(self, collector: _FrameCollector, stats: DecodeStats) -> None:
        """Decode from the start and number frames as they come: for streams without usable timestamps."""
        for frame_index, frame in enumerate(self.frames(stats=stats)):
            collector.offer(frame_index, frame)
            if collector.done:
                return

    def _decode(
        self, packets: Iterator[av.Packet], wanted_pts: set[int] | None, stats: DecodeStats
    ) -> Iterator[av.VideoFrame]:
        """Decoded frames of `packets`; non-reference frames outside `wanted_pts` are skipped (None: keep all)."""
        codec = self._stream.codec_context
        codec.skip_frame = "DEFAULT"
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError as error:
                logger.warning("%s: stopped reading at damaged data (%s)", self._name, error.strerror)
                packet = None  # drain the frames the decoder still holds
            if packet is not None and packet.size and wanted_pts is not None:
                codec.skip_frame = "DEFAULT" if packet.pts in wanted_pts else "NONREF"
            try:
                frames = codec.decode(packet)
            except av.error.FFmpegError as error:
                logger.debug("%s: skipping an undecodable packet (%s)", self._name, error.strerror)
                frames = []
            stats.frames_decoded += len(frames)
            yield from frames
            if packet is None:
                return

    # Helpers

    def _check_indices(self, indices: Sequence[int]) -> np.ndarray:
        requested = np.asarray(indices)
        if requested.ndim != 1 or (requested.size and not np.issubdtype(requested.dtype, np.integer)):
            raise ValueError(
                f"Video {self._name}: frame indices must be a 1-D sequence of integers, got {requested.dtype} "
                f"array of shape {requested.shape}"
            )
        if requested.size and requested.min() < 0:
            raise ValueError(f"Video {self._name}: frame indices must be >= 0, got {int(requested.min())}")
        return requested.astype(np.int64, copy=False)

    def _clamp_to_readable(self, requested: np.ndarray, index: _FrameIndex) -> np.ndarray:
        num_readable = index.num_frames
        if requested.max() < num_readable:
            return requested
        announced = index.num_announced
        header = f" (its header announces {announced})" if announced is not None and announced > num_readable else ""
        warnings.warn(
            f"Video {self._name} has {num_readable} readable frames{header}; frames up to {int(requested.max())} "
            f"were requested and those past the end are replaced by the last frame.",
            RuntimeWarning,
            stacklevel=3,
        )
        return np.minimum(requested, num_readable - 1)

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        # Fixing the output size keeps every frame stackable even if the stream changes resolution midway.
        rgb = self._rgb_converter.reformat(frame, width=self.info.width, height=self.info.height, format="rgb24")
        if not self.autorotate:
            return rgb.to_ndarray()
        if self._orientation is None:
            self._orientation = DisplayOrientation.from_matrix(display_matrix(frame))
        return self._orientation.apply(rgb.to_ndarray())


def display_matrix(frame: av.VideoFrame) -> np.ndarray | None:
    """The display matrix a frame carries from its stream: `(9,)` int32 in FFmpeg's `AV_FRAME_DATA_DISPLAYMATRIX`
    layout (a row-major 3 x 3 matrix, 16.16 fixed point but for the last column), or None when there is none."""
    side_data = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
    return None if side_data is None else np.frombuffer(bytes(side_data), dtype=np.int32)


@dataclass(frozen=True)
class DisplayOrientation:
    """How a player shows stored frames: turned `quarter_turns` times counterclockwise, then, if `mirrored`,
    mirrored left to right. Eight orientations, as EXIF has."""

    quarter_turns: int = 0
    mirrored: bool = False

    @classmethod
    def from_matrix(cls, matrix: np.ndarray | None) -> DisplayOrientation:
        """Read from a display matrix (see `display_matrix`); None, or a singular matrix, shows frames as stored."""
        if matrix is None:
            return cls()
        # Only the 2 x 2 linear part matters; its columns may carry different scales, as in FFmpeg's
        # `av_display_rotation_get`, and a negative determinant mirrors.
        a, b, c, d = (float(value) for value in matrix[[0, 1, 3, 4]])
        column_scales = math.hypot(a, c), math.hypot(b, d)
        if 0.0 in column_scales:
            return cls()
        mirrored = a * d - b * c < 0
        if mirrored:  # a mirror after the rotation negates the first column (FFmpeg's `av_display_matrix_flip`)
            a, c = -a, -c
        degrees = -math.degrees(math.atan2(b / column_scales[1], a / column_scales[0]))
        return cls(round(degrees / 90) % 4, mirrored)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """`(H, W, C)` as stored to `(H', W', C)` as shown (H' = W when it turns by a quarter)."""
        if self.quarter_turns == 0 and not self.mirrored:
            return frame
        shown = np.rot90(frame, self.quarter_turns)
        # Contiguous, so that the stacked batch is (np.stack keeps its inputs' memory order).
        return np.ascontiguousarray(shown[:, ::-1] if self.mirrored else shown)


def probe(source: VideoSource) -> VideoInfo:
    """Frame count (demuxed, not decoded), frame rate, duration and size of a video.

    Raises:
        VideoDecodeError: The source is missing, not a video, unreadable or has no frames.
    """
    with VideoReader(source) as reader:
        return reader.info


def read_frames(
    source: VideoSource,
    indices: Sequence[int],
    *,
    num_threads: int | None = None,
    hwaccel: str | None = None,
    autorotate: bool = True,
    stats: DecodeStats | None = None,
) -> np.ndarray:
    """Decode the frames at `indices` of a video; see `VideoReader` and `VideoReader.read`.

    Returns:
        `np.ndarray` of `uint8`, shape `(len(indices), height, width, 3)`, RGB.
    """
    with VideoReader(source, num_threads=num_threads, hwaccel=hwaccel, autorotate=autorotate) as reader:
        return reader.read(indices, stats=stats)
