"""Text helpers for messages."""

from collections.abc import Iterable

__all__ = ["format_names"]


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
