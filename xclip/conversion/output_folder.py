"""The converter's output folder: checked before any heavy work, then written all at once (`xclip.files.staged_folder`).

A failure at any step leaves the output path as it was (absent, or the previous folder when overwriting) and no
staging folder behind. `--overwrite` replaces only a folder that a previous conversion wrote, and never one that
holds the conversion's own input files.
"""

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..files import folder_problem, staged_folder
from ..modeling import XCLIPConfig
from .errors import ConversionError

__all__ = ["check_output_folder", "is_previous_conversion", "staged_output_folder"]

_INPUT = Path | str | os.PathLike


def is_previous_conversion(folder: str | os.PathLike) -> bool:
    """Whether `folder` holds a converted model: a `config.json` whose `model_type` is X-CLIP's."""
    try:
        config = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == XCLIPConfig.model_type


def check_output_folder(
    output_dir: str | os.PathLike, overwrite: bool, inputs: Iterable[tuple[str, _INPUT | None]] = ()
) -> None:
    """Fails early, before any heavy work, when `output_dir` cannot be written.

    Args:
        output_dir: the folder to write.
        overwrite: whether an existing, non-empty `output_dir` may be replaced; it must be a previous conversion.
        inputs: `(what, path)` of the files the conversion reads (the checkpoint, the labels file); none of them may
            lie inside `output_dir`, which the conversion replaces as a whole.
    """
    output_dir = Path(output_dir)
    resolved_output = output_dir.resolve()
    for what, path in inputs:
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved == resolved_output or resolved_output in resolved.parents:
            raise ConversionError(
                f"{path}: the {what} lies inside the output folder {output_dir}, which the conversion replaces as a "
                "whole; choose another output folder"
            )
    problem = folder_problem(output_dir)
    if problem is not None:
        raise ConversionError(f"{output_dir}: {problem}")
    if output_dir.is_dir() and any(output_dir.iterdir()):
        if not overwrite:
            raise ConversionError(f"{output_dir}: folder exists and is not empty; pass overwrite=True (--overwrite)")
        if not is_previous_conversion(output_dir):
            raise ConversionError(
                f"{output_dir}: folder is not empty and is not a previous conversion (no config.json with model_type "
                '"xclip"); overwrite only replaces a converted model, so remove it yourself or choose another folder'
            )


@contextmanager
def staged_output_folder(
    output_dir: str | os.PathLike, overwrite: bool, inputs: Iterable[tuple[str, _INPUT | None]] = ()
) -> Iterator[Path]:
    """Yields an empty staging folder; when the block succeeds, it becomes `output_dir`.

    Raises:
        ConversionError: `output_dir` cannot be written (`check_output_folder`), or a file of the block cannot (its
            `OSError`).
    """
    output_dir = Path(output_dir)
    check_output_folder(output_dir, overwrite, inputs)
    try:
        with staged_folder(output_dir) as staging:
            yield staging
    except OSError as error:
        raise ConversionError(f"{output_dir}: cannot write the converted model ({error})") from error
