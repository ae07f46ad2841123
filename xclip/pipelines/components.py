"""The model, tokenizer and video processor an X-CLIP pipeline runs with.

The model may be transformers' own `XCLIPModel` (same config and weight names), which runs as a copy in xclip's.
The tokenizer and video processor are rebuilt when the pipeline factory found none.

`transformers.pipeline` loads them from the model folder through `AutoTokenizer`/`AutoVideoProcessor` (which know
X-CLIP's classes once `xclip.processing` is imported) and passes `None` for a folder that has no processor files, such
as a bare `model.save_pretrained` output. X-CLIP's preprocessing is fully determined by the model's geometry and the
original's test recipe, and its tokenizer is OpenAI CLIP's, so both can be rebuilt offline.

The factory also passes `None` when a file is there but fails to load, and says nothing. A local folder that holds
such files is therefore loaded again here, so that a corrupt file is reported instead of silently replaced by the
defaults.
"""

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, PreTrainedModel

from ..modeling import XCLIPConfig, XCLIPModel
from ..text_utils import first_line
from ..processing import XCLIPProcessor, XCLIPVideoProcessor, load_clip_tokenizer, with_original_text_cleanup

__all__ = ["as_xclip_model", "processor_parts", "resolve_tokenizer", "resolve_video_processor"]

logger = logging.getLogger(__name__)

# The files whose presence in a model folder means the factory was meant to load that component.
_VIDEO_PROCESSOR_FILES = ("video_preprocessor_config.json", "preprocessor_config.json", "processor_config.json")
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json")


def as_xclip_model(model: PreTrainedModel) -> XCLIPModel:
    """`model` itself if it is an `xclip.XCLIPModel`, else a copy as one (on its device, in its dtype) of an X-CLIP
    model of another implementation: transformers' `XCLIPModel`, whose config and weights have the same names.

    Raises:
        TypeError: `model` is not an X-CLIP model. Both implementations name their class `XCLIPModel`, so the
            message names the class's module.
    """
    if isinstance(model, XCLIPModel):
        return model
    if model.config.model_type != XCLIPConfig.model_type:
        model_class = type(model)
        raise TypeError(
            f"X-CLIP pipelines need an X-CLIP model (xclip.XCLIPModel), got "
            f"{model_class.__module__}.{model_class.__qualname__}. Load an X-CLIP folder with "
            "xclip.XCLIPModel.from_pretrained, or pass its path as pipeline(model=...)."
        )
    xclip_model = XCLIPModel(XCLIPConfig.from_dict(model.config.to_dict())).to(model.device, model.dtype)
    xclip_model.load_state_dict(model.state_dict())
    return xclip_model.train(model.training)


def processor_parts(processor: Any, tokenizer: Any, video_processor: Any) -> tuple[Any, Any]:
    """`(tokenizer, video_processor)`: those of `processor=` when one is given, else those given (or loaded from the
    model folder by the pipeline factory, which cannot be told apart). transformers' `Pipeline` reads `processor`
    only when it finds no tokenizer, and an X-CLIP pipeline always has one, so the processor was ignored.

    Raises:
        TypeError: `processor` is not an `xclip.XCLIPProcessor` (transformers' own holds a VideoMAE image processor,
            which the pipelines cannot run).
    """
    if processor is None:
        return tokenizer, video_processor
    if not isinstance(processor, XCLIPProcessor):
        processor_class = type(processor)
        raise TypeError(
            f"X-CLIP pipelines take an xclip.XCLIPProcessor as processor=, got {processor_class.__module__}."
            f"{processor_class.__qualname__}. xclip.XCLIPProcessor.from_pretrained reads the folder it was saved to."
        )
    return processor.tokenizer, processor.video_processor


def _load_from_model_folder(model: PreTrainedModel, files: tuple[str, ...], load: Callable[[Path], Any]) -> Any:
    """The component `load` reads from the local folder `model` was loaded from, or None when that folder holds none
    of `files` (or `model` came from the Hub).

    Raises:
        ValueError: The folder holds some of `files`, but they cannot be loaded (corrupt, say).
    """
    folder = Path(model.name_or_path) if model.name_or_path else None
    present = [name for name in files if folder is not None and (folder / name).is_file()]
    if not present:
        return None
    try:
        return load(folder)
    except Exception as error:  # whatever the loader raises is reported, as the factory's would have been
        raise ValueError(f"{folder}: cannot load {' / '.join(present)}: {first_line(error)}") from error


def resolve_video_processor(model: PreTrainedModel, video_processor: Any) -> Any:
    """`video_processor`, or the original's test preprocessing for `model`'s frame count and crop size.

    Raises:
        TypeError: `video_processor` is not an `XCLIPVideoProcessor` (the pipelines use its multi-view options).
    """
    if video_processor is None:
        # Not AutoVideoProcessor: the image processor transformers 5's own XCLIPProcessor nests in
        # processor_config.json is read only by XCLIPVideoProcessor, the one class the pipelines run.
        video_processor = _load_from_model_folder(model, _VIDEO_PROCESSOR_FILES, XCLIPVideoProcessor.from_pretrained)
    if video_processor is None:
        vision_config = model.config.vision_config
        logger.warning(
            "No video processor found with %s; using X-CLIP's test preprocessing for %d frames of %d px.",
            model.name_or_path or type(model).__name__,
            vision_config.num_frames,
            vision_config.image_size,
        )
        return XCLIPVideoProcessor.for_model(model.config)
    if not isinstance(video_processor, XCLIPVideoProcessor):
        raise TypeError(
            f"X-CLIP pipelines need an xclip.processing.XCLIPVideoProcessor, got {type(video_processor).__name__}."
        )
    crop, image_size = video_processor.crop_size, model.config.vision_config.image_size
    if (crop.height, crop.width) != (image_size, image_size):
        # Found now rather than when the first video reaches the model, where the frames would seem to blame.
        raise ValueError(
            f"{model.name_or_path or type(model).__name__}: the video processor crops {crop.height}x{crop.width} "
            f"frames, but the model takes {image_size}x{image_size} (config.vision_config.image_size). Save the "
            "processor that matches the model (XCLIPVideoProcessor.for_model(model.config)) with it."
        )
    return video_processor


def resolve_tokenizer(model: PreTrainedModel, tokenizer: Any) -> Any:
    """`tokenizer` with the original's text clean-up (`with_original_text_cleanup`: the Hub checkpoints name
    transformers' `CLIPTokenizer`), or OpenAI CLIP's tokenizer built offline (`load_clip_tokenizer`) when there is
    none."""
    if tokenizer is None:
        tokenizer = _load_from_model_folder(model, _TOKENIZER_FILES, AutoTokenizer.from_pretrained)
    if tokenizer is not None:
        return with_original_text_cleanup(tokenizer)
    logger.info("No tokenizer found with %s; using the CLIP tokenizer.", model.name_or_path or type(model).__name__)
    return load_clip_tokenizer()
