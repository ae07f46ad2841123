"""Decoding with xclip.video: decord-equal frames, seeking, odd containers, damaged files and every source kind.

Synthetic videos draw each frame's index as a block code (`index_coded_frames`), so a test reads back exactly
which frame it got, whatever the container, timestamps or compression.
"""

import io
import tarfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from xclip.video import (
    DecodeStats,
    DisplayOrientation,
    TarMember,
    VideoDecodeError,
    VideoReader,
    probe,
    read_frames,
    resolve_video_source,
    sample_multi_clip_indices,
    sample_segment_indices,
)
from xclip.video.synthetic import index_coded_frames, moving_texture_frames, read_index_code, write_video


SHARED_VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "videos"
NUM_FRAMES = 120
GOP = 12


def frame_codes(frames: np.ndarray) -> list[int]:
    return [read_index_code(frame) for frame in frames]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    coded = index_coded_frames(NUM_FRAMES, 64, 64)
    irregular = np.cumsum(np.random.default_rng(0).integers(10, 90, size=NUM_FRAMES)) - 10
    # Camera-like content with the code in one corner: its packets are large, so cutting the file cuts frames.
    textured = moving_texture_frames(60, 64, 64)
    textured[:, :32, :32] = index_coded_frames(60, 32, 32)
    return {
        "gop": write_video(folder / "gop.mp4", coded, options={"g": str(GOP), "bf": "2"}),
        "mkv": write_video(folder / "nocount.mkv", coded[:30]),
        "webm": write_video(folder / "nocount.webm", coded[:30], codec="libvpx-vp9"),
        "vfr_mp4": write_video(folder / "vfr.mp4", coded, timestamps=irregular),
        "vfr_mkv": write_video(folder / "vfr.mkv", coded, timestamps=irregular),
        "short": write_video(folder / "short.mp4", coded[:5]),
        "raw": write_video(folder / "elementary.h264", coded[:40], options={"g": "10", "bf": "2"}),
        "faststart": write_video(
            folder / "faststart.mp4", textured, options={"g": "10"}, container_options={"movflags": "faststart"}
        ),
    }


def cut(path: Path, fraction: float, name: str) -> Path:
    data = path.read_bytes()
    target = path.with_name(name)
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


# Equality with decord on real videos


@pytest.fixture(params=["bikes.mp4", "bigbuckbunny.mp4"])
def real_video(request) -> Path:
    path = SHARED_VIDEOS / request.param
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared test videos ship next to the repository, not in it)")
    return path


def test_frames_equal_decord_on_real_videos(real_video):
    decord = pytest.importorskip("decord")
    reference_reader = decord.VideoReader(str(real_video), num_threads=1)
    total = len(reference_reader)
    assert probe(real_video).num_frames == total
    unsorted_with_repeats = np.random.default_rng(0).integers(total, size=12).tolist() + [total - 1, 0, total - 1]
    samplings = [
        sample_segment_indices(total, 8),
        sample_multi_clip_indices(total, 8, 4).ravel(),
        np.asarray(unsorted_with_repeats),
    ]
    # decord decodes sorted indices in one pass (unsorted ones would cost it a seek each).
    needed = np.unique(np.concatenate(samplings))
    reference = dict(zip(needed.tolist(), reference_reader.get_batch(needed.tolist()).asnumpy()))
    # All samplings in one call: unsorted, with repeats.
    indices = np.concatenate(samplings)
    ours = read_frames(real_video, indices)
    # Same FFmpeg decoder and the same swscale YUV -> RGB conversion: measured difference 0, so exact.
    np.testing.assert_array_equal(ours, np.stack([reference[index] for index in indices.tolist()]))


def test_probe_real_videos():
    if not SHARED_VIDEOS.exists():
        pytest.skip(f"{SHARED_VIDEOS} is absent")
    bikes = probe(SHARED_VIDEOS / "bikes.mp4")
    assert (bikes.num_frames, bikes.fps, bikes.width, bikes.height) == (250, 25.0, 640, 272)
    assert bikes.duration == pytest.approx(10.0)
    bunny = probe(SHARED_VIDEOS / "bigbuckbunny.mp4")
    assert (bunny.num_frames, bunny.width, bunny.height) == (132, 1280, 720)


# Frame indexing and seeking


def test_returns_requested_frames_in_requested_order(videos):
    indices = [119, 3, 50, 50, 0, 77, 3]
    frames = read_frames(videos["gop"], indices)
    assert frames.shape == (7, 64, 64, 3) and frames.dtype == np.uint8
    assert frame_codes(frames) == indices


def test_sparse_access_seeks_instead_of_decoding_from_the_start(videos):
    sparse, from_start = DecodeStats(), DecodeStats()
    frames = read_frames(videos["gop"], [5, 60, 115], stats=sparse)
    read_frames(videos["gop"], list(range(116)), stats=from_start)
    assert frame_codes(frames) == [5, 60, 115]
    # Decoding to frame 115 from the start produces it and the few frames already queued behind it.
    assert 116 <= from_start.frames_decoded <= NUM_FRAMES and from_start.seeks == 1
    # Three GOPs touched: at most 3 x 12 frames, fewer as unwanted non-reference frames are skipped.
    assert sparse.seeks == 3
    assert sparse.frames_decoded <= 3 * GOP < from_start.frames_decoded


def test_dense_access_near_the_start_decodes_straight(videos):
    stats = DecodeStats()
    frames = read_frames(videos["gop"], list(range(0, 40, 2)), num_threads=1, stats=stats)
    assert frame_codes(frames) == list(range(0, 40, 2))
    assert stats.seeks == 1


def test_reader_probes_and_reads_with_one_open(videos):
    with VideoReader(videos["gop"]) as reader:
        assert reader.info.num_frames == NUM_FRAMES
        assert (reader.info.width, reader.info.height) == (64, 64)
        assert frame_codes(reader.read([10, 2])) == [10, 2]
        assert frame_codes(reader.read([100])) == [100]


class ThreadsInWorker(torch.utils.data.Dataset):
    def __init__(self, path: Path):
        self.path = path

    def __len__(self) -> int:
        return 1

    def __getitem__(self, item: int) -> int:
        with VideoReader(self.path) as reader:
            return reader.num_threads


def test_one_decoder_thread_by_default_inside_dataloader_workers(videos):
    with VideoReader(videos["gop"]) as reader:
        assert reader.num_threads == 0  # FFmpeg picks one thread per core
    loader = torch.utils.data.DataLoader(ThreadsInWorker(videos["gop"]), batch_size=None, num_workers=1)
    assert list(loader) == [1]


def test_frames_past_the_end_are_clamped_with_a_warning(videos):
    with pytest.warns(RuntimeWarning, match="120 readable frames"):
        frames = read_frames(videos["gop"], [0, 500])
    assert frame_codes(frames) == [0, NUM_FRAMES - 1]


def test_empty_indices_give_an_empty_batch(videos):
    assert read_frames(videos["gop"], []).shape == (0, 64, 64, 3)


@pytest.mark.parametrize(
    ("indices", "reason"),
    [([-1, 3], "must be >= 0"), ([[1, 2]], "1-D sequence of integers"), ([0.5, 2.0], "1-D sequence of integers")],
)
def test_invalid_indices_raise_value_error_naming_the_file_and_why(videos, indices, reason):
    with pytest.raises(ValueError, match=rf"gop\.mp4.*{reason}|{reason}.*gop\.mp4"):
        read_frames(videos["gop"], indices)


# Containers and timestamps


@pytest.mark.parametrize("name", ["mkv", "webm"])
def test_container_without_frame_count_is_counted_exactly(videos, name):
    with av.open(str(videos[name])) as container:
        assert container.streams.video[0].frames == 0  # the header really has no frame count
    info = probe(videos[name])
    assert info.num_frames == 30
    assert info.fps == pytest.approx(25.0)
    indices = sample_segment_indices(30, 8)
    assert frame_codes(read_frames(videos[name], indices)) == indices.tolist()


@pytest.mark.parametrize("name", ["vfr_mp4", "vfr_mkv"])
def test_variable_frame_rate(videos, name):
    info = probe(videos[name])
    assert info.num_frames == NUM_FRAMES
    indices = sample_multi_clip_indices(NUM_FRAMES, 8, 2).ravel()
    assert frame_codes(read_frames(videos[name], indices)) == indices.tolist()


def test_stream_without_timestamps_is_decoded_by_counting_frames(videos):
    """A raw H.264 elementary stream has no container timestamps: no seeking, frames are numbered as decoded."""
    assert probe(videos["raw"]).num_frames == 40
    stats = DecodeStats()
    assert frame_codes(read_frames(videos["raw"], [39, 3, 20], stats=stats)) == [39, 3, 20]
    assert stats.seeks == 0 and stats.frames_decoded == 40


def test_video_shorter_than_the_frame_count(videos):
    total = probe(videos["short"]).num_frames
    assert total == 5
    indices = sample_segment_indices(total, 8, training=True)
    frames = read_frames(videos["short"], indices)
    assert frames.shape[0] == 8
    assert frame_codes(frames) == indices.tolist()


# Display rotation (portrait phone videos)


def corner_marked_frames(num_frames: int = 3) -> np.ndarray:
    """Landscape 32 x 64 frames, black but for a white square in the top-left corner."""
    frames = np.zeros((num_frames, 32, 64, 3), dtype=np.uint8)
    frames[:, :8, :8] = 255
    return frames


def marked_corner(frame: np.ndarray) -> str:
    height, width = frame.shape[:2]
    corners = {
        "top-left": frame[:8, :8],
        "top-right": frame[:8, width - 8 :],
        "bottom-left": frame[height - 8 :, :8],
        "bottom-right": frame[height - 8 :, width - 8 :],
    }
    return max(corners, key=lambda corner: corners[corner].mean())


# Where FFmpeg's command line (which applies the display matrix by default) puts the top-left corner of the stored
# frame, for each stored counterclockwise rotation, without and with a mirror after it: the eight EXIF orientations.
# -90 is how phones store portrait video. The unmirrored ones were checked with FFmpeg 9.0, all eight with 5.1.
@pytest.mark.parametrize(
    "rotation, mirrored, shown_height, corner",
    [
        (-90, False, 64, "top-right"),
        (90, False, 64, "bottom-left"),
        (180, False, 32, "bottom-right"),
        (0, False, 32, "top-left"),
        (-90, True, 64, "top-left"),
        (90, True, 64, "bottom-right"),
        (180, True, 32, "bottom-left"),
        (0, True, 32, "top-right"),
    ],
)
def test_frames_are_shown_as_the_display_matrix_says(tmp_path, rotation, mirrored, shown_height, corner):
    path = write_video(
        tmp_path / "phone.mp4", corner_marked_frames(), display_rotation=rotation, display_mirrored=mirrored
    )
    frames = read_frames(path, [0, 2])
    assert frames.shape == (2, shown_height, 96 - shown_height, 3)
    assert [marked_corner(frame) for frame in frames] == [corner, corner]
    assert frames.flags.c_contiguous
    assert probe(path).height == 32  # the probe reports the frames as stored


@pytest.mark.parametrize(
    "matrix, orientation",
    [
        (None, DisplayOrientation()),
        ([0] * 9, DisplayOrientation()),  # singular: FFmpeg finds no rotation in it either
        ([0, 2 << 16, 0, -3 << 16, 0, 0, 0, 0, 1 << 30], DisplayOrientation(3)),  # scaled, turned clockwise
        ([-(1 << 16), 0, 0, 0, 1 << 16, 0, 0, 0, 1 << 30], DisplayOrientation(0, mirrored=True)),
    ],
)
def test_display_orientation_from_a_matrix(matrix, orientation):
    assert DisplayOrientation.from_matrix(None if matrix is None else np.array(matrix, np.int32)) == orientation


def test_autorotate_false_returns_the_frames_as_stored_like_decord(tmp_path):
    path = write_video(tmp_path / "phone.mp4", corner_marked_frames(), display_rotation=-90)
    frames = read_frames(path, [1], autorotate=False)
    assert frames.shape == (1, 32, 64, 3) and marked_corner(frames[0]) == "top-left"


# Damaged files and wrong inputs


def test_truncated_at_the_end_returns_the_frames_it_has(videos):
    truncated = cut(videos["faststart"], 0.7, "truncated.mp4")
    # The header still announces all 60 frames; the count is of the frames in the file, as decord counts them, so
    # that sampling spreads over them instead of repeating the last one.
    with pytest.warns(RuntimeWarning, match=r"readable frames where its header announces 60 \(a file cut short\?\)"):
        readable = probe(truncated).num_frames
    assert 10 < readable < 59
    clamped = f"{readable} readable frames \\(its header announces 60\\); frames up to 59 were requested"
    with pytest.warns(RuntimeWarning, match="cut short"), pytest.warns(RuntimeWarning, match=clamped):
        frames = read_frames(truncated, [0, 59])
    first, last = (read_index_code(frame[:32, :32]) for frame in frames)
    assert first == 0 and last == readable - 1
    with pytest.warns(RuntimeWarning, match="cut short"):
        np.testing.assert_array_equal(frames[1], read_frames(truncated, [last])[0])


def shifted_back(path: Path, frames: int, name: str) -> Path:
    """`path` remuxed with its timestamps moved back by `frames` frames: the MP4 muxer writes an edit list that hides
    those first frames (discard packets), as trimming with `ffmpeg -ss ... -c copy` does."""
    target = path.with_name(name)
    with av.open(str(path)) as source, av.open(str(target), "w") as output:
        stream = source.streams.video[0]
        copy = output.add_stream_from_template(stream)
        for packet in source.demux(stream):
            if packet.dts is None:  # the end-of-stream marker
                continue
            packet.pts -= frames * packet.duration
            packet.dts -= frames * packet.duration
            packet.stream = copy
            output.mux(packet)
    return target


@pytest.mark.parametrize("hidden", [2, 5])
def test_an_edit_list_hides_frames_without_counting_the_file_as_cut_short(videos, hidden, recwarn):
    """Its header counts the hidden frames too: the file was taken as truncated, lost its last B-frames and warned."""
    trimmed = shifted_back(videos["gop"], hidden, f"trimmed{hidden}.mp4")
    shown = NUM_FRAMES - hidden
    assert probe(trimmed).num_frames == shown
    assert frame_codes(read_frames(trimmed, list(range(shown)))) == list(range(hidden, NUM_FRAMES))
    assert not [warning for warning in recwarn if issubclass(warning.category, RuntimeWarning)]


def test_info_read_while_iterating_frames_does_not_cut_the_iteration_short(videos):
    """`info` demuxes to count frames; read inside `frames()` it moved the container the iteration was reading."""
    with VideoReader(videos["gop"]) as reader:
        counts = [reader.info.num_frames for _ in reader.frames()]
    assert counts == [NUM_FRAMES] * NUM_FRAMES


@pytest.mark.parametrize(
    "damage",
    [
        ("faststart", 0.1, "index intact, no complete frame"),
        ("faststart", 0.02, "index cut"),
        ("gop", 0.5, "index at the end, cut off"),
    ],
)
def test_file_with_nothing_decodable_raises(videos, damage):
    name, fraction, _ = damage
    damaged = cut(videos[name], fraction, f"damaged_{name}_{fraction}.mp4")
    with pytest.raises(VideoDecodeError, match=damaged.name):
        read_frames(damaged, [0])


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_video_without_frames_raises(tmp_path, suffix):
    empty = write_video(tmp_path / f"empty{suffix}", np.zeros((0, 64, 64, 3), np.uint8))
    with pytest.raises(VideoDecodeError, match=f"empty{suffix}"):
        probe(empty)
    with pytest.raises(VideoDecodeError, match=f"empty{suffix}"):
        read_frames(empty, [0])


def test_random_bytes_raise(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    with pytest.raises(VideoDecodeError, match="not a readable media file"):
        probe(garbage)


def _audio_only(path: Path) -> Path:
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=16000)
        for position in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, position * 1024, Fraction(1, 16000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def _png(path: Path) -> Path:
    with av.open(str(path), mode="w", format="image2") as container:
        stream = container.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = 16, 16, "rgb24"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    "make, cause",
    [
        (lambda folder: folder / "notes.txt", "not a readable media file"),
        (lambda folder: _png(folder / "picture.png"), "still image"),
        (lambda folder: _audio_only(folder / "speech.m4a"), "no video stream"),
    ],
)
def test_not_a_video_raises_naming_the_file(tmp_path, make, cause):
    (tmp_path / "notes.txt").write_text("not a video at all\n" * 20)
    path = make(tmp_path)
    with pytest.raises(VideoDecodeError, match=cause) as raised:
        read_frames(path, [0])
    assert path.name in str(raised.value)
    assert raised.value.source == path
    assert isinstance(raised.value, ValueError)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(VideoDecodeError, match="missing.mp4.*file not found"):
        probe(tmp_path / "missing.mp4")
    with pytest.raises(VideoDecodeError, match="directory"):
        probe(tmp_path)


# Sources other than a path


def test_bytes_and_file_objects(videos):
    path = videos["gop"]
    expected = read_frames(path, [7, 90])
    np.testing.assert_array_equal(read_frames(path.read_bytes(), [7, 90]), expected)
    with open(path, "rb") as handle:
        np.testing.assert_array_equal(read_frames(handle, [7, 90]), expected)
        assert not handle.closed  # the caller's file stays theirs
        assert probe(handle).num_frames == NUM_FRAMES  # and can be read again

    class Pipe:  # readable, not seekable
        def __init__(self, data: bytes):
            self._stream = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self._stream.read(size)

    np.testing.assert_array_equal(read_frames(Pipe(path.read_bytes()), [7, 90]), expected)


def test_unsupported_source_type_raises_type_error():
    with pytest.raises(TypeError, match="video source"):
        probe(42)


@pytest.fixture
def video_tar(videos, tmp_path) -> Path:
    archive = tmp_path / "train.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(videos["gop"], arcname="abseiling_001.mp4")
        tar.add(videos["short"], arcname="./yoga_002.mp4")
    return archive


def test_tar_member_reads_in_place(videos, video_tar):
    frames = read_frames(TarMember(video_tar, "abseiling_001.mp4"), [3, 64])
    np.testing.assert_array_equal(frames, read_frames(videos["gop"], [3, 64]))
    assert probe(TarMember(video_tar, "yoga_002.mp4")).num_frames == 5


def test_original_tar_root_convention(videos, video_tar):
    # DATA.ROOT containing ".tar": the ".tar" is dropped from the root and the video's folder becomes the archive.
    source = resolve_video_source(str(video_tar), "abseiling_001.mp4")
    assert source == TarMember(str(video_tar), "abseiling_001.mp4")
    assert frame_codes(read_frames(source, [11])) == [11]
    assert resolve_video_source("/data/k400", "train/a.mp4") == Path("/data/k400/train/a.mp4")


def test_tar_errors(video_tar, tmp_path):
    with pytest.raises(VideoDecodeError, match="no such member"):
        probe(TarMember(video_tar, "missing.mp4"))
    with pytest.raises(VideoDecodeError, match="tar archive not found"):
        probe(TarMember(tmp_path / "absent.tar", "a.mp4"))
    compressed = tmp_path / "videos.tar.gz"
    with tarfile.open(compressed, "w:gz") as tar:
        tar.add(video_tar, arcname="inner.tar")
    with pytest.raises(VideoDecodeError, match="uncompressed"):
        probe(TarMember(compressed, "inner.tar"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: hardware decoding would open")
def test_hardware_decoding_without_a_device_stops_with_a_clear_error(videos):
    # Not a VideoDecodeError: training must stop, not count every video as unreadable.
    with pytest.raises(RuntimeError, match="Cannot open FFmpeg's 'cuda' device.*decode on the CPU"):
        VideoReader(videos["gop"], hwaccel="cuda")
    with pytest.raises(ValueError, match="Unknown hardware decoder 'nvdec'.*offers .*cuda"):
        read_frames(videos["gop"], [0], hwaccel="nvdec")
    with VideoReader(videos["gop"]) as reader:
        assert not reader.decodes_on_hardware


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present: hardware decoding would work")
def test_a_hardware_decoder_that_cannot_decode_is_reported_not_silently_replaced_by_software():
    from av.codec.hwaccel import HWAccel

    from xclip.video.hardware import _check_decodes

    with pytest.raises(RuntimeError, match="cannot decode H.264 on it.*NVIDIA_DRIVER_CAPABILITIES"):
        _check_decodes(HWAccel("cuda", allow_software_fallback=False))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_hardware_decoding_gives_the_software_frames(videos, tmp_path):
    from xclip.video.hardware import hardware_accelerator

    try:
        hardware_accelerator("cuda")
    except RuntimeError as error:  # the H100 lent here: FFmpeg could not open its CUDA device (errno 95)
        pytest.skip(f"this GPU machine cannot decode video on the GPU: {error}")
    textured = write_video(tmp_path / "textured.mp4", moving_texture_frames(90, 96, 128), options={"bf": "3"})
    for path, indices in ((videos["gop"], [3, 40, 41, 77, 5, 99]), (textured, [0, 17, 45, 46, 89])):
        with VideoReader(path, hwaccel="cuda") as reader:
            assert reader.decodes_on_hardware
            np.testing.assert_array_equal(reader.read(indices), read_frames(path, indices))
