"""xclip: X-CLIP video recognition (ECCV 2022, "Expanding Language-Image Pretrained Models for General Video
Recognition") as a Hugging Face transformers-native package.

Not to be confused with two unrelated projects also called X-CLIP (a video-text retrieval model and a
contrastive-learning library): this is Microsoft's video recognition model, https://arxiv.org/abs/2208.02816.

Importing `xclip` registers its classes with transformers under `model_type="xclip"`, the type of transformers'
built-in port, so `AutoConfig`, `AutoModel`, `AutoModelForVideoClassification`, `AutoProcessor`, `AutoTokenizer`,
`AutoVideoProcessor` and `pipeline("zero-shot-video-classification" | "video-classification")` resolve X-CLIP
folders to these classes.
"""

from transformers import AutoConfig, AutoModel, AutoModelForVideoClassification

from .modeling import (
    XCLIPConfig,
    XCLIPModel,
    XCLIPOutput,
    XCLIPPreTrainedModel,
    XCLIPTextConfig,
    XCLIPTextModel,
    XCLIPVisionConfig,
    XCLIPVisionModel,
)
from .modeling.modeling_xclip_classification import XCLIPForVideoClassification
from .pipelines import ZeroShotVideoClassificationPipeline, register_pipelines
from .processing import XCLIPProcessor, XCLIPTokenizer, XCLIPVideoProcessor, build_processor, load_clip_tokenizer

__version__ = "0.1.0"

AutoConfig.register(XCLIPConfig.model_type, XCLIPConfig, exist_ok=True)
AutoModel.register(XCLIPConfig, XCLIPModel, exist_ok=True)
AutoModelForVideoClassification.register(XCLIPConfig, XCLIPForVideoClassification, exist_ok=True)
register_pipelines()

__all__ = [
    "XCLIPConfig",
    "XCLIPForVideoClassification",
    "XCLIPModel",
    "XCLIPOutput",
    "XCLIPPreTrainedModel",
    "XCLIPProcessor",
    "XCLIPTextConfig",
    "XCLIPTextModel",
    "XCLIPTokenizer",
    "XCLIPVideoProcessor",
    "XCLIPVisionConfig",
    "XCLIPVisionModel",
    "ZeroShotVideoClassificationPipeline",
    "build_processor",
    "load_clip_tokenizer",
]
