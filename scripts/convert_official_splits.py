#!/usr/bin/env python
"""Convert the official HMDB-51 or UCF-101 train/test splits into train_split{1,2,3}.txt / test_split{1,2,3}.txt.

    python scripts/convert_official_splits.py hmdb51 --splits-dir testTrainMulti_7030_splits \
        --labels labels/hmdb_51_labels.csv --output lists/hmdb51

Same as `xclip splits ...`; the command line lives in `xclip.data.splits_command`.
"""

import sys

from xclip.data.splits_command import main

if __name__ == "__main__":
    sys.exit(main())
