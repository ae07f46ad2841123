"""Converting the official HMDB-51 and UCF-101 split files into the original X-CLIP's video lists (`xclip splits`)."""

import logging
from pathlib import Path

import pytest

from xclip.cli import main as xclip_main
from xclip.data import (
    AnnotationError,
    hmdb51_split_lists,
    read_label_names,
    read_video_list,
    ucf101_split_lists,
    write_label_names,
    write_official_split_lists,
)
from xclip.data import normalise_class_name


LABELS = Path(__file__).resolve().parents[1].parent / "shared" / "labels"

# Not in alphabetical order, so that a label can only be right if it is the class's row in this CSV.
HMDB_NAMES = ["ride bike", "brush hair", "fall floor", "cartwheel"]
# Tags of each class's three videos in splits 1, 2 and 3 (1: training, 2: test, 0: unused).
HMDB_TAGS = {1: (1, 2, 0), 2: (2, 0, 1), 3: (0, 1, 2)}
# The 51 class folders of the real HMDB-51: facts of the dataset, not read from the labels CSV.
HMDB51_FOLDERS = (
    "brush_hair cartwheel catch chew clap climb climb_stairs dive draw_sword dribble drink eat fall_floor fencing "
    "flic_flac golf handstand hit hug jump kick kick_ball kiss laugh pick pour pullup punch push pushup ride_bike "
    "ride_horse run shake_hands shoot_ball shoot_bow shoot_gun sit situp smile smoke somersault stand swing_baseball "
    "sword sword_exercise talk throw turn walk wave"
).split()
UCF_CLASSES = ["ApplyEyeMakeup", "Archery", "HandstandPushups", "YoYo"]  # classInd.txt order, ids from 1
# As in the real dataset, the folder is named as classInd.txt names the class; only the video file names differ.
UCF_FILE_NAMES = {"HandstandPushups": "HandStandPushups"}


def hmdb_video(folder_name, number):
    return f"{folder_name}_v{number}.avi"


def write_hmdb_splits(folder, names=HMDB_NAMES):
    """An official-style `testTrainMulti_7030_splits` folder: three videos per class, tagged by `HMDB_TAGS`, with the
    original's trailing spaces and Windows line ends."""
    folder.mkdir(parents=True)
    for name in names:
        folder_name = name.replace(" ", "_")
        for split, tags in HMDB_TAGS.items():
            lines = "".join(f"{hmdb_video(folder_name, number)} {tag} \r\n" for number, tag in enumerate(tags))
            (folder / f"{folder_name}_test_split{split}.txt").write_text(lines, newline="")
    return folder


def ucf_video(class_name, group):
    return f"{class_name}/v_{UCF_FILE_NAMES.get(class_name, class_name)}_g{group:02d}_c01.avi"


def write_ucf_splits(folder, classes=UCF_CLASSES):
    """An official-style `ucfTrainTestlist` folder: in split N, group N of each class is a test video and the next
    group a training one."""
    folder.mkdir(parents=True)
    (folder / "classInd.txt").write_text("".join(f"{i} {name}\r\n" for i, name in enumerate(classes, start=1)))
    for split in (1, 2, 3):
        train = "".join(f"{ucf_video(name, split + 1)} {i}\r\n" for i, name in enumerate(classes, start=1))
        (folder / f"trainlist0{split}.txt").write_text(train, newline="")
        (folder / f"testlist0{split}.txt").write_text("".join(f"{ucf_video(name, split)}\r\n" for name in classes))
    return folder


@pytest.fixture
def hmdb(tmp_path):
    return write_hmdb_splits(tmp_path / "testTrainMulti_7030_splits"), write_label_names(HMDB_NAMES, tmp_path / "h.csv")


@pytest.fixture
def ucf(tmp_path):
    return write_ucf_splits(tmp_path / "ucfTrainTestlist"), write_label_names(UCF_CLASSES, tmp_path / "u.csv")


def create_videos(root, list_files):
    for list_file in list_files:
        for line in list_file.read_text().splitlines():
            video = root / line.split()[0]
            video.parent.mkdir(parents=True, exist_ok=True)
            video.touch()


# --------------------------------------------------------------------------------------------------- HMDB-51


def test_hmdb51_lists_hold_the_tagged_videos_labelled_by_csv_row(hmdb, tmp_path):
    splits_dir, label_csv = hmdb
    written = write_official_split_lists("hmdb51", splits_dir, label_csv, tmp_path / "lists")
    assert sorted(path.name for path in (tmp_path / "lists").iterdir()) == [
        f"{kind}_split{split}.txt" for kind in ("test", "train") for split in (1, 2, 3)
    ]
    # Split 1: video 0 of each class trains, video 1 is tested, video 2 (tag 0) is in neither; classes in CSV order.
    assert (tmp_path / "lists" / "train_split1.txt").read_text() == (
        "ride_bike/ride_bike_v0.avi 0\nbrush_hair/brush_hair_v0.avi 1\n"
        "fall_floor/fall_floor_v0.avi 2\ncartwheel/cartwheel_v0.avi 3\n"
    )
    assert (tmp_path / "lists" / "test_split1.txt").read_text() == (
        "ride_bike/ride_bike_v1.avi 0\nbrush_hair/brush_hair_v1.avi 1\n"
        "fall_floor/fall_floor_v1.avi 2\ncartwheel/cartwheel_v1.avi 3\n"
    )
    for split in written:
        unused = HMDB_TAGS[split.split].index(0)
        listed = [record.relative_path for record in [*split.train, *split.test]]
        assert not any(path.endswith(f"_v{unused}.avi") for path in listed)
        assert len(split.train) == len(split.test) == 4
    assert written[1].summary() == (
        f"split 2: 4 training and 4 test videos of 4 classes -> {tmp_path / 'lists' / 'train_split2.txt'}, "
        f"{tmp_path / 'lists' / 'test_split2.txt'}"
    )


def test_hmdb51_classes_match_the_csv_whatever_the_case_spaces_or_hyphens(tmp_path):
    splits_dir = write_hmdb_splits(tmp_path / "splits", ["brush hair", "cart-wheel"])
    label_csv = write_label_names(["Cart Wheel", "Brush Hair"], tmp_path / "labels.csv")
    train, test = hmdb51_split_lists(splits_dir, label_csv, split=3)
    assert [(record.relative_path, record.label) for record in train] == [
        ("cart-wheel/cart-wheel_v1.avi", 0), ("brush_hair/brush_hair_v1.avi", 1)
    ]
    assert [record.relative_path for record in test] == ["cart-wheel/cart-wheel_v2.avi", "brush_hair/brush_hair_v2.avi"]
    assert normalise_class_name("Handstand-Push ups") == normalise_class_name("handstand_pushups") == "handstandpushups"


def test_the_lists_round_trip_through_read_video_list(hmdb, tmp_path):
    splits_dir, label_csv = hmdb
    written = write_official_split_lists("hmdb51", splits_dir, label_csv, tmp_path / "lists")
    create_videos(tmp_path / "videos", [split.train_file for split in written])
    for split in written:
        reread = read_video_list(split.train_file, tmp_path / "videos", num_classes=len(HMDB_NAMES))
        assert [(r.relative_path, r.label) for r in reread] == [(r.relative_path, r.label) for r in split.train]
        assert all(Path(record.source).is_file() for record in reread)


@pytest.mark.parametrize(
    "case, file, problem",
    [
        ("unknown_tag", "fall_floor_test_split2.txt",
         r"line 2: expected '<video>.avi <tag>' .* got 'fall_floor_v1.avi 3'"),
        ("no_tag", "cartwheel_test_split3.txt", r"line 1: expected '<video>.avi <tag>' .* got 'cartwheel_v0.avi'"),
        ("class_not_in_csv", "h.csv", r"1 class\(es\) of the HMDB-51 split files in .* are not in this labels CSV: "
         r"'jump' \(jump_test_split2.txt\)"),
        ("missing_class_file", "testTrainMulti_7030_splits", r"no split 3 file for 1 class\(es\) of the labels CSV "
         r".*h.csv': expected brush_hair_test_split3.txt"),
        ("two_files_of_one_class", "testTrainMulti_7030_splits", r"are split files of the same class"),
        ("missing_folder", "testTrainMulti_7030_splits", r"splits folder not found"),
        ("csv_names_clash", "h.csv", r"line 6: classes 'brush hair' and 'Brush-Hair' differ only in case"),
        ("in_training_and_test", "brush_hair_test_split2.txt", r"line 3: 'brush_hair/brush_hair_v0.avi' is listed "
         r"again: the split lists it at '.*brush_hair_test_split2.txt', line 1"),
        ("twice_in_training", "cartwheel_test_split3.txt", r"line 4: 'cartwheel/cartwheel_v1.avi' is listed again: "
         r"the split lists it at '.*cartwheel_test_split3.txt', line 2"),
        ("not_utf8", "cartwheel_test_split3.txt", r"line 2: is not UTF-8 text \(byte 0xe9 on that line\)"),
    ],
)
def test_bad_hmdb51_input_is_named_and_nothing_is_written(hmdb, tmp_path, case, file, problem):
    splits_dir, label_csv = hmdb
    if case == "unknown_tag":
        (splits_dir / file).write_text("fall_floor_v0.avi 1\nfall_floor_v1.avi 3\n")
    elif case == "no_tag":
        (splits_dir / file).write_text("cartwheel_v0.avi\n")
    elif case == "class_not_in_csv":
        (splits_dir / "jump_test_split2.txt").write_text("jump_v0.avi 1\n")
    elif case == "missing_class_file":
        (splits_dir / "brush_hair_test_split3.txt").unlink()
    elif case == "two_files_of_one_class":
        (splits_dir / "ride-bike_test_split1.txt").write_text("ride-bike_v0.avi 1\n")
    elif case == "missing_folder":
        splits_dir = tmp_path / "absent" / file
    elif case == "in_training_and_test":
        (splits_dir / file).write_text("brush_hair_v0.avi 2\nbrush_hair_v1.avi 0\nbrush_hair_v0.avi 1\n")
    elif case == "not_utf8":
        (splits_dir / file).write_bytes("cartwheel_v0.avi 1\ncaf\u00e9_v1.avi 2\n".encode("latin-1"))
    elif case == "twice_in_training":
        (splits_dir / file).write_text("cartwheel_v0.avi 2\ncartwheel_v1.avi 1\ncartwheel_v2.avi 0\n"
                                       "cartwheel_v1.avi 1\n")
    else:
        write_label_names([*HMDB_NAMES, "Brush-Hair"], label_csv)
    with pytest.raises(AnnotationError, match=problem) as error:
        write_official_split_lists("hmdb51", splits_dir, label_csv, tmp_path / "lists")
    assert Path(error.value.path).name == file
    assert not (tmp_path / "lists").exists()


# --------------------------------------------------------------------------------------------------- UCF-101


def test_ucf101_lists_take_the_class_of_the_folder_and_the_csv_row(ucf, tmp_path, caplog):
    splits_dir, label_csv = ucf
    with caplog.at_level(logging.WARNING):
        write_official_split_lists("ucf101", splits_dir, label_csv, tmp_path / "lists")
    assert (tmp_path / "lists" / "train_split2.txt").read_text() == (
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g03_c01.avi 0\nArchery/v_Archery_g03_c01.avi 1\n"
        "HandstandPushups/v_HandStandPushups_g03_c01.avi 2\nYoYo/v_YoYo_g03_c01.avi 3\n"
    )
    # Test lines carry no label: the class is the folder's, whatever the video's file name says.
    assert (tmp_path / "lists" / "test_split3.txt").read_text() == (
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g03_c01.avi 0\nArchery/v_Archery_g03_c01.avi 1\n"
        "HandstandPushups/v_HandStandPushups_g03_c01.avi 2\nYoYo/v_YoYo_g03_c01.avi 3\n"
    )
    # The CSV lists the classes in classInd.txt's order, so every label is also the classInd id - 1: no warning.
    assert not caplog.records


def test_ucf101_folders_written_in_another_case_are_still_their_class(ucf):
    """The official lists write folders as classInd.txt does; a hand-edited one may not."""
    splits_dir, label_csv = ucf
    (splits_dir / "trainlist01.txt").write_text("HANDSTANDPUSHUPS/v_HandStandPushups_g02_c01.avi 3\n")
    (splits_dir / "testlist01.txt").write_text(
        "HandStandPushups/v_HandStandPushups_g01_c01.avi\narchery/v_Archery_g01_c01.avi\n"
    )
    train, test = ucf101_split_lists(splits_dir, label_csv, split=1)
    assert [(record.relative_path, record.label) for record in train] == [
        ("HANDSTANDPUSHUPS/v_HandStandPushups_g02_c01.avi", 2)
    ]
    assert [record.label for record in test] == [2, 1]


def test_ucf101_labels_are_csv_rows_when_classind_numbers_differently(ucf, tmp_path, caplog):
    splits_dir, _ = ucf
    label_csv = write_label_names(["YoYo", "Archery", "HandstandPushups", "ApplyEyeMakeup"], tmp_path / "other.csv")
    with caplog.at_level(logging.WARNING):
        train, test = ucf101_split_lists(splits_dir, label_csv, split=1)
    assert [record.label for record in train] == [record.label for record in test] == [3, 1, 2, 0]
    assert "2 class id(s) (first: 1) are not their labels CSV row + 1; the lists use the CSV rows" in caplog.text


@pytest.mark.parametrize(
    "file, text, problem",
    [
        ("classInd.txt", None, r"split file not found"),
        ("trainlist02.txt", None, r"split file not found"),
        ("testlist03.txt", None, r"split file not found"),
        ("classInd.txt", "1 ApplyEyeMakeup\nArchery\n", r"line 2: expected '<class id> <ClassName>', got 'Archery'"),
        ("classInd.txt", "1 ApplyEyeMakeup\n² Archery\n",
         r"line 2: expected '<class id> <ClassName>', got '² Archery'"),
        ("classInd.txt", "".join(f"{i} {name}\n" for i, name in enumerate([*UCF_CLASSES, "Surfing"], start=1)),
         r"line 5: class 'Surfing' is not in the labels CSV .*u.csv'"),
        ("classInd.txt", "1 ApplyEyeMakeup\n2 Archery\n3 HandstandPushups\n",
         r"1 class\(es\) of the labels CSV .*u.csv' are not listed: 'YoYo'"),
        ("trainlist03.txt", "Archery/v_Archery_g01_c01.avi 2\nYoYo/v_YoYo_g01_c01.avi 7\n",
         r"line 2: class id 7 is not in classInd.txt"),
        ("trainlist02.txt", "Archery/v_Archery_g01_c01.avi\n",
         r"line 1: expected '<Class>/<video>.avi <class id>', got 'Archery/v_Archery_g01_c01.avi'"),
        ("trainlist03.txt", "Archery/v_Archery_g01_c01.avi ²\n",
         r"line 1: expected '<Class>/<video>.avi <class id>', got 'Archery/v_Archery_g01_c01.avi ²'"),
        ("trainlist03.txt",
         "Archery/v_Archery_g01_c01.avi 2\nYoYo/v_YoYo_g01_c01.avi 4\nArchery/v_Archery_g01_c01.avi 2\n",
         r"line 3: 'Archery/v_Archery_g01_c01.avi' is listed again: the split lists it at '.*trainlist03.txt', line 1"),
        ("testlist02.txt", "Archery/v_Archery_g02_c01.avi\nArchery/v_Archery_g03_c01.avi\n",
         r"line 2: 'Archery/v_Archery_g03_c01.avi' is listed again: the split lists it at '.*trainlist02.txt', line 2"),
        ("testlist03.txt", "YoYo/v_YoYo_g03_c01.avi\nArchery/v_Archery_g03_c01.avi\nYoYo/v_YoYo_g03_c01.avi\n",
         r"line 3: 'YoYo/v_YoYo_g03_c01.avi' is listed again: the split lists it at '.*testlist03.txt', line 1"),
        ("trainlist01.txt", "Archery/v_Archery_g01_c01.avi 1\n",
         r"line 1: 'Archery/v_Archery_g01_c01.avi' is not in the folder of class 1 of classInd.txt"),
        ("testlist02.txt", "Archery/v_Archery_g01_c01.avi 2\n",
         r"line 1: expected '<Class>/<video>.avi' \(no label\), got 'Archery/v_Archery_g01_c01.avi 2'"),
        ("testlist03.txt", "Archery/v_Archery_g01_c01.avi\nSurfing/v_Surfing_g01_c01.avi\n",
         r"line 2: 'Surfing/v_Surfing_g01_c01.avi' is not in the folder of a class of classInd.txt"),
        ("testlist01.txt", "v_Archery_g01_c01.avi\n", r"line 1: 'v_Archery_g01_c01.avi' is not in the folder"),
    ],
)
def test_bad_ucf101_input_is_named_and_nothing_is_written(ucf, tmp_path, file, text, problem):
    """`text` replaces the file (`None` deletes it); the bad file is in split 2 or 3 too, so reading splits stops
    before writing split 1."""
    splits_dir, label_csv = ucf
    if text is None:
        (splits_dir / file).unlink()
    else:
        (splits_dir / file).write_text(text, encoding="utf-8")
    with pytest.raises(AnnotationError, match=problem) as error:
        write_official_split_lists("ucf101", splits_dir, label_csv, tmp_path / "lists")
    assert Path(error.value.path).name == file
    assert not (tmp_path / "lists").exists()


# --------------------------------------------------------------------------------------------------- both


def test_a_byte_order_mark_is_not_read_as_part_of_the_first_line(hmdb, ucf):
    """An editor saving a split file or classInd.txt as "UTF-8 with BOM" puts U+FEFF before the first line."""
    splits_dir, label_csv = hmdb
    split_file = splits_dir / "ride_bike_test_split1.txt"
    split_file.write_text("\ufeff" + split_file.read_text(), encoding="utf-8")
    train, _ = hmdb51_split_lists(splits_dir, label_csv, split=1)
    assert train[0].relative_path == "ride_bike/ride_bike_v0.avi"

    splits_dir, label_csv = ucf
    class_index = splits_dir / "classInd.txt"
    class_index.write_text("\ufeff" + class_index.read_text(), encoding="utf-8")
    train, _ = ucf101_split_lists(splits_dir, label_csv, split=1)
    assert [record.label for record in train] == [0, 1, 2, 3]


def test_missing_videos_are_counted_and_the_first_ten_named(ucf, tmp_path):
    splits_dir, label_csv = ucf
    videos = tmp_path / "videos"
    write_official_split_lists("ucf101", splits_dir, label_csv, tmp_path / "all")
    create_videos(videos, sorted((tmp_path / "all").iterdir()))
    assert len(list(videos.rglob("*.avi"))) == 16  # groups 1-4 of four classes
    write_official_split_lists("ucf101", splits_dir, label_csv, tmp_path / "checked", video_root=videos)

    for video in sorted(videos.rglob("*_g0[234]_c01.avi")):
        video.unlink()
    with pytest.raises(FileNotFoundError) as error:
        write_official_split_lists("ucf101", splits_dir, label_csv, tmp_path / "lists", video_root=videos)
    message = str(error.value)
    assert message.startswith(f"12 of the 16 videos of the splits are not in the video folder '{videos}': ")
    assert message.endswith("ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi, ApplyEyeMakeup/v_ApplyEyeMakeup_g03_c01.avi, "
                            "ApplyEyeMakeup/v_ApplyEyeMakeup_g04_c01.avi, Archery/v_Archery_g02_c01.avi, "
                            "Archery/v_Archery_g03_c01.avi, Archery/v_Archery_g04_c01.avi, "
                            "HandstandPushups/v_HandStandPushups_g02_c01.avi, "
                            "HandstandPushups/v_HandStandPushups_g03_c01.avi, "
                            "HandstandPushups/v_HandStandPushups_g04_c01.avi, YoYo/v_YoYo_g02_c01.avi and 2 more")
    assert not (tmp_path / "lists").exists()
    with pytest.raises(FileNotFoundError, match="video folder .* does not exist"):
        write_official_split_lists("ucf101", splits_dir, label_csv, tmp_path / "lists", video_root=tmp_path / "gone")


def test_a_split_without_test_videos_and_an_unknown_dataset_are_refused(hmdb, tmp_path):
    splits_dir, label_csv = hmdb
    for path in splits_dir.glob("*_test_split2.txt"):
        path.write_text(path.read_text().replace(" 2 ", " 0 "))
    with pytest.raises(AnnotationError, match="split 2 has no test videos"):
        write_official_split_lists("hmdb51", splits_dir, label_csv, tmp_path / "lists")
    with pytest.raises(ValueError, match=r"Unknown dataset 'kinetics400'; expected one of \['hmdb51', 'ucf101'\]"):
        write_official_split_lists("kinetics400", splits_dir, label_csv, tmp_path / "lists")
    with pytest.raises(ValueError, match=r"numbered \(1, 2, 3\), got 4"):
        hmdb51_split_lists(splits_dir, label_csv, split=4)
    assert not (tmp_path / "lists").exists()


# --------------------------------------------------------------------------------------------------- command


def test_the_command_writes_the_lists_and_reports_them(hmdb, tmp_path, capsys):
    splits_dir, label_csv = hmdb
    output = tmp_path / "lists"
    videos = tmp_path / "videos"
    split1 = write_official_split_lists("hmdb51", splits_dir, label_csv, tmp_path / "all")[0]
    create_videos(videos, [split1.train_file, split1.test_file])
    argv = ["splits", "hmdb51", "--splits-dir", str(splits_dir), "--labels", str(label_csv), "--output", str(output)]
    status = xclip_main(argv)
    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        f"split {n}: 4 training and 4 test videos of 4 classes -> {output / f'train_split{n}.txt'}, "
        f"{output / f'test_split{n}.txt'}"
        for n in (1, 2, 3)
    ]
    assert (output / "test_split3.txt").read_text() == (tmp_path / "all" / "test_split3.txt").read_text()

    # Video 2 of each class (split 2's training and split 3's test videos) does not exist.
    status = xclip_main([*argv, "--video-root", str(videos), "--overwrite"])
    captured = capsys.readouterr()
    assert status == 1 and not captured.out
    assert captured.err == (
        f"error: 4 of the 12 videos of the splits are not in the video folder '{videos}': brush_hair/brush_hair_v2.avi,"
        " cartwheel/cartwheel_v2.avi, fall_floor/fall_floor_v2.avi, ride_bike/ride_bike_v2.avi\n"
    )


def test_the_command_reports_bad_input_in_one_line(ucf, tmp_path, capsys):
    splits_dir, label_csv = ucf
    (splits_dir / "testlist02.txt").unlink()
    status = xclip_main(["splits", "ucf101", "--splits-dir", str(splits_dir), "--labels", str(label_csv),
                         "--output", str(tmp_path / "lists")])
    assert status == 1
    assert capsys.readouterr().err == f"error: '{splits_dir / 'testlist02.txt'}': split file not found\n"
    assert not (tmp_path / "lists").exists()


def test_the_command_help_and_usage_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        xclip_main(["splits", "--help"])
    assert exit_info.value.code == 0
    assert "--splits-dir" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        xclip_main(["splits", "kinetics400", "--splits-dir", "s", "--labels", "l.csv", "--output", "o"])
    assert exit_info.value.code == 2
    assert "xclip splits: error: argument dataset: invalid choice: 'kinetics400'" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------- real labels


def original_label_csv(name):
    path = LABELS / name
    if not path.is_file():
        pytest.skip(f"the original's {name} is absent (the shared labels live at {LABELS}, next to the repository)")
    return path


def test_the_51_hmdb51_folders_get_the_original_csv_rows_of_their_names(tmp_path):
    """Split files named after the real dataset's folders (`HMDB51_FOLDERS`, not read from the CSV): each folder must
    get the row of the CSV whose name is the folder with spaces for underscores (the CSV is not in folder order:
    "kick ball" comes before "kick")."""
    label_csv = original_label_csv("hmdb_51_labels.csv")
    names = read_label_names(label_csv)
    assert len(HMDB51_FOLDERS) == len(set(HMDB51_FOLDERS)) == 51
    train, test = hmdb51_split_lists(write_hmdb_splits(tmp_path / "splits", HMDB51_FOLDERS), label_csv, split=1)
    label_of_folder = {record.relative_path.partition("/")[0]: record.label for record in train}
    assert label_of_folder == {folder: names.index(folder.replace("_", " ")) for folder in HMDB51_FOLDERS}
    assert sorted(label_of_folder.values()) == list(range(51))
    assert [record.label for record in test] == [record.label for record in train]


def test_the_original_ucf101_csv_is_alphabetical_so_an_alphabetical_classind_numbers_it_by_row(tmp_path, caplog):
    """The stored CSV lists its 101 classes in case-insensitive alphabetical order ("JumpingJack" before "JumpRope"),
    so when `classInd.txt` numbers the classes in that order too, every CSV row is the classInd id - 1 and no warning
    is given. The `classInd.txt` here is written from the CSV's own names: this checks the CSV's order, count and
    distinct keys, not the real `classInd.txt` (not stored here)."""
    label_csv = original_label_csv("ucf_101_labels.csv")
    names = read_label_names(label_csv)
    assert len(names) == 101 and "HandstandPushups" in names
    assert names == sorted(names, key=str.lower)
    with caplog.at_level(logging.WARNING):
        train, test = ucf101_split_lists(write_ucf_splits(tmp_path / "splits", names), label_csv, split=2)
    assert not caplog.records
    assert [record.label for record in train] == [record.label for record in test] == list(range(101))


def test_the_command_keeps_existing_lists_unless_overwrite(hmdb, tmp_path, capsys):
    splits_dir, label_csv = hmdb
    output = tmp_path / "lists"
    output.mkdir()
    (output / "test_split2.txt").write_text("my hand-written list\n")
    (output / "notes.txt").write_text("mine\n")
    argv = ["splits", "hmdb51", "--splits-dir", str(splits_dir), "--labels", str(label_csv), "--output", str(output)]

    status = xclip_main(argv)
    captured = capsys.readouterr()
    assert status == 1 and not captured.out
    assert captured.err == (
        f"error: The output folder '{output}' already holds split lists (test_split2.txt); pass --overwrite "
        "(overwrite=True) to replace them.\n"
    )
    assert sorted(path.name for path in output.iterdir()) == ["notes.txt", "test_split2.txt"]
    assert (output / "test_split2.txt").read_text() == "my hand-written list\n"

    assert xclip_main([*argv, "--overwrite"]) == 0
    assert (output / "test_split2.txt").read_text() != "my hand-written list\n"
    assert (output / "notes.txt").read_text() == "mine\n" and len(list(output.glob("*_split*.txt"))) == 6
    capsys.readouterr()
    with pytest.raises(SystemExit):
        xclip_main(["splits", "--help"])
    assert "--overwrite" in capsys.readouterr().out


@pytest.mark.parametrize("case", ["output_is_a_file", "output_under_a_file", "list_is_the_labels_csv"])
def test_the_command_refuses_an_output_it_cannot_write(hmdb, tmp_path, capsys, case):
    splits_dir, label_csv = hmdb
    if case == "output_is_a_file":
        output = tmp_path / "lists"
        output.write_text("a file\n")
        expected = f"error: The output folder '{output}' is a file, not a folder.\n"
    elif case == "output_under_a_file":
        (tmp_path / "file").write_text("a file\n")
        output = tmp_path / "file" / "lists"
        expected = (
            f"error: The output folder '{output}' cannot be created: '{tmp_path / 'file'}' is a file, not a folder.\n"
        )
    else:
        output = tmp_path / "lists"
        output.mkdir()
        moved = output / "train_split1.txt"
        moved.write_bytes(label_csv.read_bytes())
        label_csv = moved
        expected = f"error: The split list '{moved}' would be written over the labels CSV.\n"
    before = {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()}

    argv = ["splits", "hmdb51", "--splits-dir", str(splits_dir), "--labels", str(label_csv), "--output", str(output)]
    status = xclip_main([*argv, "--overwrite"])

    assert status == 1
    assert capsys.readouterr().err == expected
    assert {path: path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()} == before
