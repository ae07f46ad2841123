"""Atomic writes of files and folders: a crash or a failure never leaves a half-written one where a reader looks;
and the file that keeps an output folder from being created is found before any work."""

import os
import stat

import pytest

from xclip.files import file_blocking_folder, replace_folder, staged_folder, staging_folder_of, write_text_atomically


def make_folder(path, **files):
    path.mkdir()
    for name, text in files.items():
        (path / name).write_text(text)
    return path


def test_replace_folder_swaps_in_the_new_folder_and_restores_the_old_one_on_failure(tmp_path):
    final = make_folder(tmp_path / "model", **{"old.txt": "old"})
    new = make_folder(tmp_path / ".model.partial", **{"new.txt": "new"})
    assert replace_folder(new, final) == final
    assert [path.name for path in tmp_path.iterdir()] == ["model"] and (final / "new.txt").read_text() == "new"
    with pytest.raises(OSError):
        replace_folder(tmp_path / "missing", final)
    assert [path.name for path in tmp_path.iterdir()] == ["model"] and (final / "new.txt").is_file()


def test_staged_folder_replaces_the_previous_folder_once_complete(tmp_path):
    final = make_folder(tmp_path / "model", **{"old.txt": "old"})
    with staged_folder(final) as staging:
        assert staging == staging_folder_of(final) and list(staging.iterdir()) == []
        (staging / "new.txt").write_text("new")
        assert (final / "old.txt").is_file()  # untouched until the block succeeds
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert [path.name for path in final.iterdir()] == ["new.txt"]
    with staged_folder(tmp_path / "nested" / "first") as staging:
        (staging / "a.txt").write_text("a")
    assert (tmp_path / "nested" / "first" / "a.txt").is_file()


def test_a_failing_save_leaves_the_previous_folder_and_no_staging_folder(tmp_path):
    final = make_folder(tmp_path / "model", **{"old.txt": "old"})
    with pytest.raises(OSError, match="disk full"):
        with staged_folder(final) as staging:
            (staging / "half.txt").write_text("half written")
            raise OSError("disk full")
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert [path.name for path in final.iterdir()] == ["old.txt"]


def test_a_staging_folder_left_by_a_killed_process_is_replaced(tmp_path):
    make_folder(staging_folder_of(tmp_path / "model"), **{"half.txt": "half written"})
    with staged_folder(tmp_path / "model") as staging:
        (staging / "new.txt").write_text("new")
    assert [path.name for path in tmp_path.iterdir()] == ["model"]
    assert [path.name for path in (tmp_path / "model").iterdir()] == ["new.txt"]


def test_the_file_in_the_way_of_a_folder_is_itself_or_its_nearest_existing_parent(tmp_path):
    (tmp_path / "file").write_text("a file")
    assert file_blocking_folder(tmp_path) is None
    assert file_blocking_folder(tmp_path / "new" / "deeper") is None
    assert file_blocking_folder(tmp_path / "file") == tmp_path / "file"
    assert file_blocking_folder(tmp_path / "file" / "new" / "deeper") == tmp_path / "file"
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    assert file_blocking_folder(tmp_path / "dangling" / "new") == tmp_path / "dangling"


@pytest.mark.skipif(os.name != "posix", reason="file modes and the umask are POSIX")
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600)])
def test_a_file_written_atomically_gets_the_umasks_mode_like_open(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = write_text_atomically(tmp_path / "metrics.json", "{}")
    finally:
        os.umask(previous)
    assert path.read_text() == "{}" and stat.S_IMODE(path.stat().st_mode) == mode
    assert [entry.name for entry in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left
