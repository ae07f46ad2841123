r"""Convert the official HMDB-51 or UCF-101 train/test splits into video lists (see `xclip.data.official_splits`).

    xclip splits hmdb51 --splits-dir testTrainMulti_7030_splits --labels labels/hmdb_51_labels.csv \
        --output lists/hmdb51 --video-root videos/hmdb51
    xclip splits ucf101 --splits-dir ucfTrainTestlist --labels labels/ucf_101_labels.csv --output lists/ucf101

Writes train_split{1,2,3}.txt and test_split{1,2,3}.txt, with labels that are rows of the labels CSV: the lists
`TEST.ZERO_SHOT.SPLIT_FILES` (configs/zero_shot) and `DATA.TRAIN_FILE` / `DATA.VAL_FILE` (configs/hmdb51, ucf101,
few_shot) name. Train with `DATA.ROOT` set to the video folder, the one --video-root checks. Lists already in the
output folder are kept (nothing is written) unless --overwrite is given.
"""

import argparse
import sys

from ..cli import subcommand_parser
from .official_splits import OFFICIAL_SPLIT_READERS, write_official_split_lists


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = subcommand_parser("splits", __doc__)
    parser.add_argument("dataset", choices=sorted(OFFICIAL_SPLIT_READERS), help="which dataset's splits")
    parser.add_argument(
        "--splits-dir", required=True,
        help="the extracted official split folder (HMDB-51: testTrainMulti_7030_splits; UCF-101: ucfTrainTestlist)",
    )
    parser.add_argument("--labels", required=True, help="the dataset's labels CSV ('id,name'); labels are its rows")
    parser.add_argument("--output", required=True, help="folder to write the six lists to")
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace train_split*.txt / test_split*.txt lists already in --output (by default they are kept)",
    )
    parser.add_argument("--video-root", help="the video folder (DATA.ROOT): check that every listed video is in it")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        written = write_official_split_lists(
            args.dataset, args.splits_dir, args.labels, args.output, args.video_root, overwrite=args.overwrite
        )
    except (ValueError, FileNotFoundError) as error:  # ValueError includes AnnotationError
        print(f"error: {error}", file=sys.stderr)
        return 1
    for split in written:
        print(split.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
