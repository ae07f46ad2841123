"""What every model card of this package shares, whether a converted checkpoint's or a trained model's: its Hub
metadata, its usage snippet and its citation.

Metadata choices:

- `library_name: transformers`: the folder is a transformers `x_clip` checkpoint (same `model_type`, config fields
  and weight names), so it loads with `transformers.XCLIPModel` with nothing else installed. The pipelines and the
  processor matching the original preprocessing need the `xclip` package imported, which the snippet says.
- `pipeline_tag: video-classification` only for a folder that stores its classes (`id2label`), which that pipeline
  runs. The Hub has no zero-shot video task, so a folder without classes gets no pipeline tag; its snippet runs the
  zero-shot pipeline, and the `zero-shot` tag states what it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from huggingface_hub import ModelCard, ModelCardData

__all__ = [
    "ORIGINAL_CODE_URL",
    "PAPER_URL",
    "XCLIP_CITATION",
    "XCLIP_TAGS",
    "build_model_card",
    "model_card_metadata",
    "usage_snippet",
]

PAPER_URL = "https://arxiv.org/abs/2208.02816"
ORIGINAL_CODE_URL = "https://github.com/microsoft/VideoX/tree/master/X-CLIP"
XCLIP_TAGS = ("xclip", "x-clip", "video", "video-text", "zero-shot", "clip")
XCLIP_CITATION = """@inproceedings{ni2022expanding,
  title={Expanding Language-Image Pretrained Models for General Video Recognition},
  author={Ni, Bolin and Peng, Houwen and Chen, Minghao and Zhang, Songyang and Meng, Gaofeng and Fu, Jianlong and
          Xiang, Shiming and Ling, Haibin},
  booktitle={European Conference on Computer Vision (ECCV)},
  year={2022}
}"""


def model_card_metadata(extra_tags: Sequence[str] = (), *, classifier: bool = True, **fields: Any) -> ModelCardData:
    """The metadata every X-CLIP card carries (license, library, `XCLIP_TAGS` and `extra_tags`; the
    `video-classification` pipeline tag for a `classifier`, a folder that stores its classes), plus `fields` of
    `ModelCardData` such as `datasets` or `eval_results`."""
    return ModelCardData(
        license="mit",
        library_name="transformers",
        pipeline_tag="video-classification" if classifier else None,
        tags=[*XCLIP_TAGS, *extra_tags],
        **fields,
    )


def usage_snippet(model_name: str, stored_class_names: bool) -> str:
    """The card's Python examples as fenced blocks: a pipeline on `model_name` (video classification against the
    classes in its `id2label` when `stored_class_names`, else zero-shot against example class names), then the model
    and processor themselves. Both need the `xclip` package, which the text before them says."""
    example_labels = '["playing guitar", "riding a bike", "cooking"]'
    if stored_class_names:
        pipeline_call = f"""classifier = pipeline("video-classification", model="{model_name}")
print(classifier("video.mp4", top_k=5))"""
    else:
        pipeline_call = f"""classifier = pipeline("zero-shot-video-classification", model="{model_name}")
print(classifier("video.mp4", candidate_labels={example_labels}))"""
    labels = "list(model.config.id2label.values())" if stored_class_names else example_labels
    return f"""The weights load with `transformers.XCLIPModel` alone. The pipelines and the processor that reproduces
the original preprocessing come with the `xclip` package (X-CLIP video recognition; not the unrelated `x-clip`
library), registered with transformers by `import xclip`:

```python
import xclip  # registers X-CLIP's processor and pipelines with transformers
from transformers import pipeline

{pipeline_call}
```

With the model directly:

```python
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
    """A card of `metadata` (its YAML header), the Markdown `body`, and the paper's citation."""
    citation = f"## Citation\n\n```bibtex\n{XCLIP_CITATION}\n```\n"
    return ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n{body.rstrip()}\n\n{citation}")
