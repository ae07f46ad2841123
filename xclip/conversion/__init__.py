"""Converting original X-CLIP checkpoints and building X-CLIP from CLIP weights.

- `convert_original_checkpoint`: an original model-zoo `.pth` -> a Hub-ready folder (config, safetensors, processor,
  model card) that `XCLIPModel`, `XCLIPProcessor` and `transformers.XCLIPModel` load offline; the command-line tool
  is `scripts/convert_original_checkpoint.py`.
- `xclip_from_original`: the same checkpoint as an `XCLIPModel` in memory.
- `xclip_from_clip` (also `XCLIPModel.from_clip`): X-CLIP on top of transformers' or OpenAI's CLIP weights, X-CLIP's
  own parts initialised as the original's, as every original training run starts.
- The steps, for other uses: `load_original_state_dict`, `detect_geometry` (shapes -> `XCLIPConfig`),
  `convert_state_dict` (original names -> ours, with the `KEY_TABLE`), and `MODEL_ZOO`, the released checkpoints
  with their Hub names and published results.

Every problem with the input raises `ConversionError` (a `ValueError`) with a one-line message naming the file.
"""

from .checkpoint_loading import load_openai_clip_state_dict, load_original_state_dict
from .errors import ConversionError
from .from_clip import xclip_from_clip
from .geometry import XCLIPGeometry, detect_geometry, measure_geometry
from .key_mapping import KEY_TABLE, convert_state_dict
from .model_zoo import CLIP_BASE_MODELS, MODEL_ZOO, ModelZooEntry, PublishedResult, find_model_zoo_entry
from .original_checkpoint import convert_original_checkpoint, xclip_from_original

__all__ = [
    "CLIP_BASE_MODELS",
    "KEY_TABLE",
    "MODEL_ZOO",
    "ConversionError",
    "ModelZooEntry",
    "PublishedResult",
    "XCLIPGeometry",
    "convert_original_checkpoint",
    "convert_state_dict",
    "detect_geometry",
    "find_model_zoo_entry",
    "load_openai_clip_state_dict",
    "load_original_state_dict",
    "measure_geometry",
    "xclip_from_clip",
    "xclip_from_original",
]
