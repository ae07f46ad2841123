"""Every Python example of the README runs as written, and gives the shapes and outputs its comments promise; every
command it shows parses, and the training commands' configs and overrides load.

The examples name Hub checkpoints and user folders; here they all load a tiny random X-CLIP saved with the published
geometry's frame count and crop (8 frames, 224 px), and the videos they name are small generated ones. Nothing else
of an example's text is changed, except in the GPU example on a machine without one (see its test).
"""

import ast
import re
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch

from xclip import cli
from xclip.conversion import command as convert_command
from xclip.data import prepare_command, splits_command
from xclip.modeling import XCLIPConfig, XCLIPModel
from xclip.processing import build_processor
from xclip.training import evaluate_command, run as train_command
from xclip.training.config import load_config
from xclip.training.toy import make_motion_dataset
from xclip.video.synthetic import moving_texture_frames, write_video

REPOSITORY = Path(__file__).resolve().parents[1]
README = REPOSITORY / "README.md"
MODEL_NAMES = ("microsoft/xclip-base-patch32", "path/to/xclip-folder")
NUM_FRAMES, IMAGE_SIZE = 8, 224  # what the examples' shape comments show
# `name = ...  # [2, 8, 3, 224, 224]`: the shape the comment promises for `name`.
ASSIGNED_SHAPE = re.compile(r"^\s*(\w+) = .*#\s*\[(\d+(?:, \d+)*)\]")
# `expression  # torch.Size([4, 8, 3, 224, 224]), ...`: the shape the expression gives (its first element when it is
# a tuple).
EVALUATED_SHAPE = re.compile(r"^\s*([^#=]+?)\s*#\s*torch\.Size\(\[(\d+(?:, \d+)*)\]\)")


def readme_examples(language: str = "python") -> dict[str, str]:
    """The README's ```python (or other `language`) blocks, by the heading of the section they stand in, numbered
    within it."""
    examples, heading, block = {}, "", None
    for line in README.read_text().splitlines():
        if block is None and line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif block is None and line.strip() == f"```{language}":
            block = []
        elif block is not None and line.strip() == "```":
            repeats = sum(name.startswith(heading) for name in examples)
            name = heading if heading not in examples else f"{heading} ({repeats + 1})"
            examples[name] = "\n".join(block)
            block = None
        elif block is not None:
            block.append(line)
    return examples


EXAMPLES = readme_examples()


def example(heading: str, number: int = 1) -> str:
    return EXAMPLES[heading if number == 1 else f"{heading} ({number})"]


def run(source: str, namespace: dict) -> object:
    """Runs an example in `namespace`, and returns the value of its last line when that line is an expression."""
    module = ast.parse(source)
    last = module.body[-1] if isinstance(module.body[-1], ast.Expr) else None
    if last is not None:
        module.body.pop()
    exec(compile(module, "README.md", "exec"), namespace)
    return None if last is None else eval(compile(ast.Expression(last.value), "README.md", "eval"), namespace)


def assert_commented_shapes(source: str, namespace: dict) -> int:
    """Checks every shape an example's comments promise; returns how many were checked."""
    checked = 0
    for line in source.splitlines():
        if match := ASSIGNED_SHAPE.match(line):
            shape = namespace[match.group(1)].shape
        elif match := EVALUATED_SHAPE.match(line):
            shape = eval(match.group(1), namespace)
            shape = shape[0] if isinstance(shape, tuple) and not isinstance(shape, torch.Size) else shape
        else:
            continue
        assert list(shape) == [int(size) for size in match.group(2).split(", ")], line
        checked += 1
    return checked


def assert_ranked_predictions(predictions: list[dict], labels: list[str], top_k: int | None = None) -> None:
    assert [p["label"] for p in predictions] != [] and {p["label"] for p in predictions} <= set(labels)
    assert len(predictions) == (top_k or len(labels))
    scores = [p["score"] for p in predictions]
    assert scores == sorted(scores, reverse=True)
    if top_k is None:
        assert sum(scores) == pytest.approx(1.0, abs=1e-5)


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory) -> str:
    """A tiny random X-CLIP with the published geometry's 8 frames and 224-pixel crops, and its processor."""
    config = XCLIPConfig(
        projection_dim=32,
        prompt_layers=1,
        text_config=dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=1),
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_attention_heads=2, num_hidden_layers=1, image_size=IMAGE_SIZE,
            patch_size=32, num_frames=NUM_FRAMES, mit_hidden_size=32, mit_intermediate_size=64, mit_num_hidden_layers=1,
        ),
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("xclip-folder")
    XCLIPModel(config).save_pretrained(folder)
    build_processor(image_size=IMAGE_SIZE, num_frames=NUM_FRAMES).save_pretrained(folder)
    return str(folder)


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """The current folder of an example: the videos it names are there, and what it writes goes there."""
    for seed, name in enumerate(("bikes.mp4", "kitchen.mp4")):
        write_video(tmp_path / name, moving_texture_frames(20, 48, 64, seed=seed))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def on_tiny_model(source: str, model_folder: str) -> str:
    for name in MODEL_NAMES:
        source = source.replace(f'"{name}"', repr(model_folder))
    return source


def test_every_python_block_of_the_readme_is_tested():
    tested = {"Classify a video in a few lines", "Classify a video in a few lines (2)",
              "Zero-shot classification in Python", "Zero-shot classification in Python (2)", "Throughput on a GPU",
              "Coming from transformers' x_clip", "The data pipeline in your own loop"}
    assert set(EXAMPLES) == tested


def test_classify_a_video_in_a_few_lines(model_folder, workdir):
    source = example("Classify a video in a few lines")
    predictions = run(on_tiny_model(source, model_folder), {})
    assert_ranked_predictions(predictions, ["riding a bike", "playing guitar", "cooking"])


def test_encode_the_labels_once_then_score_videos(model_folder, workdir):
    source = on_tiny_model(example("Classify a video in a few lines", 2), model_folder)
    namespace = {}
    run(source, namespace)
    assert assert_commented_shapes(source, namespace) == 2
    assert torch.allclose(namespace["probs"].sum(-1), torch.ones(2))


def test_zero_shot_pipeline_on_a_folder(model_folder, workdir):
    source = example("Zero-shot classification in Python")
    predictions = run(on_tiny_model(source, model_folder), {})
    assert_ranked_predictions(predictions, ["riding a bike", "playing guitar", "cooking"])


def test_a_saved_classifier_in_the_video_classification_pipeline(model_folder, workdir):
    source = example("Zero-shot classification in Python", 2)
    predictions = run(on_tiny_model(source, model_folder), {})
    assert_ranked_predictions(predictions, ["riding a bike", "playing guitar", "cooking"], top_k=2)
    assert (workdir / "my-classifier" / "config.json").is_file()


def test_the_throughput_example(model_folder, workdir, monkeypatch):
    """On a machine without a GPU the example runs on the CPU, and without compiling (which needs a C++ toolchain and
    minutes here); the GPU benchmark runs it compiled on CUDA."""
    source = on_tiny_model(example("Throughput on a GPU"), model_folder)
    if not torch.cuda.is_available():
        source = source.replace('"cuda"', '"cpu"')
        monkeypatch.setattr(torch, "compile", lambda model, **kwargs: model)
    namespace = {"batches": [["bikes.mp4", "kitchen.mp4"], ["kitchen.mp4"]]}
    run(source, namespace)
    probs = namespace["probs"]  # the last batch's
    assert probs.shape == (1, 3) and probs.dtype == torch.bfloat16
    assert torch.allclose(probs.float().sum(-1), torch.ones(1), atol=1e-2)


def test_the_migration_examples_before_and_after_both_run(model_folder, workdir):
    """The migration example: transformers' processor on frames sampled by hand, then xclip's on the files. Their
    probabilities are not compared: the halves score other inputs, preprocessed by other recipes (README's table);
    test_modeling.py compares the two models on the same inputs."""
    source = on_tiny_model(example("Coming from transformers' x_clip"), model_folder)
    before, after = source.split("# After:")
    video = list(moving_texture_frames(NUM_FRAMES, 48, 64, seed=0))
    namespace = {"video": video}
    run(before, namespace)
    transformers_probs = namespace["probs"]
    run("# After:" + after, namespace)
    assert assert_commented_shapes(after, namespace) == 2
    assert transformers_probs.shape == (1, 3)
    assert torch.allclose(namespace["probs"].sum(-1), torch.ones(2))


def test_the_data_pipeline_in_your_own_loop(workdir):
    make_motion_dataset("toy", videos_per_class=2, num_frames=16, size=32)
    source = example("The data pipeline in your own loop")
    namespace = {}
    run(source, namespace)
    assert assert_commented_shapes(source, namespace) == 2
    assert namespace["batch"]["labels"].shape == (4,)
    assert set(np.unique(namespace["batch"]["labels"].numpy())) <= set(range(4))


# The programs the README's commands run, by how a command line starts, and the function that parses their arguments.
PROGRAMS = {
    "xclip classify": lambda argv: cli.build_parser().parse_args(["classify", *argv]),
    "xclip convert": convert_command.parse_args,
    "python scripts/convert_original_checkpoint.py": convert_command.parse_args,
    "xclip prepare": prepare_command.parse_args,
    "xclip splits": splits_command.parse_args,
    "xclip train": train_command.parse_args,
    "xclip evaluate": evaluate_command.parse_args,
    "python scripts/train.py": train_command.parse_args,
}
# Where a command runs another program that starts one of ours: `accelerate launch [its options] scripts/train.py`.
LAUNCHERS = {"accelerate launch": "python scripts/train.py"}


def readme_commands() -> list[tuple[str, list[str]]]:
    """Each command line of the README's ```bash blocks that runs one of the package's programs: (program, its
    arguments). Continued lines are joined; comments, `make` and `python -c` lines are left out."""
    commands = []
    for block in readme_examples("bash").values():
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # an environment variable for the command
                words = words[1:]
            text = " ".join(words)
            for launcher, program in LAUNCHERS.items():
                if text.startswith(launcher):
                    words = program.split() + words[words.index("scripts/train.py") + 1:]
                    text = " ".join(words)
            program = next((name for name in PROGRAMS if text.startswith(name + " ")), None)
            if program is not None:
                commands.append((program, words[len(program.split()):]))
            else:
                assert not words or words[0] in ("make", "python") and words[1] in ("demo", "test", "-c"), line
    return commands


COMMANDS = readme_commands()


def test_the_readme_shows_each_program():
    assert {program for program, _ in COMMANDS} == set(PROGRAMS)


@pytest.mark.parametrize(("program", "argv"), COMMANDS, ids=[" ".join([p, *a])[:70] for p, a in COMMANDS])
def test_each_readme_command_parses_and_its_config_loads(program, argv, monkeypatch):
    args = PROGRAMS[program](argv)
    if PROGRAMS[program] is train_command.parse_args and args.config != "my_config.yaml":
        monkeypatch.chdir(REPOSITORY)  # the commands name configs/ relative to the repository
        config = load_config(args.config, args.opts)
        assert config.DATA.NUM_FRAMES > 0
