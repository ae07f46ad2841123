"""A model named on a command line: a local folder or a Hub id, checked before anything is loaded or written."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["check_model_source", "first_line"]


def check_model_source(model: str | os.PathLike) -> None:
    """Fails at once for a model that names a local path but is not a folder; a Hub id is left to the Hub lookup.

    Raises:
        NotADirectoryError: the path exists but is a file.
        FileNotFoundError: the name looks like a path (absolute, `.`/`~`-relative, or more than one `/`) and does not
            exist; transformers would otherwise report it as an invalid Hub id.
    """
    name = os.fspath(model)
    path = Path(name).expanduser()
    if path.exists() and not path.is_dir():
        raise NotADirectoryError(f"model {name!r}: not a folder")
    looks_like_path = path.is_absolute() or name.startswith((".", "~")) or name.count("/") > 1
    if looks_like_path and not path.exists():
        raise FileNotFoundError(f"model {name!r}: no such folder")


def first_line(error: BaseException) -> str:
    """The first line of an error's message (library errors often add hints on further lines)."""
    message = str(error).strip()
    return message.splitlines()[0] if message else type(error).__name__
