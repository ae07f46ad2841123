"""Bad input to the converter: a one-line error naming the file and the problem, exit code 1, nothing written."""

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import torchvision

from xclip.conversion import ConversionError, convert_original_checkpoint, load_original_state_dict
from xclip.conversion.output_folder import check_output_folder

from test_conversion import load_cli

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "convert_original_checkpoint.py"
FIXTURE = REPO.parent / "shared" / "fixtures" / "original_tiny.pth"

needs_fixture = pytest.mark.skipif(
    not FIXTURE.exists(), reason=f"needs the original-format fixture {FIXTURE} (the shared folder next to the repo)"
)


def fixture_weights() -> dict[str, torch.Tensor]:
    return load_original_state_dict(FIXTURE)


def edited_fixture(edit: Callable[[dict[str, torch.Tensor]], None]) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        weights = fixture_weights()
        edit(weights)
        torch.save({"model": weights}, path)

    return write


def resnet_state_dict(path: Path) -> None:
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)


def clip_only(path: Path) -> None:
    weights = fixture_weights()
    torch.save({name: tensor for name, tensor in weights.items() if not name.startswith(("mit.", "prompts_"))}, path)


FILE_CASES = {
    "random-bytes": (lambda path: path.write_bytes(os.urandom(4096)), "not a readable PyTorch checkpoint"),
    "text-file": (lambda path: path.write_text("epoch,accuracy\n1,80.4\n"), "not a readable PyTorch checkpoint"),
    "empty-file": (lambda path: path.write_bytes(b""), "empty file"),
    "truncated": (lambda path: path.write_bytes(FIXTURE.read_bytes()[:200_000]), "or truncated"),
    "a-list": (lambda path: torch.save([torch.zeros(2)], path), "no state dict found"),
    "resnet": (resnet_state_dict, "not an X-CLIP state dict: .*'conv1.weight'"),
    "clip-only": (clip_only, "use.*from_clip|from_clip instead"),
    "wrong-shape": (
        edited_fixture(lambda w: w.update({"visual.transformer.resblocks.1.mlp.c_fc.weight": torch.zeros(767, 192)})),
        r"1 weight\(s\) with the wrong shape: 'visual.transformer.resblocks.1.mlp.c_fc.weight' has shape \[767, 192\], "
        r"the model needs \[768, 192\]",
    ),
    "wrong-qkv-shape": (
        edited_fixture(lambda w: w.update({"mit.resblocks.0.attn.in_proj_weight": torch.zeros(383, 128)})),
        r"'mit.resblocks.0.attn.in_proj_weight' has shape \[383, 128\], expected 3 \* width rows",
    ),
    "missing-weight": (
        edited_fixture(lambda w: w.pop("visual.ln_post.bias")),
        r"1 model weight\(s\) not in the checkpoint: 'vision_model.post_layernorm.bias'",
    ),
    "extra-weight": (
        edited_fixture(lambda w: w.update({"visual.head.weight": torch.zeros(3)})),
        r"1 checkpoint weight\(s\) with no place in the model: 'visual.head.weight'",
    ),
    # The decoder rows map any name, so the model's weight list is what must reject this one.
    "extra-decoder-weight": (
        edited_fixture(lambda w: w.update({"prompts_generator.decoder.0.extra": torch.zeros(3)})),
        r"1 checkpoint weight\(s\) with no place in the model: 'prompts_generator.decoder.0.extra'",
    ),
    "non-tensor-entry": (
        edited_fixture(lambda w: w.update({"logit_scale": 4.6})),
        "entry 'logit_scale' is a float, not a tensor",
    ),
}


@needs_fixture
@pytest.mark.parametrize("case", list(FILE_CASES))
def test_bad_checkpoint_gives_one_line_error_and_writes_nothing(case, tmp_path, capsys):
    write, message = FILE_CASES[case]
    checkpoint = tmp_path / f"{case}.pth"
    write(checkpoint)

    exit_code = load_cli().main(["--checkpoint", str(checkpoint), "--output", str(tmp_path / "out")])

    stderr = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in stderr if line.startswith("error: ")]
    assert exit_code == 1
    assert len(errors) == 1 and "Traceback" not in "\n".join(stderr)
    assert errors[0].startswith(f"error: {checkpoint}: ")
    assert re.search(message, errors[0]), errors[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == [checkpoint.name]


def test_missing_checkpoint(tmp_path):
    with pytest.raises(ConversionError, match=r"nowhere\.pth: no such file$"):
        convert_original_checkpoint(tmp_path / "nowhere.pth", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


@needs_fixture
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("title\nabseiling\n", "the header must name the columns 'id,name'"),
        ("id,name\n0,a\n1,\n", "line 3: empty class name"),
        ("id,name\n0,a\n1,   \n", "line 3: empty class name"),
        ("id,name\n0,a\n1,a\n", "line 3: class name 'a' already appears on line 2"),
        ("id,name\n", "has a header but no classes"),
    ],
    ids=["no-header", "empty-name", "blank-name", "duplicate", "no-rows"],
)
def test_bad_labels_file_is_named_before_any_work(content, message, tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text(content)
    with pytest.raises(ConversionError, match=f"labels.csv'?[,:].*{re.escape(message)}"):
        convert_original_checkpoint(FIXTURE, tmp_path / "out", labels_csv=labels)
    assert not (tmp_path / "out").exists()


def test_zero_heads_is_a_usage_error_not_the_default(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_cli().main(["--checkpoint", "k400_32_8.pth", "--output", str(tmp_path / "out"), "--vision-heads", "0"])
    assert exit_info.value.code == 2
    assert "argument --vision-heads: must be a positive integer, got 0" in capsys.readouterr().err


@needs_fixture
def test_heads_that_do_not_divide_the_width(tmp_path, capsys):
    arguments = ["--checkpoint", str(FIXTURE), "--output", str(tmp_path / "out"), "--vision-heads", "5"]
    exit_code = load_cli().main(arguments)
    assert exit_code == 1
    assert "vision_heads=5 does not divide vision_width=192" in capsys.readouterr().err


def test_output_path_that_is_a_file(tmp_path):
    (tmp_path / "out").write_text("")
    with pytest.raises(ConversionError, match="out: is a file, not a folder"):
        convert_original_checkpoint(FIXTURE, tmp_path / "out")


def test_output_path_below_a_file(tmp_path):
    (tmp_path / "runs").write_text("")
    with pytest.raises(ConversionError, match=r"out: cannot be created: '.*runs' is a file, not a folder"):
        check_output_folder(tmp_path / "runs" / "out", overwrite=False)


def test_command_line_prints_no_traceback(tmp_path):
    checkpoint = tmp_path / "notes.pth"
    checkpoint.write_text("not a checkpoint\n")

    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--checkpoint", str(checkpoint), "--output", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stderr.strip().startswith(f"error: {checkpoint}: not a readable PyTorch checkpoint")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@needs_fixture
@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("where", ["output", "subfolder"])
def test_checkpoint_inside_the_output_folder_is_refused(where, overwrite, tmp_path, capsys):
    output = tmp_path / "self"
    checkpoint = (output if where == "output" else output / "a") / "ck.pth"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.write_bytes(FIXTURE.read_bytes())
    (output / "notes.txt").write_text("mine")
    before = tree(tmp_path)

    arguments = ["--checkpoint", str(checkpoint), "--output", str(output)] + ["--overwrite"] * overwrite
    exit_code = load_cli().main(arguments)

    error = capsys.readouterr().err.strip()
    assert exit_code == 1
    assert error == (
        f"error: {checkpoint}: the checkpoint lies inside the output folder {output}, which the conversion replaces "
        "as a whole; choose another output folder"
    )
    assert tree(tmp_path) == before


@needs_fixture
def test_labels_file_inside_the_output_folder_is_refused(tmp_path, capsys):
    output = tmp_path / "out"
    convert_original_checkpoint(FIXTURE, output)
    labels = output / "labels.csv"
    labels.write_text("id,name\n0,a\n1,b\n")
    before = tree(tmp_path)

    arguments = ["--checkpoint", str(FIXTURE), "--output", str(output), "--labels", str(labels), "--overwrite"]
    exit_code = load_cli().main(arguments)

    assert exit_code == 1
    assert f"error: {labels}: the labels file lies inside the output folder {output}" in capsys.readouterr().err
    assert tree(tmp_path) == before


@needs_fixture
@pytest.mark.parametrize(
    "config", [None, "not json", '{"model_type": "bert"}', "[1, 2]"], ids=["no-config", "bad-json", "bert", "list"]
)
def test_overwrite_refuses_a_folder_that_is_not_a_previous_conversion(config, tmp_path, capsys):
    output = tmp_path / "project"
    output.mkdir()
    (output / "notes.txt").write_text("mine")
    if config is not None:
        (output / "config.json").write_text(config)
    before = tree(tmp_path)

    exit_code = load_cli().main(["--checkpoint", str(FIXTURE), "--output", str(output), "--overwrite"])

    error = capsys.readouterr().err
    assert exit_code == 1
    assert error.startswith(f"error: {output}: folder is not empty and is not a previous conversion") and (
        error.count("\n") == 1
    )
    assert tree(tmp_path) == before
