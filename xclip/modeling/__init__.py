"""X-CLIP configuration and model classes."""

from .configuration_xclip import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig
from .modeling_xclip import XCLIPModel, XCLIPOutput, XCLIPPreTrainedModel, XCLIPTextModel, XCLIPVisionModel
from .own_parts import XCLIP_OWN_PARTS, xclip_own_part

__all__ = [
    "XCLIP_OWN_PARTS",
    "XCLIPConfig",
    "XCLIPModel",
    "XCLIPOutput",
    "XCLIPPreTrainedModel",
    "XCLIPTextConfig",
    "XCLIPTextModel",
    "XCLIPVisionConfig",
    "XCLIPVisionModel",
    "xclip_own_part",
]
