"""Test-time video preprocessing of the original X-CLIP, as a transformers video processor.

Per video: sample `num_frames` segment centres (`num_clips` evenly offset clips for multi-view testing), convert to
RGB, resize the short side to 256 (`int(256 / 224 * crop)`, 384 for 336-pixel models) with OpenCV-style bilinear
interpolation, centre-crop 224, scale to [0, 1] and normalise with the ImageNet mean and std (not CLIP's). The 3-crop
test instead resizes the short side to the crop size and takes three squares along the long side.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch
from transformers import PretrainedConfig
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    ChannelDimension,
    PILImageResampling,
    pil_torch_interpolation_mapping,
)
from transformers.processing_utils import Unpack, VideosKwargs
from transformers.utils import TensorType, logging
from transformers.video_processing_utils import BaseVideoProcessor

from ..video import sample_multi_clip_indices
from . import spatial
from .hub_preprocessor_config import (
    is_image_processor_config,
    nested_image_processor_config,
    original_test_recipe,
    read_model_geometry,
)
from .video_inputs import ArrayVideo, FileVideo, VideoFrames, as_video_batch

__all__ = ["XCLIPVideoProcessor", "XCLIPVideoProcessorKwargs"]

logger = logging.get_logger(__name__)

# transformers' generic video options that X-CLIP's fixed pipeline does not implement, with the one value accepted.
_UNSUPPORTED_KWARGS = {
    "fps": None,
    "video_metadata": None,
    "return_metadata": False,
    "do_pad": False,
    "data_format": ChannelDimension.FIRST,
}


class XCLIPVideoProcessorKwargs(VideosKwargs, total=False):
    """
    transformers' video keyword arguments plus X-CLIP's multi-view test options.

    Attributes:
        num_clips (`int`, *optional*, defaults to 1):
            Temporal clips per video (4 in the original's 4x3-view test). Clip `c` takes frame
            `int(i * L + (c + 0.5) / num_clips * L)` of segment `i` (`L = total / num_frames`); one clip is the single
            segment-centre sampling.
        num_crops (`int`, *optional*, defaults to 1):
            1 for the centre crop, 3 for the original's 3-crop test (short side resized to the crop size, then the
            left/top, right/bottom and centre squares along the long side).
    """

    num_clips: int | None
    num_crops: int | None


def _warn_if_scaled_wrongly(frames: torch.Tensor, options: dict[str, Any]) -> None:
    """Float frames all within [0, 1] are most likely scaled already: rescaling would divide them by 255 again. uint8
    frames hold 0-255 levels: normalising them unscaled gives values about 255 times too large. (uint8 frames neither
    rescaled nor normalised are a deferred call's, finished later by `normalize_deferred`.)"""
    if frames.is_floating_point() and options["do_rescale"] and frames.numel() and frames.max() <= 1.0:
        logger.warning_once(
            "Float video frames are all within [0, 1] but do_rescale=True will divide them by 255 again; pass "
            "do_rescale=False if the frames are already scaled."
        )
    unscaled = frames.dtype == torch.uint8 and not options["do_rescale"] and options["do_normalize"]
    # Unless the std is on the 0-255 scale too (mmcv's 58.395, ...), which normalises unscaled levels correctly.
    if unscaled and np.max(options["image_std"]) <= 1:
        logger.warning_once(
            "uint8 video frames hold 0-255 levels, but do_rescale=False normalises them without dividing by 255; "
            "do_rescale=False is for float frames already in [0, 1]."
        )


def _warn_if_not_the_original_normalisation(
    location: str | os.PathLike, processor_dict: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    """The original normalised with ImageNet's mean and std; an image-processor file with other values (the
    VideoMAE defaults of 0.5, say) is followed, since a fine-tuned model may need them, but not silently."""
    mean, std = processor_dict.get("image_mean"), processor_dict.get("image_std")
    chosen_by_caller = "image_mean" in kwargs or "image_std" in kwargs
    if chosen_by_caller or (mean is None and std is None):
        return
    original = (list(IMAGENET_DEFAULT_MEAN), list(IMAGENET_DEFAULT_STD))
    pairs = zip((mean, std), original)
    if all(values is None or np.allclose(values, expected, atol=1e-3) for values, expected in pairs):
        return
    logger.warning_once(
        f"The image-processor file of {location} normalises with mean {mean} and std {std}; the original X-CLIP "
        f"normalised with ImageNet's {original[0]} and {original[1]}. Followed as the file says; pass "
        "image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD (transformers.image_utils) to "
        "from_pretrained for the original's."
    )


class XCLIPVideoProcessor(BaseVideoProcessor):
    r"""
    Video processor reproducing the original X-CLIP test pipeline; returns `pixel_values` for `XCLIPModel`.

    It subclasses transformers' `BaseVideoProcessor` for its configuration handling (`save_pretrained` writes
    `video_preprocessor_config.json`, `from_pretrained`/`AutoVideoProcessor` read it back, call-time keyword arguments
    override saved ones) but replaces its `preprocess`: the base class samples frames uniformly over the video, loads
    paths through torchcodec, and resizes/crops with torchvision's rounding, whereas X-CLIP needs segment-centre
    sampling, multi-clip/3-crop views, decoding through `xclip.video`, and mmcv's rounding of sizes and crop offsets.

    Accepted `videos` (see `xclip.processing.video_inputs`): a path, a `(T, H, W, C)` or `(T, C, H, W)` NumPy array
    or torch tensor (uint8, or float on the 0-255 scale like uint8; pass `do_rescale=False` for frames already in
    [0, 1]; other integer dtypes and bools raise a `TypeError`), a list of PIL images or arrays (one video), or a
    batch: a list of any of these or a 5-D array. Every form of the same uint8 frames gives the same `pixel_values`;
    float frames are resized without rounding to 8 bits, so theirs differ by up to one uint8 level. With
    `do_convert_rgb=True` (default) greyscale frames are repeated into RGB and transparent ones (RGBA arrays, PIL
    images with an alpha channel or transparency) are composited onto white, as transformers' `convert_to_rgb` does.

    Frame count: with `do_sample_frames=True` (default) each video is sampled to `num_frames` segment centres, with
    repetition when it is shorter. With `do_sample_frames=False` the frames are used as given, and a video whose
    frame count is not `num_frames * num_clips` is rejected with a `ValueError`.

    Args:
        num_frames (`int`, *optional*, defaults to 8):
            Frames per clip; the model's `vision_config.num_frames`.
        size (`dict[str, int]`, *optional*, defaults to `{"shortest_edge": 256}`):
            Resize target: `shortest_edge` keeps the aspect ratio; `height` and `width` resize to that exact size.
        crop_size (`dict[str, int]`, *optional*, defaults to `{"height": 224, "width": 224}`):
            Centre-crop size; the model's `vision_config.image_size`.
        resample (`PILImageResampling`, *optional*, defaults to `BILINEAR`):
            Interpolation; applied without antialiasing, like the original's OpenCV resize (see
            `xclip.processing.spatial` for which modes keep uint8 frames in uint8).
        image_mean, image_std (`list[float]`, *optional*, default to ImageNet's):
            Normalisation after scaling by `rescale_factor` (1/255).
        num_clips (`int`, *optional*, defaults to 1), num_crops (`int`, *optional*, defaults to 1):
            Multi-view testing, see [`XCLIPVideoProcessorKwargs`].

    Returns from `__call__`:
        `BatchFeature` with float32 `pixel_values` (a torch tensor, also with `return_tensors=None`, the default; NumPy
        with `return_tensors="np"`; uint8 for uint8 frames with `do_rescale=False, do_normalize=False`, to be finished
        by `normalize_deferred`) of shape `(batch, num_frames, 3, crop, crop)`, or
        `(batch, num_crops * num_clips, num_frames, 3, crop, crop)` when there are several views; view `v` is crop
        `v // num_clips` of clip `v % num_clips` (crop-major, as in the original's evaluation).

    Example:

    ```python
    >>> import numpy as np
    >>> processor = XCLIPVideoProcessor()
    >>> video = np.zeros((32, 240, 320, 3), dtype=np.uint8)
    >>> processor(video, return_tensors="pt").pixel_values.shape
    torch.Size([1, 8, 3, 224, 224])
    ```
    """

    resample = PILImageResampling.BILINEAR
    image_mean = list(IMAGENET_DEFAULT_MEAN)
    image_std = list(IMAGENET_DEFAULT_STD)
    size = {"shortest_edge": 256}
    default_to_square = False
    crop_size = {"height": 224, "width": 224}
    do_resize = True
    do_center_crop = True
    do_rescale = True
    rescale_factor = 1 / 255
    do_normalize = True
    do_convert_rgb = True
    do_sample_frames = True
    num_frames = 8
    num_clips = 1
    num_crops = 1
    valid_kwargs = XCLIPVideoProcessorKwargs
    model_input_names = ["pixel_values"]

    def __init__(self, **kwargs: Unpack[XCLIPVideoProcessorKwargs]) -> None:
        super().__init__(**kwargs)
        # Checked now, so that a bad saved setting fails where the file is loaded, not at the first video.
        self._resolve_options({})

    @classmethod
    def for_image_size(cls, image_size: int = 224, num_frames: int = 8, **kwargs: Any) -> XCLIPVideoProcessor:
        """The original's test preprocessing for `image_size` crops: short side `int(256 / 224 * image_size)`."""
        return cls(
            num_frames=num_frames,
            size={"shortest_edge": spatial.short_side_for_crop(image_size)},
            crop_size={"height": image_size, "width": image_size},
            **kwargs,
        )

    @classmethod
    def for_model(cls, config: PretrainedConfig, **kwargs: Any) -> XCLIPVideoProcessor:
        """The processor matching a model: crop and frame count from `config.vision_config` (or a vision config)."""
        vision_config = getattr(config, "vision_config", config)
        return cls.for_image_size(vision_config.image_size, vision_config.num_frames, **kwargs)

    @classmethod
    def get_video_processor_dict(
        cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """transformers' lookup of the saved settings, plus the reading of the Hub checkpoints' image-processor
        files, and of the image processor transformers 5's `XCLIPProcessor` nests in `processor_config.json`, as the
        original's test recipe (see `xclip.processing.hub_preprocessor_config`)."""
        try:
            processor_dict, unused_kwargs = super().get_video_processor_dict(pretrained_model_name_or_path, **kwargs)
        except OSError:
            nested = nested_image_processor_config(pretrained_model_name_or_path, **kwargs)
            if nested is None:
                raise
            processor_dict, unused_kwargs = nested
        if is_image_processor_config(processor_dict):
            model_geometry = read_model_geometry(pretrained_model_name_or_path, **kwargs)
            processor_dict = original_test_recipe(processor_dict, model_geometry)
            _warn_if_not_the_original_normalisation(pretrained_model_name_or_path, processor_dict, kwargs)
            logger.info(
                "Read %s's image-processor settings as X-CLIP's test recipe: %s",
                pretrained_model_name_or_path,
                {key: processor_dict.get(key) for key in ("size", "crop_size", "num_frames")},
            )
        return processor_dict, unused_kwargs

    def preprocess(self, videos: VideoFrames, **kwargs: Unpack[XCLIPVideoProcessorKwargs]) -> BatchFeature:
        """
        Sample, resize, crop and normalise a video or a batch of videos (see the class docstring).

        Returns:
            `BatchFeature` with `pixel_values`: `(B, T, 3, S, S)`, or `(B, V, T, 3, S, S)` for `V > 1` views.
        """
        options = self._resolve_options(kwargs)
        batch = as_video_batch(videos, input_data_format=options["input_data_format"])
        processed = [self._process_video(video, options) for video in batch]
        # One video (the common call) needs no copy into a batch.
        pixel_values = processed[0].unsqueeze(0) if len(processed) == 1 else torch.stack(processed)
        if pixel_values.shape[1] == 1:
            pixel_values = pixel_values.squeeze(1)
        return_tensors = options["return_tensors"]
        if return_tensors is not None and TensorType(return_tensors) == TensorType.NUMPY:
            pixel_values = pixel_values.cpu().numpy()
        return BatchFeature(data={"pixel_values": pixel_values}, tensor_type=return_tensors)

    def _resolve_options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Call-time keyword arguments over the processor's own settings, validated."""
        valid_names = set(self.valid_kwargs.__annotations__) | {"return_tensors"}
        unknown = sorted(set(kwargs) - valid_names)
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments {unknown}; valid ones are "
                f"{sorted(valid_names)}."
            )
        for name, accepted in _UNSUPPORTED_KWARGS.items():
            if kwargs.get(name) not in (None, accepted):
                raise ValueError(
                    f"{type(self).__name__} does not support `{name}={kwargs[name]!r}`: X-CLIP's test pipeline "
                    "samples `num_frames` segment centres per clip and returns channels-first fixed-size crops."
                )
        options = {name: kwargs.get(name, getattr(self, name, None)) for name in valid_names}
        options.update(
            self._standardize_kwargs(
                size=options["size"],
                crop_size=options["crop_size"],
                default_to_square=options["default_to_square"],
                image_mean=options["image_mean"],
                image_std=options["image_std"],
            )
        )
        # bool is an int subclass: `num_frames=True` would run one frame, `num_crops=True` one crop.
        for name in ("num_frames", "num_clips"):
            if isinstance(options[name], bool) or not isinstance(options[name], int) or options[name] < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {options[name]!r}.")
        if isinstance(options["num_crops"], (bool, np.bool_)) or options["num_crops"] not in (1, 3):
            raise ValueError(f"`num_crops` must be 1 (centre crop) or 3 (three crops), got {options['num_crops']!r}.")
        crop_size = options["crop_size"]
        if options["num_crops"] == 3 and crop_size.height != crop_size.width:
            raise ValueError(
                f"`num_crops=3` takes square crops, but crop_size is {crop_size.height}x{crop_size.width}."
            )
        if options["resample"] not in pil_torch_interpolation_mapping:
            raise ValueError(f"Unsupported `resample` {options['resample']!r}; use a PILImageResampling value.")
        return options

    def _process_video(self, video: FileVideo | ArrayVideo, options: dict[str, Any]) -> torch.Tensor:
        """One video -> `(V, T, 3, S, S)` float32, views crop-major."""
        num_frames, num_clips = options["num_frames"], options["num_clips"]
        frames = self._sample(video, num_frames, num_clips, options["do_sample_frames"])
        if options["device"] is not None:
            frames = frames.to(options["device"])
        frames = self._to_rgb(frames, video, options)
        if options["num_crops"] == 3:
            views = self._three_crop_views(frames, options)  # (3, num_clips * T, 3, S, S)
        else:
            views = self._centre_crop_view(frames, video, options)  # (1, num_clips * T, 3, S, S)
        num_crops = views.shape[0]
        return views.reshape(num_crops * num_clips, num_frames, *views.shape[2:])

    def normalize_deferred(
        self, pixel_values: torch.Tensor, dtype: torch.dtype | None = None, do_rescale: bool | None = None
    ) -> torch.Tensor:
        """Finishes the `pixel_values` of a call with `do_rescale=False, do_normalize=False` (uint8 for uint8 frames,
        float for float frames, on their own scale): rescaled and normalised with this processor's own settings, as a
        new tensor on their device, equal to what the call would otherwise have returned (cast to `dtype`).

        Deferring this step, as the pipelines and the training script's evaluation do, lets DataLoader workers produce
        and send a quarter of the bytes (4 clips x 3 crops of 8 frames at 224 pixels: 14 MB instead of 58 MB per
        video) and moves the arithmetic to the GPU.

        Args:
            pixel_values: `(B, ..., 3, S, S)`, any dimensions between (e.g. `(B, V, T, 3, S, S)`).
            dtype: The result's dtype, float32 by default. Another one (the model's bf16, say) is computed video by
                video in float32 and cast, so that no float32 copy of the whole batch is ever held.
            do_rescale: The call's `do_rescale` over this processor's (False for float frames already in [0, 1]).
        """
        options = self._resolve_options({} if do_rescale is None else {"do_rescale": do_rescale})
        _warn_if_scaled_wrongly(pixel_values, options)
        if dtype in (None, torch.float32):
            return self._rescale_and_normalize_in_place(pixel_values.to(torch.float32, copy=True), options)
        finished = torch.empty(pixel_values.shape, dtype=dtype, device=pixel_values.device)
        for video, target in zip(pixel_values.split(1), finished.split(1)):
            target.copy_(self._rescale_and_normalize_in_place(video.to(torch.float32, copy=True), options))
        return finished

    def _normalized_copy(self, views: list[torch.Tensor], options: dict[str, Any]) -> torch.Tensor:
        """The views `(n, 3, h, w)` (crops into the resized frames, uint8 or float) as one new tensor
        `(V, n, 3, h, w)`, rescaled and normalised: one copy converts them and makes their channels-last memory
        contiguous, and the arithmetic then runs in place. uint8 views stay uint8 when neither step is asked for
        (see `normalize_deferred`)."""
        keeps_uint8 = views[0].dtype == torch.uint8 and not (options["do_rescale"] or options["do_normalize"])
        dtype = torch.uint8 if keeps_uint8 else torch.float32
        normalized = torch.empty((len(views), *views[0].shape), dtype=dtype, device=views[0].device)
        for target, view in zip(normalized, views):
            target.copy_(view)
        return self._rescale_and_normalize_in_place(normalized, options)

    def _rescale_and_normalize_in_place(self, frames: torch.Tensor, options: dict[str, Any]) -> torch.Tensor:
        """transformers' fused `rescale_and_normalize`, computed in `frames` (float, this processor's own) instead
        of a new tensor, which would cost more in first-touch page faults than the arithmetic."""
        mean, std, do_rescale = self._fuse_mean_std_and_rescale_factor(
            do_normalize=options["do_normalize"],
            image_mean=options["image_mean"],
            image_std=options["image_std"],
            do_rescale=options["do_rescale"],
            rescale_factor=options["rescale_factor"],
            device=frames.device,
        )
        if options["do_normalize"]:
            return self.normalize(frames, mean, std, inplace=True)
        return frames.mul_(options["rescale_factor"]) if do_rescale else frames

    @staticmethod
    def _sample(
        video: FileVideo | ArrayVideo, num_frames: int, num_clips: int, do_sample_frames: bool
    ) -> torch.Tensor:
        """`(num_clips * num_frames, C, H, W)` frames, clip-major."""

        def choose_indices(total: int) -> np.ndarray:
            if do_sample_frames:
                return sample_multi_clip_indices(total, num_frames, num_clips).reshape(-1)
            expected = num_frames * num_clips
            if total != expected:
                clips = f" x num_clips={num_clips}" if num_clips > 1 else ""
                raise ValueError(
                    f"{video.description} has {total} frames, but the processor expects num_frames={num_frames}"
                    f"{clips} = {expected}: with do_sample_frames=False frames are used as given. Pass "
                    f"do_sample_frames=True to sample {num_frames} frames per clip from it, or set num_frames to the "
                    "count you want to run (the model must accept it)."
                )
            return np.arange(total)

        return video.read_frames(choose_indices)

    def _to_rgb(self, frames: torch.Tensor, video: FileVideo | ArrayVideo, options: dict[str, Any]) -> torch.Tensor:
        """Three-channel frames: uint8 stays uint8, to be resized as 8-bit images as the original's OpenCV did (and
        several times faster than in float); any other type becomes float32 on its own scale.

        Raises:
            ValueError: float frames with NaN or infinite values (the model would score them NaN).
        """
        if frames.is_floating_point() and frames.numel() and not bool(torch.isfinite(frames).all()):
            raise ValueError(f"{video.description} has non-finite values (NaN or infinity) in its frames.")
        _warn_if_scaled_wrongly(frames, options)
        if frames.shape[1] != 3:
            if not options["do_convert_rgb"]:
                raise ValueError(
                    f"{video.description} has {frames.shape[1]} channels; pass do_convert_rgb=True to convert "
                    "grayscale or RGBA frames to RGB."
                )
            frames = self._composite_on_white(frames, options)
        return frames if frames.dtype == torch.uint8 else frames.float()

    def _composite_on_white(self, frames: torch.Tensor, options: dict[str, Any]) -> torch.Tensor:
        """Grayscale `(n, 1, H, W)` or RGBA `(n, 4, H, W)` frames as RGB `(n, 3, H, W)`, transparency composited onto
        white as transformers' `convert_to_rgb` does. That reads alpha and white on the 0-255 scale, which float frames
        already in [0, 1] (`do_rescale=False`) are not on: theirs are 1."""
        if frames.shape[1] != 4 or not frames.is_floating_point() or options["do_rescale"]:
            return self.convert_to_rgb(frames)
        colours, alpha = frames[:, :3], frames[:, 3:]
        return colours * alpha + (1 - alpha)

    def _three_crop_views(self, frames: torch.Tensor, options: dict[str, Any]) -> torch.Tensor:
        """`(n, 3, H, W)` frames -> `(3, n, 3, S, S)`: the short side resized to `S`, normalised, three crops."""
        crop = options["crop_size"].height
        if options["do_resize"]:
            frames = spatial.resize_short_side(frames, crop, pil_torch_interpolation_mapping[options["resample"]])
        offsets = spatial.three_crop_offsets(*frames.shape[-2:], crop)
        return self._normalized_copy([spatial.crop(frames, top, left, crop, crop) for top, left in offsets], options)

    def _centre_crop_view(
        self, frames: torch.Tensor, video: FileVideo | ArrayVideo, options: dict[str, Any]
    ) -> torch.Tensor:
        """`(n, 3, H, W)` frames -> `(1, n, 3, h, w)`: resized, centre-cropped, normalised."""
        size, crop_size = options["size"], options["crop_size"]
        if options["do_resize"]:
            interpolation = pil_torch_interpolation_mapping[options["resample"]]
            if size.shortest_edge is not None:
                frames = spatial.resize_short_side(frames, size.shortest_edge, interpolation)
            elif size.height is not None and size.width is not None:
                frames = spatial.resize(frames, (size.height, size.width), interpolation)
            else:
                raise ValueError(f"`size` must have 'shortest_edge' or 'height' and 'width', got {size}.")
        if options["do_center_crop"]:
            height, width = frames.shape[-2:]
            if crop_size.height > height or crop_size.width > width:
                raise ValueError(
                    f"crop_size {crop_size.height}x{crop_size.width} is larger than the frames of "
                    f"{video.description} after resizing ({height}x{width})."
                )
            top, left = spatial.center_crop_offset(height, width, crop_size.height, crop_size.width)
            frames = spatial.crop(frames, top, left, crop_size.height, crop_size.width)
        return self._normalized_copy([frames], options)
