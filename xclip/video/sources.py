"""Where a video comes from: a path, bytes, a file object, or a member of an uncompressed tar archive.

The original X-CLIP can read a dataset from tar archives (one tar per folder, videos at the archive root) to avoid
millions of small files. `TarMember` names such a video, `resolve_video_source` applies the original's `DATA.ROOT`
convention, and `MediaInput` turns any source into something PyAV can open, and open again from the start.
"""

from __future__ import annotations

import functools
import io
import os
import posixpath
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

from .errors import VideoDecodeError


@dataclass(frozen=True)
class TarMember:
    """A video stored in an uncompressed tar archive.

    The video is read in place: no extraction, no copy in memory. Looking a member up scans the archive headers
    once per process and archive; later lookups are dictionary hits.

    Args:
        tar_path: Path of the `.tar` archive (compressed archives cannot be read in place and are rejected).
        member: Name of the video inside the archive, e.g. `"abseiling_001.mp4"`.
    """

    tar_path: str | os.PathLike
    member: str

    def __str__(self) -> str:
        return f"{self.member!r} in tar archive {os.fspath(self.tar_path)!r}"


VideoSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO, TarMember]
"""Anything `probe`/`read_frames` accept: a path, encoded bytes, a readable binary file object or a `TarMember`."""

VIDEO_SOURCE_KINDS = "a path (str or os.PathLike), encoded bytes, a binary file object or a TarMember"
"""The `VideoSource`s, as messages list them."""


def is_video_source(source: object) -> bool:
    """Whether `source` is a `VideoSource`; a binary file object is anything with a `read` method."""
    return isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview, TarMember)) or hasattr(source, "read")


def is_tar_root(root: str | os.PathLike) -> bool:
    """Whether the videos under `root` are read from tar archives: the original X-CLIP's convention, on as soon as
    `".tar"` occurs anywhere in the root (see `resolve_video_source`)."""
    return ".tar" in os.fspath(root)


def check_video_folder(folder: str | os.PathLike, option: str) -> None:
    """Stop with a clear error when the video folder that `option` names (e.g. `"DATA.ROOT"`) is missing or a file.

    Raises:
        FileNotFoundError: `folder` does not exist, or is a file.
    """
    if os.path.isdir(folder):
        return
    problem = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
    raise FileNotFoundError(f"The video folder ({option}) {os.fspath(folder)!r} {problem}.")


def resolve_video_source(root: str | os.PathLike, relative_path: str) -> Path | TarMember:
    """Locate a dataset video the way the original X-CLIP does from `DATA.ROOT` and an annotation path.

    If `".tar"` occurs anywhere in `root`, tar mode is on: every `".tar"` is removed from `root`, the relative path
    is joined to it, and the video is the member `basename(path)` of the archive `dirname(path) + ".tar"`.
    Otherwise the video is the file `root / relative_path`.

    Example: `resolve_video_source("/data/k400/train.tar", "abseiling_001.mp4")` gives
    `TarMember("/data/k400/train.tar", "abseiling_001.mp4")`.
    """
    if not is_tar_root(root):
        return Path(root) / relative_path
    root = os.fspath(root)
    video_path = os.path.join(root.replace(".tar", ""), relative_path)
    return TarMember(os.path.dirname(video_path) + ".tar", os.path.basename(video_path))


class _FileRegion(io.RawIOBase):
    """A read-only, seekable view of the bytes `[start, start + size)` of a file."""

    def __init__(self, path: str, start: int, size: int):
        super().__init__()
        self.name = path
        self._file = open(path, "rb")
        self._start = start
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), self._size - self._position))
        if count == 0:
            return 0
        self._file.seek(self._start + self._position)
        read = self._file.readinto(memoryview(buffer)[:count])
        self._position += read
        return read

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        origin = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, origin + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        self._file.close()
        super().close()


@functools.lru_cache(maxsize=32)
def _tar_member_regions(tar_path: str, modified_ns: int) -> dict[str, tuple[int, int]]:
    """`{normalised member name: (data offset, size)}` of the regular files of an uncompressed tar.

    Cached per process (`modified_ns` invalidates it when the archive changes); the cached value holds no open
    file, so it is safe to share with forked DataLoader workers.
    """
    with tarfile.open(tar_path, mode="r:") as archive:
        return {
            posixpath.normpath(info.name): (info.offset_data, info.size)
            for info in archive.getmembers()
            if info.isreg()
        }


def _open_tar_member(source: TarMember) -> _FileRegion:
    tar_path = os.fspath(source.tar_path)
    try:
        regions = _tar_member_regions(tar_path, os.stat(tar_path).st_mtime_ns)
    except FileNotFoundError:
        raise VideoDecodeError(source, "tar archive not found") from None
    except tarfile.TarError as error:
        raise VideoDecodeError(source, f"not an uncompressed tar archive ({error})") from None
    except OSError as error:  # as for a file: unreadable, not a reason to stop the dataset
        raise VideoDecodeError(source, f"cannot read the tar archive ({error.strerror or error})") from None
    region = regions.get(posixpath.normpath(source.member))
    if region is None:
        raise VideoDecodeError(source, "no such member in the archive (videos must sit at the archive root)")
    try:
        return _FileRegion(tar_path, *region)
    except OSError as error:
        raise VideoDecodeError(source, f"cannot read the tar archive ({error.strerror or error})") from None


class MediaInput:
    """A video source made openable by PyAV, any number of times, from the start of the media.

    `open()` returns a path or a binary file object positioned at the start; `close()` releases what this object
    opened itself (never a file object the caller passed in).
    """

    def __init__(self, source: VideoSource):
        if not is_video_source(source):
            raise TypeError(f"A video source must be {VIDEO_SOURCE_KINDS}, not {type(source).__name__}")
        self._path: str | None = None
        self._file: BinaryIO | None = None
        self._owns_file = True
        self._start = 0
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                missing, is_dir = not path.exists(), path.is_dir()
            except OSError as error:
                # A name too long for the file system, a permission denied on a folder: one unreadable video, which
                # must not stop a whole dataset.
                raise VideoDecodeError(source, f"cannot access the file ({error.strerror or error})") from None
            if missing:
                raise VideoDecodeError(source, "file not found")
            if is_dir:
                raise VideoDecodeError(source, "is a directory, not a video file")
            self._path = os.fspath(path)
        elif isinstance(source, (bytes, bytearray, memoryview)):
            self._file = io.BytesIO(bytes(source))
        elif isinstance(source, TarMember):
            self._file = _open_tar_member(source)
        elif getattr(source, "seekable", lambda: False)():
            self._file, self._owns_file, self._start = source, False, source.tell()
        else:
            # Seeking to keyframes needs random access: buffer a pipe or socket once.
            self._file = io.BytesIO(source.read())

    def open(self) -> str | BinaryIO:
        if self._path is not None:
            return self._path
        self._file.seek(self._start)
        return self._file

    def close(self) -> None:
        if self._file is not None and self._owns_file:
            self._file.close()
