r"""Evaluate an X-CLIP model on a labelled video list, without writing a config: zero-shot on your own classes, or a
trained model on its test set.

    xclip evaluate --model microsoft/xclip-base-patch32 --list val.txt --root videos --labels labels.csv \
        --output runs/eval
    xclip evaluate --model runs/k400_32_8/best_model --list k400/val.txt --root k400/videos \
        --labels kinetics_400_labels.csv --views 4x3 --output runs/k400_test    # the original's 4 x 3-view test

The list and labels are the original's formats: `<path relative to --root> <label>` lines (or a .json list), and the
`id,name` CSV whose names are the class texts. Frames per clip and frame size are the model's. Each video is sampled
as the original tests, in --views clips x crops whose softmax probabilities are summed. --output gets metrics.json
(top-1, top-5, mean class accuracy, per-class accuracy, the count of unreadable videos, which are left out),
val_per_class.csv, val_confusion.png and log.txt, as `xclip train --only_test` writes them; this is that run with
the config filled in from the model and the files. --opts sets any other key of the training config, and wins over
what the command reads from the model and labels (e.g. `--opts DATA.NUM_FRAMES 16 MODEL.RESIZE_FRAMES True` runs an
8-frame model on 16). On several GPUs: `accelerate launch --multi_gpu --num_processes 8 -m xclip evaluate ...`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from ..cli import int_at_least, model_load_error, subcommand_parser
from ..data import read_label_names
from ..model_source import load_checked_config
from ..modeling import XCLIPConfig, XCLIPModel
from .config import ConfigError, ExperimentConfig, load_config
from .run import add_runtime_arguments, check_output_folder, check_training_extras, run

__all__ = ["config_from_args", "main", "parse_args"]


def views(text: str) -> tuple[int, int]:
    """`"4x3"` -> (4 clips, 3 crops)."""
    clips, separator, crops = text.lower().partition("x")
    if not (separator and clips.isdigit() and crops.isdigit()):
        raise argparse.ArgumentTypeError(f"expected CLIPSxCROPS, e.g. 1x1 or 4x3; got {text!r}")
    return int(clips), int(crops)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = subcommand_parser("evaluate", __doc__)
    parser.add_argument("--model", required=True, help="X-CLIP model folder or Hub id (MODEL.PRETRAINED)")
    parser.add_argument("--list", required=True, help="the labelled video list (DATA.VAL_FILE)")
    parser.add_argument("--labels", required=True, help="the classes' id,name CSV (DATA.LABEL_LIST)")
    parser.add_argument(
        "--root", default=".", help="the folder the list's paths are relative to (DATA.ROOT; default: the current one)"
    )
    parser.add_argument("--output", required=True, help="folder for metrics.json and the reports (OUTPUT)")
    parser.add_argument(
        "--views", type=views, default=(1, 1), metavar="CLIPSxCROPS",
        help="clips x crops per video (TEST.NUM_CLIP x TEST.NUM_CROP; crops 1 or 3): 1x1 (default) or the "
        "original's final test, 4x3",
    )
    parser.add_argument(
        "--batch-size", type=int_at_least(1),
        help="videos per batch for one view, fewer with several (TRAIN.BATCH_SIZE; default 8)",
    )
    parser.add_argument(
        "--num-workers", type=int_at_least(0), help="processes decoding videos (DATA.NUM_WORKERS; default 8)"
    )
    parser.add_argument(
        "--overwrite_output", action="store_true",
        help="replace a training run in --output, deleting its checkpoints and best model (OVERWRITE_OUTPUT; an "
        "earlier evaluation's reports are replaced without it)",
    )
    parser.add_argument(
        "--opts", nargs="+", default=[], metavar="KEY VALUE", help="any other config key (TEST.ONLY_TEST is set)"
    )
    add_runtime_arguments(parser, default_tracker="none")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """The training config of `xclip train --only_test` for `args`: the flags' keys, and the frame count and size read
    from the model and the class count from the labels, which `--opts` may set otherwise (it may not set the flags').

    Raises:
        ConfigError: the model cannot be loaded (a missing or broken folder, a Hub id that cannot be reached), a key
            of `--opts` is unknown, has a wrong value or is a flag's, or the output folder cannot be written.
        AnnotationError: the labels CSV is missing or malformed.
    """
    clips, crops = args.views
    flags = {
        "MODEL.PRETRAINED": args.model,
        "DATA.VAL_FILE": args.list,
        "DATA.ROOT": args.root,
        "DATA.LABEL_LIST": args.labels,
        "TEST.NUM_CLIP": clips,
        "TEST.NUM_CROP": crops,
        "TEST.ONLY_TEST": True,
        "TRAIN.BATCH_SIZE": args.batch_size,
        "DATA.NUM_WORKERS": args.num_workers,
        "OUTPUT": args.output,
        "OVERWRITE_OUTPUT": args.overwrite_output,
    }
    given_in_opts = set(args.opts[::2])
    if given_in_opts & flags.keys():
        raise ConfigError(
            f"--opts {', '.join(sorted(given_in_opts & flags.keys()))}: set by this command's own flags here "
            "(--help names the key of each)."
        )
    try:
        vision_config = load_checked_config(args.model, XCLIPConfig, XCLIPModel).vision_config
    except (OSError, ValueError) as error:
        raise ConfigError(f"--model: {model_load_error(args.model, error)}") from error
    derived = {
        "DATA.NUM_CLASSES": len(read_label_names(args.labels)),
        "DATA.NUM_FRAMES": vision_config.num_frames,
        "DATA.INPUT_SIZE": vision_config.image_size,
    }
    overrides = {key: value for key, value in derived.items() if key not in given_in_opts}
    overrides.update((key, value) for key, value in flags.items() if value is not None)
    config = load_config(None, args.opts, **overrides)
    check_output_folder(config)
    return config


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs `xclip evaluate` with `argv` (the command line when None); returns what it writes to metrics.json."""
    check_training_extras()
    args = parse_args(argv)
    return run(config_from_args(args), args)
