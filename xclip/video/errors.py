"""The error raised for any video that cannot be read, and how sources are named in messages."""

from __future__ import annotations

import os
from typing import Any


def describe_source(source: Any) -> str:
    """A short human-readable name for a video source, for error messages and warnings."""
    if isinstance(source, (str, os.PathLike)):
        return repr(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes in memory>"
    name = getattr(source, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return repr(os.fspath(name))
    return str(source) if type(source).__str__ is not object.__str__ else f"<{type(source).__name__} object>"


class VideoDecodeError(ValueError):
    """A video source that is missing, not a video, corrupt, or has no decodable frame.

    Attributes:
        source: The source exactly as the caller passed it (path, bytes, file object or `TarMember`); None when the
            error was rebuilt from its message alone.
        cause: What went wrong, without the source name; the whole message when rebuilt from it.
    """

    def __init__(self, source: Any, cause: str | None = None):
        if cause is None:
            if not isinstance(source, str):
                raise TypeError("VideoDecodeError takes (source, cause), or a message alone")
            # Only a message: torch's DataLoader re-raises a worker's exception as `type(error)(message)`. Keeping the
            # type lets callers catch an unreadable video whichever process decoded it.
            self.source, self.cause = None, source
            super().__init__(source)
            return
        self.source = source
        self.cause = cause
        super().__init__(f"Cannot read video {describe_source(source)}: {cause}")
