r"""Re-encode a video dataset for fast training input (see `xclip.data.preparation`).

    xclip prepare --input-root /data/k400/videos --output-root /data/k400/videos_256 \
        --lists /data/k400/train.txt /data/k400/val.txt

Then train with `DATA.ROOT /data/k400/videos_256`, `DATA.TRAIN_FILE /data/k400/videos_256/train.txt` and
`DATA.VAL_FILE /data/k400/videos_256/val.txt`. An interrupted run resumes where it stopped. The output folder must
lie outside the input folder, and must not hold the given lists (the prepared lists are written there under the same
names). preparation_manifest.json there records the settings and the lists written: a run with other settings, or one
that would replace a list or preparation_failures.txt that xclip prepare did not write, is refused unless --overwrite
is given (it re-encodes every video).
"""

import argparse
import logging
import sys

from ..cli import int_at_least, subcommand_parser
from .preparation import FAILURES_FILE, VideoPreparation, prepare_video_dataset


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    defaults = VideoPreparation()
    parser = subcommand_parser("prepare", __doc__)
    parser.add_argument("--input-root", required=True, help="the dataset's video folder (DATA.ROOT; tar roots too)")
    parser.add_argument("--output-root", required=True, help="folder for the prepared videos and lists")
    parser.add_argument(
        "--lists", nargs="+", default=(), metavar="LIST",
        help="video lists ('path label' lines or .json) naming the videos; default: every video under --input-root",
    )
    parser.add_argument(
        "--short-side", type=int, default=defaults.short_side,
        help=f"short side in pixels, smaller videos keep their size; 0 keeps every size (default {defaults.short_side};"
        " use 384 for 336-pixel models)",
    )
    parser.add_argument(
        "--keyframe-interval", type=int, default=defaults.keyframe_interval,
        help=f"largest number of frames between keyframes (default {defaults.keyframe_interval})",
    )
    parser.add_argument(
        "--crf", type=float, default=defaults.crf, help=f"x264 quality, lower is better (default {defaults.crf:g})"
    )
    parser.add_argument("--preset", default=defaults.preset, help=f"x264 speed preset (default {defaults.preset})")
    parser.add_argument("--no-fast-decode", action="store_true", help="do not use x264's fastdecode tuning")
    parser.add_argument(
        "--workers", type=int_at_least(1), help="videos prepared in parallel (default: one per CPU core)"
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="re-encode videos prepared by an earlier run, even with other settings, and replace lists in "
        "--output-root that xclip prepare did not write",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(format="%(message)s")
    try:
        preparation = VideoPreparation(
            short_side=args.short_side or None, keyframe_interval=args.keyframe_interval, crf=args.crf,
            preset=args.preset, fast_decode=not args.no_fast_decode,
        )
        report = prepare_video_dataset(
            args.input_root, args.output_root, video_lists=args.lists, preparation=preparation,
            workers=args.workers, overwrite=args.overwrite, progress=not args.no_progress,
        )
    except (ValueError, FileNotFoundError, RuntimeError) as error:  # ValueError includes AnnotationError
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report.summary())
    for list_file in report.lists:
        print(f"wrote {list_file}")
    if report.failed:
        print(
            f"{len(report.failed)} video(s) could not be read and are left out of the lists; reasons in "
            f"{args.output_root}/{FAILURES_FILE}", file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
