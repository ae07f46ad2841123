"""Writing a model folder all at once: built in a hidden staging folder next to it, then renamed into place.

A failure at any step leaves the output path as it was (absent, or the previous folder when overwriting) and no
staging folder behind.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..data.files import hidden_sibling, replace_folder
from .errors import ConversionError

__all__ = ["check_output_folder", "staged_output_folder"]


def check_output_folder(output_dir: str | os.PathLike, overwrite: bool) -> None:
    """Fails early, before any heavy work, when `output_dir` cannot be written."""
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ConversionError(f"{output_dir}: exists and is not a folder")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not overwrite:
        raise ConversionError(f"{output_dir}: folder exists and is not empty; pass overwrite=True (--overwrite)")


@contextmanager
def staged_output_folder(output_dir: str | os.PathLike, overwrite: bool) -> Iterator[Path]:
    """Yields an empty staging folder; when the block succeeds, it becomes `output_dir`."""
    output_dir = Path(output_dir)
    check_output_folder(output_dir, overwrite)
    try:
        output_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = hidden_sibling(output_dir, "partial")
        staging.mkdir()  # not tempfile.mkdtemp: that makes it private (0700), and it becomes the output folder
    except OSError as error:
        raise ConversionError(f"{output_dir}: cannot create the output folder ({error})") from error
    try:
        yield staging
        try:
            replace_folder(staging, output_dir)
        except OSError as error:
            raise ConversionError(f"{output_dir}: cannot move the converted model into place ({error})") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # already gone after a successful move
