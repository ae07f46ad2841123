"""Class names in the original X-CLIP's labels CSV (`labels/kinetics_400_labels.csv` and its siblings).

The file has a header `id,name` and one row per class. As in the original (which reads it with pandas), class `k` is
the `k`-th row and the `name` is the text given to CLIP exactly as written: UCF-101's CamelCase names such as
`"ApplyEyeMakeup"` stay as they are, and no prompt template is added.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

from ..files import write_text_atomically
from .errors import AnnotationError, open_annotation_text
from .video_list import PathLike

_NAME_SEPARATORS = re.compile(r"[\s_-]+")


def normalise_class_name(name: str) -> str:
    """The form of a class name that label lists, split files and folder names share, for matching them: lower case,
    without spaces, underscores or hyphens.

    `"brush_hair"` and `"brush hair"` give `"brushhair"`; `"HandStandPushups"` and `"HandstandPushups"` give
    `"handstandpushups"`; `"passing American football"` and `"passing american football"` match.
    """
    return _NAME_SEPARATORS.sub("", name).casefold()


def read_label_names(csv_path: PathLike) -> list[str]:
    """Read the class names of a labels CSV, in class-index order.

    Args:
        csv_path: A CSV file with a header holding a `name` column (normally `id,name`) and one row per class.

    Returns:
        The class names; `names[k]` is the text of class `k`.

    Raises:
        AnnotationError: The file is missing, has no `name` column or no rows, a row has the wrong number of fields
            or an empty name, or two rows share a name (their classes could never be told apart).
    """
    path = Path(csv_path)
    if not path.is_file():
        raise AnnotationError(path, "labels CSV not found" if not path.exists() else "is not a file")
    rows = list(csv.reader(open_annotation_text(path)))
    if not rows:
        raise AnnotationError(path, "the labels CSV is empty; expected a header 'id,name' and one row per class")
    header = [column.strip() for column in rows[0]]
    if "name" not in header:
        raise AnnotationError(path, f"the header must name the columns 'id,name', got {','.join(rows[0])!r}", line=1)
    name_column = header.index("name")
    id_column = header.index("id") if "id" in header else None

    names: list[str] = []
    first_line_of: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # blank line
        if len(row) != len(header):
            raise AnnotationError(
                path, f"expected {len(header)} comma-separated fields ({','.join(header)}), got {len(row)}: {row}", line
            )
        name = row[name_column]
        if not name.strip():
            raise AnnotationError(path, "empty class name", line)
        if name in first_line_of:
            raise AnnotationError(path, f"class name {name!r} already appears on line {first_line_of[name]}", line)
        if id_column is not None and row[id_column].strip() != str(len(names)):
            # Classes are numbered by row, as in the original; a video list written against another id column would
            # silently train and score every video against another class's text.
            raise AnnotationError(
                path, f"id {row[id_column].strip()!r} on the row of class {len(names)}: the id column must count 0, 1, "
                "2, ... in row order (classes are numbered by row, as in the original X-CLIP); fix the ids or drop "
                "the column", line,
            )
        first_line_of[name] = line
        names.append(name)
    if not names:
        raise AnnotationError(path, "the labels CSV has a header but no classes")
    return names


def write_label_names(names: Sequence[str], csv_path: PathLike) -> Path:
    """Write class names as a labels CSV (`id,name`, class `k` on row `k`) that `read_label_names` reads back.

    Returns:
        `csv_path` as a `Path`.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "name"])
    writer.writerows(enumerate(names))
    return write_text_atomically(csv_path, buffer.getvalue())
