"""The Kinetics-400 / Kinetics-600 class correspondence, for the Kinetics-600 zero-shot protocol.

Kinetics-600 shares 380 classes with Kinetics-400 and adds 220 new ones, but 12 of the shared classes are spelled
differently in Kinetics-600. Comparing the names of the original X-CLIP's `kinetics_400_labels.csv` and
`kinetics_600_labels.csv` literally therefore leaves 232 "new" classes instead of 220 (users of other label lists
report 221, original issue #128):

- "passing American football (not in game)" differs in case only, which `normalise_class_name` (case-insensitive,
  ignoring spaces, underscores and hyphens) matches on its own;
- the other eleven are real renames, listed in `K400_TO_K600_RENAMES`: a spelling fix ("dying hair" -> "dyeing
  hair"), a reworded name ("tying tie" -> "tying necktie"), or a qualifier added when Kinetics-600 split a class
  ("hugging" -> "hugging (not baby)" next to the new "hugging baby").

The pairs were found by comparing the two CSVs: each is the only plausible Kinetics-600 counterpart of a
Kinetics-400 name that Kinetics-600 does not contain. The other 20 such Kinetics-400 names (e.g. "drinking beer",
"vault") have no counterpart: Kinetics-600 dropped them. With the mapping, `kinetics600_novel_classes` gives exactly
the 220 classes of the protocol on the original's label files; as a cross-check, the one public re-creation of the
160-class subsets (ViFi-CLIP's) uses none of these 12 names.
"""

from __future__ import annotations

import logging
import os

from .labels import normalise_class_name, read_label_names


logger = logging.getLogger(__name__)

K400_TO_K600_RENAMES: dict[str, str] = {
    "baby waking up": "waking up",
    "balloon blowing": "inflating balloons",
    "changing wheel": "changing wheel (not on bike)",
    "cooking sausages": "cooking sausages (not on barbeque)",
    "dying hair": "dyeing hair",
    "garbage collecting": "person collecting garbage",
    "hugging": "hugging (not baby)",
    "making bed": "making the bed",
    "opening bottle": "opening bottle (not wine)",
    "throwing ball": "throwing ball (not baseball or American football)",
    "tying tie": "tying necktie",
}
"""Kinetics-400 class name -> the name of the same class in Kinetics-600 (as spelled in the original's CSVs), for the
classes that `normalise_class_name` does not match."""

KINETICS600_NUM_NOVEL_CLASSES = 220
"""Kinetics-600 classes that are not Kinetics-400 classes (ER-ZSAR; X-CLIP's zero-shot protocol)."""


def kinetics600_novel_classes(k400_csv: str | os.PathLike, k600_csv: str | os.PathLike) -> list[str]:
    """The Kinetics-600 classes that are not Kinetics-400 classes, renamed classes taken into account.

    Args:
        k400_csv: The Kinetics-400 labels CSV (`id,name`).
        k600_csv: The Kinetics-600 labels CSV.

    Returns:
        The new classes' Kinetics-600 names, in Kinetics-600 order (220 for the original's label files).
    """
    k400_names = read_label_names(k400_csv)
    k600_names = read_label_names(k600_csv)
    known = {normalise_class_name(name) for name in k400_names}
    # Looked up by normalised name, so that label files in another style ("dying_hair", "Dying Hair") rename.
    renames = {normalise_class_name(old): normalise_class_name(new) for old, new in K400_TO_K600_RENAMES.items()}
    known.update([renames[name] for name in known if name in renames])
    novel = [name for name in k600_names if normalise_class_name(name) not in known]
    if len(k400_names) == 400 and len(k600_names) == 600 and len(novel) != KINETICS600_NUM_NOVEL_CLASSES:
        logger.warning(
            "Found %d Kinetics-600 classes that are not Kinetics-400 classes instead of %d: the label files spell "
            "classes differently from the original X-CLIP's; extend K400_TO_K600_RENAMES.",
            len(novel),
            KINETICS600_NUM_NOVEL_CLASSES,
        )
    return novel
