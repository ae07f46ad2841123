"""`python -m xclip`: the `xclip` command, for a shell where `xclip` is the X clipboard tool of the same name."""

import sys

from .cli import main

sys.exit(main())
