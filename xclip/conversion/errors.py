"""The one error type of `xclip.conversion`, and how its messages describe other errors."""

import re

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class ConversionError(ValueError):
    """A checkpoint, CLIP source, labels file or output folder that cannot be converted.

    The message is a single line that names the file and the problem, so command-line tools can print it as is.
    """


def describe_error(error: BaseException) -> str:
    """A one-line description of a library's exception, preferring torch's own diagnosis to its advice paragraphs."""
    message = _ANSI_ESCAPE.sub("", str(error)).strip()
    diagnosis = re.search(r"WeightsUnpickler error:\s*([^\n]+)", message)
    if diagnosis:
        return diagnosis.group(1).split(". ")[0].strip()
    first_line = message.splitlines()[0] if message else ""
    return f"{type(error).__name__}: {first_line}"[:240].rstrip(": ")
