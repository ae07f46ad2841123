"""Few-shot K-shot lists and the zero-shot protocol sets (Kinetics-600 new classes, official splits)."""

from collections import Counter
from pathlib import Path

import pytest

from xclip.data import (
    K400_TO_K600_RENAMES,
    VideoRecord,
    build_few_shot_list,
    kinetics600_novel_classes,
    kinetics600_zero_shot_splits,
    normalise_class_name,
    novel_class_splits,
    read_label_names,
    read_video_list,
    restrict_to_classes,
    write_label_names,
    write_zero_shot_split,
    zero_shot_splits_from_lists,
)


LABELS = Path(__file__).resolve().parents[1].parent / "shared" / "labels"


def kinetics_label_files():
    k400, k600 = LABELS / "kinetics_400_labels.csv", LABELS / "kinetics_600_labels.csv"
    if not (k400.exists() and k600.exists()):
        pytest.skip(f"the Kinetics label files are not available under {LABELS}")
    return k400, k600


def full_training_list(tmp_path, videos_per_class=(5, 6, 7)):
    text = "".join(
        f"class{label}/video{number}.mp4 {label}\n"
        for label, count in enumerate(videos_per_class)
        for number in range(count)
    )
    list_file = tmp_path / "train.txt"
    list_file.write_text(text)
    return list_file


# --------------------------------------------------------------------------------------------------- few-shot


def test_few_shot_list_has_k_videos_per_class_and_round_trips(tmp_path):
    list_file = full_training_list(tmp_path)
    records = read_video_list(list_file, tmp_path, num_classes=3)
    chosen = build_few_shot_list(records, k=2, seed=0, output_path=tmp_path / "out" / "train_k2.txt")
    assert Counter(record.label for record in chosen) == {0: 2, 1: 2, 2: 2}
    assert all(record.relative_path.startswith(f"class{record.label}/") for record in chosen)
    reread = read_video_list(tmp_path / "out" / "train_k2.txt", tmp_path, num_classes=3)
    assert [(r.relative_path, r.label) for r in reread] == [(r.relative_path, r.label) for r in chosen]
    # Videos keep their order in the full list within a class.
    lines = {record.relative_path: record.line for record in records}
    for previous, current in zip(chosen, chosen[1:]):
        assert previous.label != current.label or lines[previous.relative_path] < lines[current.relative_path]


def test_few_shot_list_is_seeded(tmp_path):
    list_file = full_training_list(tmp_path)

    def draw(seed, name):
        chosen = build_few_shot_list(
            list_file, k=3, seed=seed, output_path=tmp_path / name, root=tmp_path, num_classes=3
        )
        return [record.relative_path for record in chosen]

    assert draw(0, "a.txt") == draw(0, "b.txt")
    assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text()
    assert draw(0, "a.txt") != draw(1, "c.txt")


def chosen_video_numbers(chosen) -> dict[int, list[int]]:
    """Per class, the numbers of the chosen videos (`full_training_list` numbers them in list order)."""
    numbers = {}
    for record in chosen:
        numbers.setdefault(record.label, []).append(int(Path(record.relative_path).stem.removeprefix("video")))
    return numbers


def test_few_shot_picks_are_distinct_videos_in_list_order_for_any_seed(tmp_path):
    records = read_video_list(full_training_list(tmp_path, (7, 7)), tmp_path, num_classes=2)
    for seed in range(20):
        chosen = build_few_shot_list(records, k=4, seed=seed, output_path=tmp_path / "k4.txt")
        for label, numbers in chosen_video_numbers(chosen).items():
            assert len(set(numbers)) == 4, f"seed {seed}, class {label}: a video is repeated in {numbers}"
            assert numbers == sorted(numbers), f"seed {seed}, class {label}: {numbers} is not in list order"


def test_few_shot_draws_of_different_seeds_are_independent(tmp_path):
    # A generator seeded with seed + class would give (seed 0, class 1) and (seed 1, class 0) the same draw.
    records = read_video_list(full_training_list(tmp_path, (7, 7)), tmp_path, num_classes=2)

    def drawn(seed, label):
        chosen = build_few_shot_list(records, k=3, seed=seed, output_path=tmp_path / "k3.txt")
        return chosen_video_numbers(chosen)[label]

    assert drawn(seed=0, label=1) != drawn(seed=1, label=0)


@pytest.mark.parametrize("k", [0, -1])
def test_few_shot_list_needs_a_positive_k(tmp_path, k):
    records = read_video_list(full_training_list(tmp_path), tmp_path, num_classes=3)
    with pytest.raises(ValueError, match="k must be a positive integer"):
        build_few_shot_list(records, k=k, seed=0, output_path=tmp_path / "k.txt")
    assert not (tmp_path / "k.txt").exists()


def test_few_shot_list_rejects_classes_with_fewer_than_k_videos(tmp_path):
    records = read_video_list(full_training_list(tmp_path, (5, 2, 7)), tmp_path, num_classes=3)
    with pytest.raises(ValueError, match=r"1 class\(es\) have fewer than k=4 videos \(class 1: 2\)"):
        build_few_shot_list(records, k=4, seed=0, output_path=tmp_path / "k4.txt")
    # A class with no video at all is only visible with num_classes.
    with pytest.raises(ValueError, match="class 3: 0"):
        build_few_shot_list(records, k=2, seed=0, output_path=tmp_path / "k2.txt", num_classes=4)
    assert not (tmp_path / "k4.txt").exists()


def test_few_shot_list_file_needs_root_and_num_classes(tmp_path):
    with pytest.raises(ValueError, match="needs root"):
        build_few_shot_list(full_training_list(tmp_path), k=2, seed=0, output_path=tmp_path / "k2.txt")


# ------------------------------------------------------------------------------------ Kinetics-600 new classes


def test_kinetics600_has_exactly_220_new_classes():
    k400, k600 = kinetics_label_files()
    novel = kinetics600_novel_classes(k400, k600)
    assert len(novel) == 220 == len(set(novel))
    k400_names, k600_names = read_label_names(k400), read_label_names(k600)
    # Literal name difference gives 232: exactly the 11 renamed classes and one spelled in another case separate it
    # from 220.
    literal = [name for name in k600_names if name not in set(k400_names)]
    assert len(literal) == 232
    renamed = set(K400_TO_K600_RENAMES.values())
    assert renamed <= set(literal) - set(novel)
    assert sorted(set(literal) - set(novel) - renamed) == ["passing american football (not in game)"]
    assert "hugging baby" in novel and "hugging (not baby)" not in novel
    assert novel == [name for name in k600_names if name in set(novel)]  # Kinetics-600 order


def synthetic_kinetics_label_files(tmp_path, num_novel: int):
    """A 400-class and a 600-class label file whose 600 classes include `num_novel` new ones, the 600 in reverse
    alphabetical order (the original's CSVs are alphabetical, so they cannot tell file order from sorted order)."""
    k400_names = [f"old class {index:03d}" for index in range(400)]
    k600_names = k400_names[: 600 - num_novel] + [f"new class {index:03d}" for index in range(num_novel)]
    k400 = write_label_names(k400_names, tmp_path / "k400.csv")
    k600 = write_label_names(sorted(k600_names, reverse=True), tmp_path / "k600.csv")
    return k400, k600


def test_kinetics600_new_classes_come_in_the_label_files_order(tmp_path):
    k400, k600 = synthetic_kinetics_label_files(tmp_path, num_novel=220)
    novel = kinetics600_novel_classes(k400, k600)
    # The 160-class splits are drawn from this list, so its order decides which classes a seed picks.
    assert novel == [name for name in read_label_names(k600) if name.startswith("new class")]
    assert novel[0] == "new class 219"


@pytest.mark.parametrize("num_novel, warns", [(220, False), (221, True), (200, True)])
def test_kinetics600_warns_unless_it_finds_220_new_classes(tmp_path, caplog, num_novel, warns):
    k400, k600 = synthetic_kinetics_label_files(tmp_path, num_novel)
    with caplog.at_level("WARNING", logger="xclip.data.kinetics"):
        assert len(kinetics600_novel_classes(k400, k600)) == num_novel
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert len(warnings) == warns
    assert all(f"Found {num_novel} Kinetics-600 classes" in message for message in warnings)


def test_rename_table_matches_the_label_files():
    k400, k600 = kinetics_label_files()
    k400_names, k600_names = set(read_label_names(k400)), set(read_label_names(k600))
    for old, new in K400_TO_K600_RENAMES.items():
        assert old in k400_names and old not in k600_names
        assert new in k600_names and new not in k400_names
        assert normalise_class_name(old) != normalise_class_name(new), f"{old!r} needs no entry"


@pytest.mark.parametrize("style", [lambda name: name.replace(" ", "_"), str.title, str.upper])
def test_kinetics600_new_classes_do_not_depend_on_how_the_label_files_spell_names(tmp_path, style):
    """Renames were looked up by the exact Kinetics-400 name: folder-style names ("dying_hair") gave 230 classes."""
    k400, k600 = kinetics_label_files()
    restyled = [write_label_names([style(name) for name in read_label_names(csv)], tmp_path / csv.name)
                for csv in (k400, k600)]
    expected = [style(name) for name in kinetics600_novel_classes(k400, k600)]
    assert kinetics600_novel_classes(*restyled) == expected
    assert kinetics600_novel_classes(restyled[0], k600) == kinetics600_novel_classes(k400, k600)


def test_novel_class_splits_are_deterministic_160_class_subsets():
    k400, k600 = kinetics_label_files()
    novel = kinetics600_novel_classes(k400, k600)
    splits = novel_class_splits(novel)
    assert len(splits) == 3 and all(len(split) == 160 == len(set(split)) for split in splits)
    assert all(set(split) <= set(novel) for split in splits)
    assert all(split == [name for name in novel if name in set(split)] for split in splits)
    assert splits == novel_class_splits(novel, seed=0)
    assert len({tuple(split) for split in splits}) == 3
    assert novel_class_splits(novel, seed=1) != splits


def test_novel_class_splits_validation():
    with pytest.raises(ValueError, match=r"split_size must be in \[1, 3\]"):
        novel_class_splits(["a", "b", "c"], split_size=4)
    with pytest.raises(ValueError, match="duplicate"):
        novel_class_splits(["a", "a"], split_size=1)


def test_kinetics600_zero_shot_splits_on_a_toy_label_set(tmp_path):
    k400 = write_label_names(["archery", "dying hair", "hugging"], tmp_path / "k400.csv")
    k600_names = ["archery", "dyeing hair", "hugging (not baby)", "hugging baby", "luge", "sleeping", "zumba"]
    k600 = write_label_names(k600_names, tmp_path / "k600.csv")
    assert kinetics600_novel_classes(k400, k600) == ["hugging baby", "luge", "sleeping", "zumba"]

    val_list = tmp_path / "val.txt"
    val_list.write_text("".join(f"v{label}_{copy}.mp4 {label}\n" for label in range(7) for copy in range(2)))
    splits = kinetics600_zero_shot_splits(k400, k600, val_list, tmp_path, num_splits=2, split_size=3, seed=0)
    assert [split.name for split in splits] == ["split1", "split2"]
    for split in splits:
        assert len(split.class_names) == 3
        assert len(split.records) == 6
        for record in split.records:
            original_label = int(record.relative_path.split("_")[0][1:])
            assert split.class_names[record.label] == k600_names[original_label]
        labels_csv, list_file = write_zero_shot_split(split, tmp_path / "splits")
        assert read_label_names(labels_csv) == split.class_names
        reread = read_video_list(list_file, tmp_path, num_classes=3)
        assert [(r.relative_path, r.label) for r in reread] == [(r.relative_path, r.label) for r in split.records]


def test_restrict_to_classes_relabels_and_rejects_unknown_names(tmp_path):
    records = [VideoRecord(tmp_path / f"{label}.mp4", label, relative_path=f"{label}.mp4") for label in range(4)]
    kept = restrict_to_classes(records, ["a", "b", "c", "d"], ["d", "b"])
    assert [(record.relative_path, record.label) for record in kept] == [("1.mp4", 1), ("3.mp4", 0)]
    with pytest.raises(ValueError, match="not in the label set"):
        restrict_to_classes(records, ["a", "b", "c", "d"], ["e"])


def test_official_splits_from_user_lists(tmp_path):
    labels_csv = write_label_names(["brush hair", "cartwheel"], tmp_path / "hmdb.csv")
    list_files = []
    for split in range(1, 4):
        list_files.append(tmp_path / f"test{split}.txt")
        list_files[-1].write_text(f"s{split}_a.avi 0\ns{split}_b.avi 1\n")
    splits = zero_shot_splits_from_lists(list_files, labels_csv, tmp_path)
    assert [split.name for split in splits] == ["split1", "split2", "split3"]
    assert all(split.class_names == ["brush hair", "cartwheel"] for split in splits)
    assert [record.relative_path for record in splits[2].records] == ["s3_a.avi", "s3_b.avi"]
