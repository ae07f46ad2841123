"""The `xclip` command: classify videos against label strings, convert original checkpoints, prepare a dataset, convert
the official HMDB-51 / UCF-101 splits, train, evaluate a model on a labelled list.

    xclip classify bikes.mp4 cooking.mp4 --labels "riding a bike,cooking,playing guitar" --model DIR_OR_HUB_ID
    xclip classify clips/*.mp4 --labels-file kinetics_400_labels.csv --model DIR --top-k 5 --json
    xclip convert --checkpoint k400_32_8.pth --output xclip-base-patch32   # scripts/convert_original_checkpoint.py
    xclip prepare --input-root VIDEOS --output-root VIDEOS_256 --lists train.txt val.txt  # scripts/prepare_videos.py
    xclip splits hmdb51 --splits-dir testTrainMulti_7030_splits --labels hmdb_51_labels.csv --output LISTS
    xclip train ...                                                         # xclip.training
    xclip evaluate --model DIR_OR_HUB_ID --list val.txt --root VIDEOS --labels labels.csv --output runs/eval

Problems with the input (a missing video, no labels, a model that cannot be loaded) end the command with a one-line
`error: ...` on stderr and exit status 1; a video that cannot be decoded gets such a line while the others are still
scored, and the status is 1. Usage errors exit with status 2.
"""

import argparse
import contextlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .model_source import ModelFolderError, check_model_folder, load_checked_config
from .text_utils import first_line, short_first_line

__all__ = ["int_at_least", "main", "model_load_error", "read_label_file", "subcommand_parser"]

EXIT_OK, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 130
# Subcommands whose arguments belong to another program's parser, passed on untouched (`--help` included).
FORWARDED_COMMANDS = ("convert", "prepare", "splits", "train", "evaluate")

# Set (to anything non-empty) to see the traceback behind a one-line error.
TRACEBACK_VARIABLE = "XCLIP_TRACEBACK"
OFFLINE_VARIABLE = "HF_HUB_OFFLINE"  # huggingface_hub's: use the local cache only, without trying to connect


class CommandError(Exception):
    """A problem with the command's input, reported as one line without a traceback."""


def subcommand_parser(name: str, doc: str) -> argparse.ArgumentParser:
    """The parser of `xclip <name>`, whose usage line and errors name the subcommand (also when its script in
    `scripts/` runs it). `doc`'s first paragraph is the description; the rest, e.g. examples, is the epilog, shown as
    written."""
    description, _, epilog = doc.strip().partition("\n\n")
    return argparse.ArgumentParser(
        prog=f"xclip {name}",
        description=description,
        epilog=epilog or None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def read_label_file(path: str | os.PathLike) -> list[str]:
    """Class names from a file: the original's `id,name` CSV (`.csv`), or one label per line (anything else).

    In a text file, blank lines and lines starting with `#` are skipped.

    Raises:
        CommandError: the file is missing or unreadable, or malformed (see `xclip.data.read_label_names`).
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        from .data import read_label_names

        try:
            return read_label_names(path)
        except ValueError as error:
            raise CommandError(str(error)) from error
    try:
        # utf-8-sig: a byte order mark (Windows editors write one) is not part of the first label.
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such labels file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"{path}: unreadable labels file ({error})") from error
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _labels_from_args(args: argparse.Namespace) -> list[str] | None:
    """The labels of `--labels` or `--labels-file`, checked; None when neither is given."""
    from .processing.label_texts import check_hypothesis_template, check_labels

    try:
        check_hypothesis_template(args.template)
    except ValueError as error:
        raise CommandError(f"--template: {error}") from error
    if args.labels_file is not None:
        labels, source = read_label_file(args.labels_file), str(args.labels_file)
    elif args.labels is not None:
        labels, source = [label.strip() for label in args.labels.split(",") if label.strip()], "--labels"
    else:
        return None
    if not labels:
        raise CommandError(f"{source} gives no labels; pass at least one class name")
    try:
        return check_labels(labels)
    except ValueError as error:
        raise CommandError(f"{source}: {error}") from error


def _check_videos(videos: Sequence[str]) -> None:
    """Fail before loading the model when a local video is missing."""
    from .pipelines.video_inputs import URL_SCHEMES

    for video in videos:
        if video.startswith(URL_SCHEMES):
            continue
        path = Path(video)
        if not path.exists():
            raise CommandError(f"video {video!r}: no such file")
        if not path.is_file():
            raise CommandError(f"video {video!r}: not a file")


def _check_device(device: str | None) -> None:
    """Fail before loading the model when `--device` names no torch device, or one this machine does not have."""
    if device is None:
        return
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise CommandError(f"--device {device}: not a torch device (e.g. cpu, cuda, cuda:1, mps)") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise CommandError(f"--device {device}: no CUDA device is available")
        count = torch.cuda.device_count()
        if parsed.index is not None and parsed.index >= count:
            raise CommandError(f"--device {device}: this machine has {count} CUDA device(s), numbered from 0")
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise CommandError(f"--device {device}: no MPS device is available")
    elif parsed.type not in ("cpu", "cuda", "mps"):
        accelerator = getattr(torch, parsed.type, None)
        is_available = getattr(accelerator, "is_available", None)
        if not callable(is_available) or not is_available():
            raise CommandError(f"--device {device}: no {parsed.type} device is available")


def _check_model(model: str) -> None:
    """What transformers would report obscurely: a broken folder, or weights that do not fit its config.json."""
    from .modeling import XCLIPConfig, XCLIPModel

    try:
        if Path(model).expanduser().is_dir():  # a Hub id is left to transformers, which downloads it
            load_checked_config(model, XCLIPConfig, XCLIPModel)
        else:
            check_model_folder(model)
    except (ModelFolderError, ValueError) as error:
        raise CommandError(f"cannot load model {model!r}: {first_line(error)}") from error


def _load_pipeline(args: argparse.Namespace) -> Any:
    # `import xclip` (which importing this module implies) has registered the pipeline task.
    from safetensors import SafetensorError
    from transformers import pipeline

    try:
        return pipeline("zero-shot-video-classification", model=args.model, device=args.device, dtype=args.dtype)
    except (OSError, ValueError, TypeError) as error:
        raise CommandError(model_load_error(args.model, error)) from error
    except SafetensorError as error:
        # check_model_folder reads the headers first; this is a weights file that broke past its header.
        raise CommandError(
            f"cannot load model {args.model!r}: a weights file is corrupt or truncated ({short_first_line(error)})"
        ) from error


def model_load_error(model: str, error: BaseException) -> str:
    """One line saying why `model` (a folder or Hub id) cannot be loaded, from transformers' or xclip's `error`."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    message = f"cannot load model {model!r}: {first_line(error)}"
    if isinstance(error.__cause__, LocalEntryNotFoundError):  # transformers' advice is on a line first_line drops
        message += f" Without a connection, pass a local folder, or download it once and set {OFFLINE_VARIABLE}=1."
    return message


def _format_table(video: str, predictions: list[dict[str, Any]]) -> str:
    rows = [f"{prediction['score']:8.2%}  {prediction['label']}" for prediction in predictions]
    return "\n".join([video, *rows])


def _classify(args: argparse.Namespace) -> int:
    labels = _labels_from_args(args)
    _check_device(args.device)
    _check_videos(args.videos)
    _check_model(args.model)
    classifier = _load_pipeline(args)
    if labels is None:
        labels = _stored_labels(classifier.model, args.model)
    options = dict(candidate_labels=labels, hypothesis_template=args.template, top_k=args.top_k,
                   num_clips=args.num_clips, num_crops=args.num_crops, batch_size=args.batch_size,
                   num_workers=args.num_workers)
    from tqdm.auto import tqdm

    # Results are printed as they come, errors too; with many videos on a terminal, a progress bar (on stderr).
    progress = tqdm(
        total=len(args.videos), unit="video", file=sys.stderr, leave=False,
        disable=len(args.videos) < 2 or not sys.stderr.isatty(),
    )
    records, failures = [], 0
    try:
        for video, outcome in zip(args.videos, _classify_readable(classifier, list(args.videos), options)):
            progress.update()
            if isinstance(outcome, str):
                failures += 1
                tqdm.write(f"error: {outcome}", file=sys.stderr)
            if args.json:
                records.append({"video": video, "error": outcome} if isinstance(outcome, str) else
                               {"video": video, "predictions": outcome})
            elif not isinstance(outcome, str):
                tqdm.write(("\n" if len(records) else "") + _format_table(video, outcome), file=sys.stdout)
                records.append(video)
    finally:  # interrupted (Ctrl-C), the videos scored so far are still printed
        progress.close()
        if args.json:
            print(json.dumps(records, indent=2))
    return EXIT_ERROR if failures else EXIT_OK


def _stored_labels(model: Any, name: str) -> list[str]:
    """The class names a model stores in its config (`id2label`), for `classify` without `--labels`."""
    from .modeling.modeling_xclip_classification import stored_class_names

    labels = stored_class_names(model.config)
    if labels is None:
        raise CommandError(
            f"model {name!r} stores no class names (config.id2label): pass the labels with --labels or --labels-file"
        )
    return labels


def _classify_readable(classifier: Any, videos: list[str], options: dict[str, Any]) -> Iterator[list[dict] | str]:
    """One outcome per video, in order, as the pipeline streams them: its scores, or the error that made it
    unreadable. A batch holding an unreadable video is scored one video at a time (`clips/*.mp4` with one broken
    file); the videos after it stream on in batches."""
    from torch.utils.data import Subset

    from .video import VideoDecodeError

    position = 0
    while position < len(videos):
        try:
            # A torch Dataset is streamed by the pipeline, where a list comes back whole at the end.
            for outcome in classifier(Subset(videos, range(position, len(videos))), **options):
                yield outcome
                position += 1
        except VideoDecodeError:
            # One at a time in this process: an error from a decoding worker would come back as the worker's
            # traceback, and batches start at `position`, so the failed one is the next `batch_size` videos.
            for video in videos[position : position + options["batch_size"]]:
                try:
                    yield classifier([video], **{**options, "num_workers": 0})[0]
                except VideoDecodeError as error:
                    yield first_line(error)
                position += 1


def _forward(command: str, argv: list[str]) -> int:
    if command == "convert":
        from .conversion.command import main as entry_point
    elif command == "prepare":
        from .data.prepare_command import main as entry_point
    elif command == "splits":
        from .data.splits_command import main as entry_point
    elif command == "evaluate":
        from .training.evaluate_command import main as entry_point
    else:
        from .training import main as entry_point
    result = entry_point(argv)
    # Entry points return an exit status, or (training) what they computed.
    return result if isinstance(result, int) else EXIT_OK


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least `minimum` (0 or 1)."""
    allowed = "0 or a positive integer" if minimum == 0 else "a positive integer"

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {allowed}, got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="xclip", description="X-CLIP video recognition (ECCV 2022).")
    parser.add_argument("--version", action="version", version=f"xclip {__version__} (X-CLIP video recognition)")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{classify,convert,prepare,splits,train,evaluate}"
    )

    classify = commands.add_parser(
        "classify",
        help="score videos against label strings (zero-shot)",
        description="Score each video against the labels; prints a table per video, or JSON.",
    )
    classify.add_argument("videos", nargs="+", metavar="VIDEO", help="video files or http(s)/file URLs")
    label_source = classify.add_mutually_exclusive_group()
    label_source.add_argument(
        "--labels",
        help='comma-separated labels, e.g. "riding a bike,cooking" (default: the class names the model stores, as a '
        "training run's best_model does)",
    )
    label_source.add_argument(
        "--labels-file",
        type=Path,
        help="an 'id,name' CSV (the original's label lists) or a text file with one label per line (blank lines and "
        "lines starting with # are skipped)",
    )
    classify.add_argument("--model", required=True, help="X-CLIP model folder or Hub id")
    classify.add_argument("--top-k", type=int_at_least(1), help="show only the K best labels (default: all)")
    classify.add_argument("--json", action="store_true", help="print JSON: [{video, predictions: [{label, score}]}]")
    classify.add_argument(
        "--template", default="{}", help='text encoded for a label, e.g. "a video of {}." (default: the label itself)'
    )
    classify.add_argument("--num-clips", type=int_at_least(1), default=1, help="temporal clips per video (default 1)")
    classify.add_argument(
        "--num-crops", type=int, choices=(1, 3), default=1, help="spatial crops per clip: 1 (centre) or 3"
    )
    classify.add_argument("--batch-size", type=int_at_least(1), default=1, help="videos per model call (default 1)")
    classify.add_argument(
        "--num-workers",
        type=int_at_least(0),
        default=0,
        help="processes that decode the next videos while the model scores (default 0: decode in this process)",
    )
    classify.add_argument("--device", help="e.g. cpu, cuda, cuda:1 (default: the first GPU if any, else cpu)")
    classify.add_argument(
        "--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"), help="model dtype"
    )
    classify.add_argument("--verbose", action="store_true", help="show transformers' warnings and progress bars")

    # add_help=False: `xclip convert --help` shows the forwarded program's help.
    commands.add_parser("convert", add_help=False, help="convert an original X-CLIP checkpoint (see --help)")
    commands.add_parser(
        "prepare", add_help=False, help="re-encode a video dataset for fast training input (see --help)"
    )
    commands.add_parser(
        "splits", add_help=False, help="convert the official HMDB-51 / UCF-101 splits to video lists (see --help)"
    )
    commands.add_parser("train", add_help=False, help="train or fine-tune X-CLIP (see --help)")
    commands.add_parser(
        "evaluate", add_help=False, help="a model's accuracy on a labelled video list, without a config (see --help)"
    )
    return parser


@contextlib.contextmanager
def _quiet_libraries(quiet: bool) -> Iterator[None]:
    """Silence transformers' load reports and progress bars (and xclip's notices) unless --verbose; restored after,
    since `main` may run inside another program."""
    if not quiet:
        yield
        return
    from transformers.utils import logging as transformers_logging

    verbosity, progress_bars = transformers_logging.get_verbosity(), transformers_logging.is_progress_bar_enabled()
    xclip_logger = logging.getLogger("xclip")
    xclip_level = xclip_logger.level
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    xclip_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if progress_bars:
            transformers_logging.enable_progress_bar()
        xclip_logger.setLevel(xclip_level)


@contextlib.contextmanager
def _plain_warnings() -> Iterator[None]:
    """Warnings (a video cut short, damaged frames) as `warning: ...` lines, without the package's source line that
    Python prints under each; restored after."""

    from tqdm.auto import tqdm

    def show(message: Warning | str, *_details: Any, **_options: Any) -> None:
        tqdm.write(f"warning: {message}", file=sys.stderr)  # above classify's progress bar, if one is shown

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `xclip` command with `argv` (the process's arguments when None); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command not in FORWARDED_COMMANDS and unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        if args.command in FORWARDED_COMMANDS:
            return _forward(args.command, unknown)
        with _quiet_libraries(quiet=not args.verbose), _plain_warnings():
            return _classify(args)
    except CommandError as error:
        if os.environ.get(TRACEBACK_VARIABLE) and error.__cause__ is not None:
            raise
        print(f"error: {error}", file=sys.stderr)
    except (ValueError, OSError, ImportError) as error:
        # Bad input found while running: an unreadable video (VideoDecodeError names it), a malformed template...
        if os.environ.get(TRACEBACK_VARIABLE):  # ... or a bug, whose stack is then worth seeing
            raise
        print(f"error: {first_line(error)}", file=sys.stderr)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return EXIT_ERROR


if __name__ == "__main__":  # `python -m xclip.cli`, as well as `python -m xclip`
    sys.exit(main())
