"""The Hub checkpoints' `preprocessor_config.json`, read as the test recipe the checkpoints were evaluated with.

transformers' conversion of the original X-CLIP checkpoints saved a VideoMAE image processor as each Hub
repository's `preprocessor_config.json`: the short side resized to the crop size (224 -> 224) and no frame count.
The original tested those checkpoints differently: short side `int(256 / 224 * crop)` (256 for 224, 384 for 336),
then the centre crop, at the model's frame count. Taken literally, the file would crop 100% instead of 87.5% of the
short side (a different field of view from the one the reported accuracies were measured on) and sample 8 frames for
16- and 32-frame models.

So when `XCLIPVideoProcessor.from_pretrained` finds such an image-processor file instead of its own
`video_preprocessor_config.json`, it keeps the file's normalisation and interpolation and takes the crop size and
frame count from the model's `config.json` beside it (the crop from the file when there is no model config).
"""

from __future__ import annotations

import os
from typing import Any

from transformers.utils import PROCESSOR_NAME, cached_file, logging
from transformers.utils.generic import safe_load_json_file

from ..modeling.configuration_xclip import XCLIPConfig
from .spatial import short_side_for_crop

__all__ = [
    "image_processor_config",
    "is_image_processor_config",
    "nested_image_processor_config",
    "original_test_recipe",
    "read_model_geometry",
]

logger = logging.get_logger(__name__)

# What an image-processor file may set that the original's test recipe leaves to it.
_KEPT_SETTINGS = (
    "image_mean", "image_std", "resample", "rescale_factor", "do_rescale", "do_normalize", "do_convert_rgb",
)
# `from_pretrained` arguments that say where the files are; the model config is read from the same place.
_LOCATION_ARGUMENTS = ("cache_dir", "force_download", "proxies", "token", "local_files_only", "revision", "subfolder")
# The arguments transformers' own lookup takes besides those, which the video processor must not be given.
_LOOKUP_ARGUMENTS = (*_LOCATION_ARGUMENTS, "_from_pipeline", "_from_auto")


def is_image_processor_config(processor_dict: dict[str, Any]) -> bool:
    """Whether `processor_dict` was written by an image processor or feature extractor, not a video processor."""
    if "video_processor_type" in processor_dict:
        return False
    return "image_processor_type" in processor_dict or "feature_extractor_type" in processor_dict


def read_model_geometry(pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> tuple[int, int] | None:
    """`(image_size, num_frames)` of the X-CLIP model stored with a processor, or None where there is none.

    Args:
        pretrained_model_name_or_path: the folder or Hub id the processor is loaded from.
        kwargs: `from_pretrained`'s keyword arguments; only those that locate files (`revision`, `subfolder`,
            `cache_dir`, ...) are used.
    """
    location = {name: kwargs[name] for name in _LOCATION_ARGUMENTS if name in kwargs}
    try:
        config_dict, _ = XCLIPConfig.get_config_dict(pretrained_model_name_or_path, **location)
    except OSError as error:  # unreadable, or not to be had offline: the file's own crop, the default frame count
        logger.warning(
            "Could not read the model config beside the preprocessing file of %s (%s): the crop comes from the file "
            "and the frame count stays the processor's default.", pretrained_model_name_or_path, error,
        )
        return None
    # transformers returns an empty dict where there is no config.json; another model's config is no guide either.
    if config_dict.get("model_type") != XCLIPConfig.model_type:
        return None
    try:
        vision_config = XCLIPConfig.from_dict(config_dict).vision_config
    except ValueError as error:
        raise ValueError(f"The model config beside the preprocessing file of {pretrained_model_name_or_path} "
                         f"(config.json) is malformed: {error}") from error
    return vision_config.image_size, vision_config.num_frames


def nested_image_processor_config(
    pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The image processor that transformers 5's `XCLIPProcessor.save_pretrained` nests in `processor_config.json`
    (`{"image_processor": {...}, "processor_class": "XCLIPProcessor"}`), which transformers' video-processor lookup
    does not read; None where there is no such entry.

    Returns:
        `(image-processor dict, the kwargs left once those that locate files are taken)`, as
        `get_video_processor_dict` returns them.
    """
    location = {name: kwargs[name] for name in _LOCATION_ARGUMENTS if name in kwargs}
    try:
        resolved = cached_file(
            pretrained_model_name_or_path, PROCESSOR_NAME, _raise_exceptions_for_missing_entries=False, **location
        )
    except OSError:  # not to be had (offline, say): the caller's own error says more
        return None
    if resolved is None:
        return None
    nested = safe_load_json_file(resolved).get("image_processor")
    if not isinstance(nested, dict) or not is_image_processor_config(nested):
        return None
    return nested, {name: value for name, value in kwargs.items() if name not in _LOOKUP_ARGUMENTS}


def image_processor_config(video_processor: Any) -> dict[str, Any]:
    """The test recipe of `video_processor` (an `XCLIPVideoProcessor`) as the VideoMAE file the Hub checkpoints carry,
    which transformers' own `XCLIPProcessor` reads: short-side resize, centre crop, rescale and normalisation, nearly
    as here (VideoMAE resizes with antialiasing). Frame sampling and multi-view (`num_clips`, `num_crops`) are not in
    it: transformers' processor takes the frames it is given, as one centre view. `original_test_recipe` reads it back
    as the same settings.

    It names a feature extractor, as the Hub's files do, not an image processor: `AutoVideoProcessor` would map
    `VideoMAEImageProcessor` to VideoMAE's video processor, where the model's `config.json` gives X-CLIP's.
    """
    settings = video_processor.to_dict()
    return {
        "feature_extractor_type": "VideoMAEFeatureExtractor",
        "processor_class": "XCLIPProcessor",
        **{key: settings[key] for key in (*_KEPT_SETTINGS, "do_resize", "size", "do_center_crop", "crop_size")},
        "resample": int(settings["resample"]),
    }


def _crop_size_in_file(processor_dict: dict[str, Any]) -> int | None:
    """The square crop an image-processor file asks for. Old VideoMAE files have only `size`, used for both."""
    for key in ("crop_size", "size"):
        value = processor_dict.get(key)
        if isinstance(value, int):
            return value
        if isinstance(value, dict):
            side = value.get("height", value.get("shortest_edge"))
            if isinstance(side, int):
                return side
    return None


def original_test_recipe(
    processor_dict: dict[str, Any], model_geometry: tuple[int, int] | None
) -> dict[str, Any]:
    """`XCLIPVideoProcessor` settings for an image-processor file: its normalisation, the original's geometry.

    Args:
        processor_dict: the contents of the image processor's `preprocessor_config.json`.
        model_geometry: `(image_size, num_frames)` from `read_model_geometry`, or None.

    Returns:
        A video-processor dict: `image_mean`, `image_std` and the like from the file; `crop_size` the model's image
        size (else the file's crop); `size` the original's short side for that crop; `num_frames` the model's.
    """
    settings = {key: processor_dict[key] for key in _KEPT_SETTINGS if key in processor_dict}
    image_size, num_frames = model_geometry if model_geometry else (_crop_size_in_file(processor_dict), None)
    if image_size is not None:
        settings["crop_size"] = {"height": image_size, "width": image_size}
        settings["size"] = {"shortest_edge": short_side_for_crop(image_size)}
    if num_frames is not None:
        settings["num_frames"] = num_frames
    return settings
