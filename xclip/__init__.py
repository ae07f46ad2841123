"""xclip: X-CLIP video recognition (ECCV 2022) as a Hugging Face transformers-native package.

Importing `xclip` registers its classes with transformers' Auto classes under `model_type="xclip"`, the type of
transformers' built-in port, so `AutoConfig`/`AutoModel` load X-CLIP folders into these classes.
"""

from transformers import AutoConfig, AutoModel

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

__version__ = "0.1.0"

AutoConfig.register(XCLIPConfig.model_type, XCLIPConfig, exist_ok=True)
AutoModel.register(XCLIPConfig, XCLIPModel, exist_ok=True)

__all__ = [
    "XCLIPConfig",
    "XCLIPModel",
    "XCLIPOutput",
    "XCLIPPreTrainedModel",
    "XCLIPTextConfig",
    "XCLIPTextModel",
    "XCLIPVisionConfig",
    "XCLIPVisionModel",
]
