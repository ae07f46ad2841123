"""Class lists in the original's `id,name` CSV format (`labels/kinetics_400_labels.csv` and the like)."""

import csv
import os
from pathlib import Path

from .errors import ConversionError

__all__ = ["read_labels_csv"]


def read_labels_csv(labels_csv: str | os.PathLike) -> list[str]:
    """Class names in class-index order.

    The original takes class k from the k-th row and ignores the `id` column; here the ids must also read 0, 1, 2...
    so that a reordered or gapped file is caught instead of silently relabelling classes.

    Raises:
        ConversionError: the file is missing, has no `id,name` header, a wrong id, an empty or repeated name.
    """
    path = Path(labels_csv)
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            rows = list(reader)
            header = reader.fieldnames or []
    except FileNotFoundError:
        raise ConversionError(f"{path}: no such labels file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ConversionError(f"{path}: unreadable labels file ({error})") from error
    if not {"id", "name"} <= set(header):
        raise ConversionError(f"{path}: expected a CSV with an 'id,name' header and one row per class")
    if not rows:
        raise ConversionError(f"{path}: no classes below the 'id,name' header")

    names: list[str] = []
    for index, row in enumerate(rows):
        line = index + 2  # 1-based, after the header
        if (row["id"] or "").strip() != str(index):
            raise ConversionError(f"{path}: line {line} has id {row['id']!r}, expected {index} (ids count from 0)")
        name = (row["name"] or "").strip()
        if not name:
            raise ConversionError(f"{path}: line {line} has an empty class name")
        if name in names:
            first = names.index(name)
            raise ConversionError(f"{path}: line {line} repeats the class name {name!r} (first at id {first})")
        names.append(name)
    return names
