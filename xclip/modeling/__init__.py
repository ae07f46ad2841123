"""X-CLIP configuration and model classes."""

from .configuration_xclip import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig
from .modeling_xclip import XCLIPModel, XCLIPOutput, XCLIPPreTrainedModel, XCLIPTextModel, XCLIPVisionModel

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
