#!/usr/bin/env python
"""Re-encode a video dataset for fast training input: short side 256, a keyframe every 16 frames, x264 fastdecode.

    python scripts/prepare_videos.py --input-root /data/k400/videos --output-root /data/k400/videos_256 \
        --lists /data/k400/train.txt /data/k400/val.txt

Same as `xclip prepare ...`; the command line lives in `xclip.data.prepare_command`.
"""

import sys

from xclip.data.prepare_command import main

if __name__ == "__main__":
    sys.exit(main())
