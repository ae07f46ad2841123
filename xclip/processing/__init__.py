"""X-CLIP inputs: the CLIP tokenizer (offline), the test-time video processor, the processor, training transforms.

Importing this package registers the classes with transformers' Auto classes for `XCLIPConfig` (`exist_ok=True`,
over transformers' own registrations for `model_type="xclip"`), so that `AutoTokenizer`, `AutoVideoProcessor` and
`AutoProcessor.from_pretrained` load folders saved by these classes into them. `AutoProcessor` finds
`XCLIPProcessor` by the class name saved in `processor_config.json`: transformers' name table has no processor entry
for "xclip", so the registered class wins over transformers' own `XCLIPProcessor` (tests/test_processor.py checks it).
"""

from transformers import AutoProcessor, AutoTokenizer, AutoVideoProcessor

from ..modeling.configuration_xclip import XCLIPConfig
from .processing_xclip import XCLIPProcessor, build_processor
from .tokenization_xclip import (
    CLIP_CONTEXT_LENGTH,
    XCLIPTokenizer,
    clean_clip_text,
    load_clip_tokenizer,
    with_original_text_cleanup,
)
from .transforms import XCLIPTrainTransform
from .spatial import short_side_for_crop
from .video_processing_xclip import XCLIPVideoProcessor, XCLIPVideoProcessorKwargs

AutoTokenizer.register(XCLIPConfig, tokenizer_class=XCLIPTokenizer, exist_ok=True)
AutoVideoProcessor.register(XCLIPConfig, XCLIPVideoProcessor, exist_ok=True)
AutoProcessor.register(XCLIPConfig, XCLIPProcessor, exist_ok=True)

__all__ = [
    "CLIP_CONTEXT_LENGTH",
    "XCLIPProcessor",
    "XCLIPTokenizer",
    "XCLIPTrainTransform",
    "XCLIPVideoProcessor",
    "XCLIPVideoProcessorKwargs",
    "build_processor",
    "clean_clip_text",
    "load_clip_tokenizer",
    "short_side_for_crop",
    "with_original_text_cleanup",
]
