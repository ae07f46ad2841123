"""Which weights are X-CLIP's own parts, the ones it adds to CLIP: message layers, MIT and prompt generator."""

from __future__ import annotations

import re

__all__ = ["XCLIP_OWN_PARTS", "xclip_own_part"]

# Searched anywhere in a name, so that wrapper prefixes (PEFT's `base_model.model.`, the classifier's `x_clip.`)
# match as well as the bare model's names.
XCLIP_OWN_PARTS = {
    "mit": re.compile(r"(^|\.)mit\."),
    "prompts": re.compile(r"(^|\.)prompts_"),
    "message": re.compile(r"\.message_"),
}


def xclip_own_part(name: str) -> str | None:
    """`"mit"`, `"prompts"` or `"message"` for a parameter or weight name of X-CLIP's own parts, None for CLIP's."""
    for part, pattern in XCLIP_OWN_PARTS.items():
        if pattern.search(name):
            return part
    return None
