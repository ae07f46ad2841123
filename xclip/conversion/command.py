r"""Convert an original X-CLIP checkpoint (a model-zoo `.pth`) into a Hub-ready model folder.

    xclip convert --checkpoint k400_32_8.pth --output xclip-base-patch32 \
        --labels labels/kinetics_400_labels.csv

The folder holds config.json, model.safetensors, the processor files and a model card README.md; it loads offline
with `xclip.XCLIPModel` / `xclip.XCLIPProcessor` and with `transformers.XCLIPModel`. The geometry is read from the
weights; attention heads default to the original's width // 64 and can be set for other models.
"""

import argparse
import logging
import sys

from ..cli import int_at_least, subcommand_parser
from .errors import ConversionError
from .original_checkpoint import convert_original_checkpoint

_HEAD_FLAGS = ("vision_heads", "text_heads", "mit_heads", "prompt_heads")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = subcommand_parser("convert", __doc__)
    parser.add_argument("--checkpoint", required=True, help="original X-CLIP checkpoint (.pth)")
    parser.add_argument("--output", required=True, help="folder to write")
    parser.add_argument("--labels", help="class list in the original 'id,name' CSV format, stored as id2label")
    parser.add_argument(
        "--model-name",
        help="name the model card's usage snippet loads, e.g. your Hub id (default: the output folder's name)",
    )
    parser.add_argument(
        "--trust-pickle",
        action="store_true",
        help="fully unpickle checkpoints that hold Python objects besides tensors (only for trusted files)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing output folder that a previous conversion wrote"
    )
    for flag in _HEAD_FLAGS:
        parser.add_argument(f"--{flag.replace('_', '-')}", type=int_at_least(1),
                            help="attention heads (default: width // 64)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(format="%(message)s")
    logging.getLogger("xclip").setLevel(logging.INFO)
    try:
        output = convert_original_checkpoint(
            args.checkpoint,
            args.output,
            labels_csv=args.labels,
            model_name=args.model_name,
            trust_pickle=args.trust_pickle,
            overwrite=args.overwrite,
            geometry_overrides={flag: getattr(args, flag) for flag in _HEAD_FLAGS if getattr(args, flag)},
        )
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{output}: {', '.join(sorted(path.name for path in output.iterdir()))}")
    return 0
