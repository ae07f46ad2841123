"""Multi-view test aggregation of the original X-CLIP."""

from __future__ import annotations

import torch

from ..modeling.modeling_xclip_classification import aggregate_view_logits


def aggregate_views(logits: torch.Tensor) -> torch.Tensor:
    """Combine the logits of several views of each video as the original does: softmax over the classes within
    each view, then the sum over views.

    The logits are the model's scaled logits (`logit_scale.exp() * cosine`, about 100x). For one view the result
    ranks the classes exactly like the logits.

    Args:
        logits: `(N, V, K)` logits of `V` views (e.g. 4 clips x 3 crops) of `N` videos over `K` classes.

    Returns:
        `(N, K)` float64 scores: summed probabilities, in `[0, V]`.
    """
    if logits.ndim != 3:
        raise ValueError(f"logits must be [num_videos, num_views, num_classes], got shape {tuple(logits.shape)}.")
    # float64: X-CLIP's logits span up to 200 (100 x cosine), and exp(-200) underflows float32 to 0, which would
    # tie the lower-ranked classes and make top-5 depend on tie-breaking. float64 keeps every class distinct.
    # The merge itself is the classifier's (log of the mean view probability); times V it is the sum.
    return aggregate_view_logits(logits.double()).exp() * logits.shape[1]
