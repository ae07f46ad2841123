"""The error raised for a malformed annotation file (video list or labels CSV), naming the file and the line."""

from __future__ import annotations

import os


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
