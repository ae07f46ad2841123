"""Writing files and folders so that a crash or a concurrent reader never sees a half-written one, and checking up
front that an output folder can be created."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "file_blocking_folder",
    "folder_problem",
    "hidden_sibling",
    "replace_folder",
    "staged_folder",
    "staging_folder_of",
    "write_text_atomically",
]


def write_text_atomically(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and an atomic rename.

    Returns:
        `path` as a `Path`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = hidden_sibling(path, "tmp")
    # Not tempfile.mkstemp, which makes the file private (0600): the file gets the umask's mode, as open() gives.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def file_blocking_folder(folder: str | os.PathLike) -> Path | None:
    """The file that keeps `folder` from being a folder: `folder` itself, or the nearest path above it that exists
    (creating `folder` would fail there), when that is not a folder; `None` when `folder` is or can become one."""
    folder = Path(folder)
    for candidate in (folder, *folder.parents):
        if os.path.lexists(candidate):  # a dangling link is in the way too
            return None if candidate.is_dir() else candidate
    return None


def folder_problem(folder: str | os.PathLike) -> str | None:
    """Why `folder` cannot be or become a folder, worded to follow its name ("is a file, not a folder", or "cannot be
    created: '<nearest file above it>' is a file, not a folder"); None when it can."""
    blocking_file = file_blocking_folder(folder)
    if blocking_file is None:
        return None
    if blocking_file == Path(folder):
        return "is a file, not a folder"
    return f"cannot be created: {os.fspath(blocking_file)!r} is a file, not a folder"


def hidden_sibling(path: str | os.PathLike, purpose: str) -> Path:
    """An unused hidden path next to `path` (`.<name>.<random>.<purpose>`): renames to and from it stay on one file
    system, hence atomic."""
    path = Path(path)
    return path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.{purpose}"


def replace_folder(new: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Move the complete folder `new` to `final` (a sibling, so the renames stay on one file system), replacing an
    older `final`.

    `rename` cannot replace a non-empty folder, so an older `final` is first parked under a hidden name next to it,
    put back if the move fails, and deleted once the new folder is in place: a crash in between leaves the older
    folder parked, never a half-written `final`.

    Returns:
        `final` as a `Path`.
    """
    new, final = Path(new), Path(final)
    if not final.exists():
        os.replace(new, final)
        return final
    parked = hidden_sibling(final, "old")
    os.replace(final, parked)
    try:
        os.replace(new, final)
    except OSError:
        os.replace(parked, final)
        raise
    shutil.rmtree(parked, ignore_errors=True)
    return final


def staging_folder_of(final: str | os.PathLike) -> Path:
    """Where `staged_folder` builds `final`: the hidden sibling `.<name>.partial`, the same for every process of a
    run, so that all of them can write into it."""
    final = Path(final)
    return final.parent / f".{final.name}.partial"


@contextmanager
def staged_folder(final: str | os.PathLike) -> Iterator[Path]:
    """Yields an empty staging folder (`staging_folder_of(final)`) to write a folder into; when the block succeeds,
    it replaces `final` (`replace_folder`).

    Whatever fails, in the block or in the move, `final` is left as it was (absent, or the previous folder) and the
    staging folder is removed. One left by a killed process is removed on the next call for the same `final`.

    Raises:
        OSError: the staging folder cannot be created or moved into place.
    """
    staging = staging_folder_of(final)
    shutil.rmtree(staging, ignore_errors=True)
    staging.parent.mkdir(parents=True, exist_ok=True)
    staging.mkdir()  # not tempfile.mkdtemp: that makes it private (0700), and it becomes the final folder
    try:
        yield staging
        replace_folder(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # already gone after a successful move
