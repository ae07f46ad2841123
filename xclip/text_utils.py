"""Text helpers for messages."""

from collections.abc import Iterable

__all__ = ["first_line", "format_names", "short_first_line", "shortened"]


def format_names(names: Iterable[str], limit: int = 5, *, quote: bool = True) -> str:
    """`'a', 'b', 'c' and 4 more`: the first `limit` names and how many more there are, so that a message naming
    thousands of files or weights stays one line.

    Args:
        names: What to list.
        limit: How many to show.
        quote: Show each name as its `repr` (quoted); `False` for items already written out, e.g. `"class 3: 2"`.
    """
    names = list(names)
    shown = ", ".join(repr(name) if quote else name for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def first_line(error: BaseException) -> str:
    """The first line of an error's message (library errors often add hints on further lines); for an error that
    PyTorch re-raised from a DataLoader worker ("Caught ... in DataLoader worker process 0"), the worker's own one."""
    message = str(error).strip()
    if not message:
        return type(error).__name__
    lines = message.splitlines()
    if lines[0].startswith("Caught ") and "Original Traceback" in message:
        return lines[-1]
    return lines[0]


def short_first_line(error: BaseException, limit: int = 160) -> str:
    """`first_line(error)`, cut to `limit` characters: some library errors put a whole file's header in it."""
    return shortened(first_line(error), limit)


def shortened(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
