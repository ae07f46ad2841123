"""The error raised for a malformed annotation file (video list, labels CSV, split file), naming the file and the
line, and reading such a file's text."""

from __future__ import annotations

import codecs
import io
import os
from pathlib import Path


class AnnotationError(ValueError):
    """An annotation file that cannot be used: missing, malformed, or naming a label that does not exist.

    Attributes:
        path: The annotation file.
        line: The 1-based line number of the problem (the entry number in a JSON list), or `None` when it concerns
            the whole file.
        problem: What is wrong, without the location.
    """

    def __init__(self, path: str | os.PathLike, problem: str, line: int | None = None, unit: str = "line"):
        """`unit` names what `line` counts: `"line"`, or `"entry"` for the items of a JSON list."""
        self.path = os.fspath(path)
        self.line = line
        self.problem = problem
        location = f"{self.path!r}" if line is None else f"{self.path!r}, {unit} {line}"
        super().__init__(f"{location}: {problem}")


def open_annotation_text(path: str | os.PathLike) -> io.StringIO:
    """An annotation file's text, to read or iterate line by line as `open` would (universal line ends).

    Decoded as UTF-8, without the byte-order mark an editor may have written (it would otherwise stick to the first
    video path or class name).

    Raises:
        AnnotationError: The file is not UTF-8 text, naming the line and the first byte that is not.
    """
    data = Path(path).read_bytes()
    data = data.removeprefix(codecs.BOM_UTF8)  # not by decoding with utf-8-sig: its error offsets skip the mark
    try:
        return io.StringIO(data.decode("utf-8"), newline=None)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        problem = f"is not UTF-8 text (byte {data[error.start]:#04x} on that line); save it as UTF-8"
        raise AnnotationError(path, problem, line) from None
