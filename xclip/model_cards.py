"""What every model card of this package shares, whether a converted checkpoint's or a trained model's: its Hub
metadata and its usage snippet.

Metadata choices:

- `library_name: transformers`: the folder is a transformers `x_clip` checkpoint (same `model_type`, config fields
  and weight names), so it loads with `transformers.XCLIPModel` with nothing else installed, and the Hub shows
  transformers' loading snippet; the card's own snippet uses `xclip`, which adds the processor matching the
  original preprocessing.
- `pipeline_tag: video-classification`: the Hub has no zero-shot video task; X-CLIP classifies a video against
  free-text labels, which the `zero-shot` tag states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

__all__ = ["ORIGINAL_CODE_URL", "PAPER_URL", "XCLIP_TAGS", "build_model_card", "model_card_metadata", "usage_snippet"]

PAPER_URL = "https://arxiv.org/abs/2208.02816"
ORIGINAL_CODE_URL = "https://github.com/microsoft/VideoX/tree/master/X-CLIP"
XCLIP_TAGS = ("xclip", "x-clip", "video", "video-text", "zero-shot", "clip")


def model_card_metadata(extra_tags: Sequence[str] = (), **fields: Any) -> ModelCardData:
    """The metadata every X-CLIP card carries (license, library, pipeline tag, `XCLIP_TAGS` and `extra_tags`), plus
    `fields` of `ModelCardData` such as `datasets` or `eval_results`."""
    return ModelCardData(
        license="mit",
        library_name="transformers",
        pipeline_tag="video-classification",
        tags=[*XCLIP_TAGS, *extra_tags],
        **fields,
    )


def usage_snippet(model_name: str, stored_class_names: bool) -> str:
    """The card's Python example as a fenced block: loading `model_name` and classifying a video, against the classes
    in its `id2label` when `stored_class_names`, else against example class names."""
    labels = "list(model.config.id2label.values())" if stored_class_names else (
        '["playing guitar", "riding a bike", "cooking"]'
    )
    return f"""```python
import torch
from xclip import XCLIPModel, XCLIPProcessor

model = XCLIPModel.from_pretrained("{model_name}").eval()
processor = XCLIPProcessor.from_pretrained("{model_name}")
labels = {labels}
inputs = processor(text=labels, videos=["video.mp4"], return_tensors="pt")
with torch.inference_mode():
    probs = model(**inputs).logits_per_video.softmax(-1)
print(dict(zip(labels, probs[0].tolist())))
```
"""


def build_model_card(metadata: ModelCardData, body: str) -> ModelCard:
    """A card of `metadata` (its YAML header) and the Markdown `body`."""
    return ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n{body}")
