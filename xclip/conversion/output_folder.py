"""The converter's output folder: checked before any heavy work, then written all at once (`xclip.files.staged_folder`).

A failure at any step leaves the output path as it was (absent, or the previous folder when overwriting) and no
staging folder behind.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..files import staged_folder
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
    """Yields an empty staging folder; when the block succeeds, it becomes `output_dir`.

    Raises:
        ConversionError: `output_dir` cannot be written, or a file of the block cannot (its `OSError`).
    """
    output_dir = Path(output_dir)
    check_output_folder(output_dir, overwrite)
    try:
        with staged_folder(output_dir) as staging:
            yield staging
    except OSError as error:
        raise ConversionError(f"{output_dir}: cannot write the converted model ({error})") from error
