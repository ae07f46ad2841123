"""The message helpers that every part of the package lists names with."""

import pytest

from xclip.text_utils import format_names


def test_format_names_shows_the_first_names_and_counts_the_rest():
    assert format_names(["a", "b"]) == "'a', 'b'"
    assert format_names((f"w{index}" for index in range(7)), limit=3) == "'w0', 'w1', 'w2' and 4 more"
    assert format_names(["class 3: 2", "class 5: 0"], limit=1, quote=False) == "class 3: 2 and 1 more"
    assert format_names([]) == ""


def test_few_shot_and_conversion_messages_list_names_the_same_way(tmp_path):
    from xclip.conversion.key_mapping import format_names as conversion_format_names
    from xclip.data import VideoRecord, build_few_shot_list

    assert conversion_format_names is format_names
    records = [VideoRecord(f"{label}.mp4", label) for label in range(23)]
    with pytest.raises(ValueError, match=r"\(class 0: 1, class 1: 1, .*, class 19: 1 and 3 more\)"):
        build_few_shot_list(records, k=2, seed=0, output_path=tmp_path / "few.txt")
