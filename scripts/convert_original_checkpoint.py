#!/usr/bin/env python
"""Convert an original X-CLIP checkpoint (a model-zoo `.pth`) into a Hub-ready model folder.

    python scripts/convert_original_checkpoint.py --checkpoint k400_32_8.pth --output xclip-base-patch32 \
        --labels labels/kinetics_400_labels.csv

Same as `xclip convert ...`; the command line lives in `xclip.conversion.command`.
"""

import sys

from xclip.conversion.command import main

if __name__ == "__main__":
    sys.exit(main())
