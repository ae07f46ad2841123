"""Re-encoding a video dataset for fast training input: smaller frames, frequent keyframes, quick-to-decode H.264.

Decoding is most of the training input pipeline's cost (BENCHMARKS.md, "Input pipeline"): with x264's default
250-frame GOP, the 8 frames sampled from a 10 s Kinetics clip need about half of its frames decoded, at full
resolution. The original X-CLIP's authors trained on videos pre-resized to a short side of 256 pixels, the size the
training augmentation resizes to first. `prepare_video` re-encodes one video that way and also

- keeps every frame, in order, with its timestamp: frame `i` of the output shows frame `i` of the source, so the
  original's frame sampling picks the same pictures;
- puts a keyframe at least every `keyframe_interval` frames, so a sampled frame costs at most that many decodes;
- uses x264's `fastdecode` tuning (CAVLC entropy coding, no deblocking filter, no weighted prediction), which
  decodes about twice as fast for a few percent more bytes.

The re-encoding is lossy: a prepared dataset trains like the original's pre-resized one, not bit-identically to the
source files. Audio is dropped. `prepare_video_dataset` runs it over a dataset in parallel, resumably, and rewrites
the video lists. It records the settings and the files it writes in a manifest in the output folder, so that a later
run neither resumes with other settings (keeping videos of the wrong size) nor replaces files it did not write.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from tqdm.auto import tqdm

from ..files import folder_problem, hidden_sibling, write_text_atomically
from ..video import VideoDecodeError, VideoReader, display_matrix, resolve_video_source
from ..video.sources import VideoSource, check_video_folder, is_tar_root
from .video_list import VideoRecord, check_video_root, parse_video_list, write_video_list

__all__ = ["PreparationReport", "PreparedVideo", "VideoPreparation", "prepare_video", "prepare_video_dataset"]

logger = logging.getLogger(__name__)

ENCODER = "libx264"  # `VideoPreparation.encoder_options` are x264 options
# Found when no video list is given; anything else in the folder is ignored.
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".mpg", ".mpeg", ".3gp", ".ogv")
FAILURES_FILE = "preparation_failures.txt"
# Written into the output folder before any video: the settings its videos are prepared with, and the files
# (lists, FAILURES_FILE) that `prepare_video_dataset` may replace there.
MANIFEST_FILE = "preparation_manifest.json"
_MANIFEST_FORMAT = 1
_PARTIAL_SUFFIX = "partial.mp4"  # of the hidden file a video is written to before it is renamed into place


@dataclass(frozen=True)
class VideoPreparation:
    """How `prepare_video` re-encodes.

    Attributes:
        short_side: Frames are resized so that their short side has this many pixels, keeping the aspect ratio
            (both sides even, as 4:2:0 video needs); smaller videos keep their size. `None` keeps every size. 256
            suits 224-pixel models; 336-pixel models resize to 384 first, so prepare them with 384.
        keyframe_interval: Largest number of frames between keyframes.
        crf: x264's constant rate factor: lower is better quality and larger files (x264's default: 23).
        preset: x264's speed preset; slower ones compress a little better (`"veryfast"`: about 1 s per 10 s clip on
            one core).
        fast_decode: x264's `fastdecode` tuning.
    """

    short_side: int | None = 256
    keyframe_interval: int = 16
    crf: float = 23.0
    preset: str = "veryfast"
    fast_decode: bool = True

    def __post_init__(self):
        if self.short_side is not None and self.short_side < 2:
            raise ValueError(f"short_side must be at least 2 pixels, got {self.short_side}")
        if self.keyframe_interval < 1:
            raise ValueError(f"keyframe_interval must be at least 1, got {self.keyframe_interval}")
        if not 0 <= self.crf <= 51:
            raise ValueError(f"crf must be in [0, 51] (x264's range), got {self.crf}")

    def frame_size(self, height: int, width: int) -> tuple[int, int]:
        """`(height, width)` of the prepared frames for a `height x width` source, both even."""
        scale = 1.0 if self.short_side is None else min(1.0, self.short_side / min(height, width))
        return tuple(max(2, 2 * int(side * scale / 2 + 0.5)) for side in (height, width))

    def encoder_options(self) -> dict[str, str]:
        options = {"g": str(self.keyframe_interval), "crf": f"{self.crf:g}", "preset": self.preset}
        if self.fast_decode:
            options["tune"] = "fastdecode"
        return options


@dataclass(frozen=True)
class PreparedVideo:
    """What `prepare_video` wrote.

    Attributes:
        path: The prepared video.
        num_frames: Frames in it, the same as in the source.
        height, width: Its frame size.
        size_bytes: Its file size.
    """

    path: Path
    num_frames: int
    height: int
    width: int
    size_bytes: int


def prepare_video(
    source: VideoSource, destination: str | os.PathLike, preparation: VideoPreparation = VideoPreparation()
) -> PreparedVideo:
    """Re-encode one video for fast training input (see the module docstring), as an H.264 MP4 at `destination`.

    The frames are `VideoReader(source).frames()`, the ones training reads. The file is written under a temporary
    name and renamed when complete, so `destination` never holds a partial video. Decoding and encoding use one
    thread each: run several videos in parallel instead.

    Raises:
        VideoDecodeError: The source is missing, not a video, or has no decodable frame.
        RuntimeError: PyAV cannot encode with x264.
    """
    check_encoder()
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = hidden_sibling(destination, _PARTIAL_SUFFIX)
    try:
        with VideoReader(source, num_threads=1) as reader:
            num_frames, (height, width) = _transcode(reader, partial, preparation)
        with VideoReader(partial) as written:
            if written.info.num_frames != num_frames:
                raise VideoDecodeError(source, f"re-encoding kept {written.info.num_frames} of its {num_frames} frames")
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return PreparedVideo(destination, num_frames, height, width, destination.stat().st_size)


def check_encoder() -> None:
    """Raise a clear error when PyAV's FFmpeg cannot encode H.264 with x264 (the PyPI wheels can).

    Raises:
        RuntimeError: The encoder is missing.
    """
    try:
        av.codec.Codec(ENCODER, "w")
    except av.codec.codec.UnknownCodecError:
        raise RuntimeError(
            f"PyAV's FFmpeg has no {ENCODER} encoder, which preparing videos needs; the `av` wheels from PyPI include "
            "it (a PyAV built against a system FFmpeg may not)."
        ) from None


def _transcode(reader: VideoReader, output_path: Path, preparation: VideoPreparation) -> tuple[int, tuple[int, int]]:
    """Encode every frame of `reader`, resized, to `output_path`; returns the frame count and the frame size."""
    height, width = preparation.frame_size(reader.info.height, reader.info.width)
    rate = Fraction(reader.info.fps).limit_denominator(1001) if reader.info.fps else Fraction(30)
    num_frames, last_pts = 0, None
    with av.open(os.fspath(output_path), mode="w", format="mp4") as output:
        encoder = output.add_stream(ENCODER, rate=rate, options=preparation.encoder_options())
        encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
        encoder.codec_context.thread_count = 1
        for frame in reader.frames():
            if num_frames == 0:
                # Timestamps pass through in the source's time base; a frame without one, or out of order, follows
                # its predecessor by one nominal frame duration.
                time_base = frame.time_base or 1 / rate
                encoder.codec_context.time_base = time_base
                frame_duration = max(1, round(1 / (rate * time_base)))
                matrix = display_matrix(frame)
                if matrix is not None:
                    # Kept as the source stores it, not applied: the frames stay as stored, as DATA.AUTOROTATE False
                    # reads them, and players and the reader show them just as they do the source's. Its rotation and
                    # mirror only: a translation counts the source's pixels, not the resized ones.
                    linear = matrix.copy()
                    linear[[2, 5, 6, 7]], linear[8] = 0, 1 << 30
                    encoder.set_display_matrix(linear.tolist())
            pts = frame.pts
            if pts is None or (last_pts is not None and pts <= last_pts):
                pts = 0 if last_pts is None else last_pts + frame_duration
            resized = frame.reformat(width, height, format="yuv420p", interpolation="BICUBIC")
            resized.pts, resized.time_base, last_pts = pts, time_base, pts
            output.mux(encoder.encode(resized))
            num_frames += 1
        if num_frames == 0:
            raise VideoDecodeError(reader.source, "contains no decodable video frames")
        output.mux(encoder.encode(None))
    return num_frames, (height, width)


@dataclass
class PreparationReport:
    """What `prepare_video_dataset` did.

    Attributes:
        prepared: Videos re-encoded in this run.
        already_prepared: Videos whose output existed from an earlier run and were kept.
        failed: `{relative_path: reason}` for the sources that could not be read; they are left out of the lists.
        input_bytes, output_bytes: Sizes of the sources (files, not tar members) and of the outputs of the videos
            prepared in this run.
        lists: The video lists written under the output folder.
    """

    prepared: int = 0
    already_prepared: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    input_bytes: int = 0
    output_bytes: int = 0
    lists: list[Path] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.prepared} videos prepared, {self.already_prepared} already prepared, {len(self.failed)} failed"
        if self.input_bytes:
            text += f"; this run: {self.input_bytes / 1e6:.1f} MB -> {self.output_bytes / 1e6:.1f} MB"
        return text


def prepared_relative_path(relative_path: str) -> str:
    """The prepared video's path for a source at `relative_path`: the same path, as `.mp4`."""
    return str(Path(relative_path).with_suffix(".mp4").as_posix())


def prepare_video_dataset(
    input_root: str | os.PathLike,
    output_root: str | os.PathLike,
    *,
    video_lists: Sequence[str | os.PathLike] = (),
    preparation: VideoPreparation = VideoPreparation(),
    workers: int | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> PreparationReport:
    """Prepare every video of a dataset with `prepare_video`, keeping the folder layout, and rewrite its lists.

    Args:
        input_root: The dataset's `DATA.ROOT`: a folder, or the original's tar convention (then `video_lists` is
            required).
        output_root: Folder for the prepared videos (`<relative path>.mp4`) and lists (same file names as the
            given lists, entries pointing at the prepared videos); use it as the new `DATA.ROOT`.
        video_lists: The dataset's video lists (`path label` lines or `.json`). Without lists, every video file
            under `input_root` is prepared.
        preparation: How to re-encode.
        workers: Videos prepared in parallel, one process each (default: one per CPU core).
        overwrite: Re-encode videos whose output already exists, even with other settings than the earlier run's,
            and replace lists and a failures file in `output_root` that its manifest does not record. By default
            existing videos are kept, so an interrupted run resumes where it stopped (outputs are renamed into place
            only when complete; the partly written files of a killed run are deleted first), and a run whose
            settings differ from those recorded in `output_root/preparation_manifest.json` is refused.
        progress: Show a progress bar.

    Returns:
        A `PreparationReport`. Videos that cannot be read are counted there, listed in
        `output_root/preparation_failures.txt` and left out of the written lists; the others are prepared anyway.

    Raises:
        RuntimeError: PyAV cannot encode with x264.
        AnnotationError: A list is missing or malformed.
        ValueError: The output folder is a file, the same as the input folder, inside
            it or holding it; a prepared list would be written over an input list; two lists share a file name, or
            one is named like the failures file or the manifest; there are no videos; a path is absolute or leaves
            the input folder; or two sources would be prepared to the same file (`a.avi` and `a.mkv`). Without
            `overwrite` also: the output folder was prepared with other settings; it holds prepared videos but no
            manifest (an older version's, or another tool's); or it holds a list or failures file, or a manifest,
            that this function did not write. All of these are found before anything is written.
        FileNotFoundError: `input_root` does not exist or is a file, or a tar archive the lists name does not exist.
    """
    check_encoder()
    input_root, output_root = Path(input_root), Path(output_root)
    _check_folders(input_root, output_root)
    _check_lists_are_not_overwritten(video_lists, output_root)
    entries = _list_entries(video_lists) if video_lists else {}
    relative_paths = _videos_to_prepare(input_root, video_lists, entries)
    sources = {path: resolve_video_source(input_root, path) for path in relative_paths}
    if is_tar_root(input_root):  # a folder was checked by _check_folders; the archives are known only now
        check_video_root(input_root, sources.values())
    _claim_output_root(output_root, preparation, [Path(list_file).name for list_file in entries], relative_paths,
                       overwrite)

    removed = _remove_partial_files(output_root)
    if removed:
        logger.info("Removed %d partly written videos left by an interrupted run", removed)
    report = PreparationReport()
    pending = []
    for relative_path in relative_paths:
        if not overwrite and (output_root / prepared_relative_path(relative_path)).is_file():
            report.already_prepared += 1
        else:
            pending.append(relative_path)
    _prepare_videos({path: sources[path] for path in pending}, output_root, preparation, report,
                    workers or os.cpu_count() or 1, progress)
    _write_failures_and_lists(output_root, entries, report)
    return report


def _videos_to_prepare(
    input_root: Path, video_lists: Sequence[str | os.PathLike], entries: dict[Path, list[tuple[str, int]]]
) -> list[str]:
    """The relative paths of the videos to prepare, sorted: those the lists name, or every video under `input_root`.

    Raises:
        ValueError: there are none, or two would be prepared to the same file.
    """
    if entries:
        relative_paths = sorted({path for list_entries in entries.values() for path, _ in list_entries})
        if not relative_paths:
            names = ", ".join(repr(os.fspath(list_file)) for list_file in video_lists)
            raise ValueError(f"No videos to prepare: the video list(s) {names} name no videos.")
    else:
        relative_paths = _find_videos(input_root)
        if not relative_paths:
            raise ValueError(
                f"No videos found under {os.fspath(input_root)!r} (files ending in {', '.join(VIDEO_EXTENSIONS)})."
            )
    _check_distinct_outputs(relative_paths)
    return relative_paths


def _prepare_videos(
    sources: dict[str, VideoSource],
    output_root: Path,
    preparation: VideoPreparation,
    report: PreparationReport,
    workers: int,
    progress: bool,
) -> None:
    """Prepares `sources` (by relative path) in `workers` processes, counting each outcome in `report`."""
    jobs = [(source, output_root / prepared_relative_path(path), preparation) for path, source in sources.items()]
    with tqdm(total=len(jobs), unit="video", desc="Preparing videos", disable=not progress) as bar:
        for relative_path, outcome in zip(sources, _run(jobs, workers)):
            if isinstance(outcome, PreparedVideo):
                report.prepared += 1
                report.output_bytes += outcome.size_bytes
                report.input_bytes += _size_of(sources[relative_path])
            else:
                report.failed[relative_path] = outcome
                logger.warning("Skipping %s: %s", relative_path, outcome)
            bar.update()
            bar.set_postfix(failed=len(report.failed), refresh=False)


def _write_failures_and_lists(
    output_root: Path, entries: dict[Path, list[tuple[str, int]]], report: PreparationReport
) -> None:
    """`preparation_failures.txt` (deleted when no video failed: an earlier run's failures were retried), and each
    list with the prepared videos' paths, without the failed ones; the lists written go into `report`."""
    if report.failed:
        failures = "".join(f"{path}\t{reason}\n" for path, reason in sorted(report.failed.items()))
        write_text_atomically(output_root / FAILURES_FILE, failures)
    else:
        (output_root / FAILURES_FILE).unlink(missing_ok=True)
    for list_file, list_entries in entries.items():
        records = [
            VideoRecord(output_root / prepared_relative_path(path), label, relative_path=prepared_relative_path(path))
            for path, label in list_entries
            if path not in report.failed
        ]
        report.lists.append(write_video_list(records, output_root / Path(list_file).name))


def _check_folders(input_root: Path, output_root: Path) -> None:
    """The input folder must be a folder (or the tar convention); the output folder must not be a file or lie inside
    the input folder (a later run would find the prepared videos among the sources), nor hold it."""
    if not is_tar_root(input_root):
        check_video_folder(input_root, "--input-root")
    problem = folder_problem(output_root)
    if problem is not None:
        raise ValueError(f"The output folder (--output-root) {os.fspath(output_root)!r} {problem}.")
    resolved_input, resolved_output = input_root.resolve(), output_root.resolve()
    if resolved_output == resolved_input:
        raise ValueError(f"The output folder must differ from the input folder {os.fspath(input_root)!r}.")
    if resolved_input in resolved_output.parents:
        raise ValueError(
            f"The output folder {os.fspath(output_root)!r} lies inside the input folder {os.fspath(input_root)!r}: "
            "later runs would find the prepared videos among the sources; choose a folder outside it."
        )
    if resolved_output in resolved_input.parents:
        raise ValueError(
            f"The input folder {os.fspath(input_root)!r} lies inside the output folder {os.fspath(output_root)!r}: "
            "prepared videos could land on the sources; choose an output folder that does not hold the input."
        )


def _check_lists_are_not_overwritten(video_lists: Sequence[str | os.PathLike], output_root: Path) -> None:
    """A prepared list is written to `output_root/<list name>`, which must not be one of the input lists nor a file
    that prepare writes itself."""
    for list_file in video_lists:
        if Path(list_file).name in (FAILURES_FILE, MANIFEST_FILE):
            raise ValueError(
                f"The video list {os.fspath(list_file)!r} cannot be prepared under its name, which xclip prepare uses "
                "for its own file in the output folder; rename the list."
            )
    inputs = {Path(list_file).resolve(): list_file for list_file in video_lists}
    for list_file in video_lists:
        prepared = output_root / Path(list_file).name
        if prepared.resolve() in inputs:
            raise ValueError(
                f"The prepared list {os.fspath(prepared)!r} would be written over the input list "
                f"{os.fspath(inputs[prepared.resolve()])!r}; choose another --output-root or move the list."
            )


def _claim_output_root(
    output_root: Path, preparation: VideoPreparation, list_names: list[str], relative_paths: Sequence[str],
    overwrite: bool,
) -> None:
    """Check that this run may write into `output_root`, then record in its manifest that it does.

    The manifest is written before any video, so that an interrupted run is resumed only with its own settings. It
    names the files this run may replace or delete (its lists and `FAILURES_FILE`) ahead of writing them: a run
    killed in between must not leave its own lists looking like a user's.
    """
    files = [*list_names, FAILURES_FILE]
    for name in (*files, MANIFEST_FILE):
        if (output_root / name).is_dir():
            raise ValueError(f"{os.fspath(output_root / name)!r} is a folder; xclip prepare writes a file there.")
    manifest = _read_manifest(output_root, overwrite)
    settings = _settings_of(preparation)
    recorded = manifest["files"] if manifest is not None else []
    if manifest is not None and manifest["settings"] != settings and not overwrite:
        raise ValueError(_settings_changed(output_root, manifest["settings"], settings))
    if manifest is None and not overwrite:
        _check_no_unrecorded_videos(output_root, relative_paths)
    foreign = [os.fspath(output_root / name) for name in files if os.path.lexists(output_root / name)
               and name not in recorded]
    if foreign and not overwrite:
        it = "it" if len(foreign) == 1 else "them"
        raise ValueError(
            f"{', '.join(map(repr, foreign))}: not written by xclip prepare (the output folder's {MANIFEST_FILE} does "
            f"not name {it}), and this run would replace or delete {it}. Move {it} away, choose another "
            f"--output-root, or pass --overwrite (overwrite=True) to replace {it}."
        )
    if foreign:
        logger.warning("--overwrite: replacing %s, which xclip prepare did not write", ", ".join(foreign))
    # After --overwrite with other settings, an earlier run's lists that this run does not rewrite name videos it
    # may not re-encode: they are no longer recorded as ours, so that no later run takes them over unasked.
    kept = recorded if manifest is not None and manifest["settings"] == settings else []
    manifest = {"format": _MANIFEST_FORMAT, "written_by": "xclip prepare", "settings": settings,
                "files": sorted({*kept, *files})}
    write_text_atomically(output_root / MANIFEST_FILE, json.dumps(manifest, indent=1) + "\n")


def _settings_of(preparation: VideoPreparation) -> dict[str, object]:
    """What the manifest records of how the videos are encoded: the encoder and every `VideoPreparation` field, as
    JSON gives them back (a tuple would come back a list, and differ from itself)."""
    return json.loads(json.dumps({"encoder": ENCODER, **dataclasses.asdict(preparation)}))


def _read_manifest(output_root: Path, overwrite: bool) -> dict | None:
    """The manifest an earlier run wrote into `output_root`; `None` when there is none, or when, with `overwrite`,
    the file there is not one (it is replaced)."""
    path = output_root / MANIFEST_FILE
    if not os.path.lexists(path):
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # ValueError includes JSONDecodeError and UnicodeDecodeError
        manifest = None
    if (
        isinstance(manifest, dict)
        and manifest.get("format") == _MANIFEST_FORMAT
        and isinstance(manifest.get("settings"), dict)
        and isinstance(manifest.get("files"), list)
    ):
        return manifest
    if overwrite:
        return None
    raise ValueError(
        f"{os.fspath(path)!r} is not a manifest written by xclip prepare; move it away, choose another "
        "--output-root, or pass --overwrite (overwrite=True) to replace it."
    )


def _settings_changed(output_root: Path, recorded: dict, requested: dict) -> str:
    """The error for a run whose settings differ from the recorded ones: resuming would keep videos of the old kind."""
    changed = [name for name in dict.fromkeys([*requested, *recorded]) if recorded.get(name) != requested.get(name)]

    def describe(settings: dict) -> str:
        return ", ".join(f"{name}={settings.get(name)!r}" for name in changed)

    return (
        f"The output folder {os.fspath(output_root)!r} was prepared with other settings ({describe(recorded)}, "
        f"recorded in {MANIFEST_FILE}) than requested ({describe(requested)}): its videos would be kept as they are. "
        "Choose another --output-root, or pass --overwrite (overwrite=True) to re-encode them as requested."
    )


def _check_no_unrecorded_videos(output_root: Path, relative_paths: Sequence[str]) -> None:
    """Without a manifest, the settings of videos already in `output_root` are unknown (an older xclip prepare, which
    wrote none, or another tool made them): resuming could silently keep them at another size, so they must be
    re-encoded once, with `overwrite`; the manifest written then makes later runs resumable."""
    for relative_path in relative_paths:
        prepared = output_root / prepared_relative_path(relative_path)
        if prepared.is_file():
            raise ValueError(
                f"The output folder {os.fspath(output_root)!r} already holds prepared videos, e.g. "
                f"{os.fspath(prepared)!r}, but no {MANIFEST_FILE} recording their settings (they were written by an "
                "older xclip prepare or another tool). Choose another --output-root, or pass --overwrite "
                "(overwrite=True) to re-encode them."
            )


def _list_entries(video_lists: Sequence[str | os.PathLike]) -> dict[Path, list[tuple[str, int]]]:
    names = [Path(list_file).name for list_file in video_lists]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Video lists are written under their file names, which must differ: {duplicates}")
    return {
        Path(list_file): [(path, label) for path, label, _ in parse_video_list(list_file)] for list_file in video_lists
    }


def _find_videos(root: Path) -> list[str]:
    if is_tar_root(root):
        raise ValueError(f"{os.fspath(root)!r} is read as tar archives: give the video lists to know which videos.")
    found = []
    for folder, _, files in os.walk(root):
        found += [
            (Path(folder) / name).relative_to(root).as_posix()
            for name in files
            if name.lower().endswith(VIDEO_EXTENSIONS) and not name.startswith(".")
        ]
    return sorted(found)


def _remove_partial_files(output_root: Path) -> int:
    """Delete the hidden partial videos that a killed run left behind (a finished video is never one of them)."""
    removed = 0
    for folder, _, files in os.walk(output_root):
        for name in files:
            if name.startswith(".") and name.endswith(f".{_PARTIAL_SUFFIX}"):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


def _check_distinct_outputs(relative_paths: Sequence[str]) -> None:
    escaping = [path for path in relative_paths if Path(path).is_absolute() or ".." in Path(path).parts]
    if escaping:
        # Their outputs would land outside the output folder, possibly on the sources themselves.
        raise ValueError(
            f"{len(escaping)} video path(s) are absolute or leave the video folder, e.g. {escaping[0]!r}: paths must "
            "be relative to the input folder and stay inside it."
        )
    sources_of: dict[str, list[str]] = {}
    for path in relative_paths:
        sources_of.setdefault(prepared_relative_path(path), []).append(path)
    clashes = {output: sources for output, sources in sources_of.items() if len(sources) > 1}
    if clashes:
        output, sources = next(iter(sorted(clashes.items())))
        raise ValueError(
            f"{len(clashes)} prepared file name(s) would be shared by several sources, e.g. {sources} -> {output!r}."
        )


def _prepare_or_explain(job: tuple[VideoSource, Path, VideoPreparation]) -> PreparedVideo | str:
    """`prepare_video`, with an unreadable source turned into the reason (a worker must not stop the others)."""
    try:
        return prepare_video(*job)
    except VideoDecodeError as error:
        return error.cause
    except OSError as error:
        return f"{type(error).__name__}: {error}"


def _run(jobs: list[tuple[VideoSource, Path, VideoPreparation]], workers: int):
    """`_prepare_or_explain` over `jobs`, in order, in `workers` processes (in this one for a single worker)."""
    if workers == 1 or len(jobs) <= 1:
        yield from map(_prepare_or_explain, jobs)
        return
    # Spawned, not forked: the caller may hold threads (progress bar, torch) that a fork would copy mid-state.
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_prepare_or_explain, jobs, chunksize=1)


def _size_of(source: VideoSource) -> int:
    try:
        return os.path.getsize(source) if isinstance(source, (str, os.PathLike)) else 0
    except OSError:
        return 0
