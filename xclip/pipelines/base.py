"""What the X-CLIP video pipelines share: one video, a batch of videos or a stream of videos in, preprocessing to the
model's frame count (or another one, with `interpolate_pos_encoding=True`), and batching through transformers'
pipeline machinery."""

import types
from typing import Any

import torch
from torch.utils.data import Dataset

from ..processing.video_inputs import is_video_batch
from .video_inputs import video_to_pixel_values

__all__ = ["XCLIPVideoPipelineMixin", "check_top_k"]


def check_top_k(top_k: Any) -> int:
    """`top_k`, checked to be a positive integer (0 would return no label at all)."""
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}.")
    return top_k


class XCLIPVideoPipelineMixin:
    """The parts of a transformers `Pipeline` that X-CLIP's video pipelines share (put it before `Pipeline` in the
    bases).

    Batching: transformers collates a batch with padding rules taken from the tokenizer and from the feature
    extractor or image processor, and has no case for a video processor: `pixel_values` then reach an unset padding
    value and the collation fails. Video tensors of one model all have the same shape and are concatenated without
    padding, so the video processor stands in for the feature extractor while the collate function is built (it reads
    only the optional `padding_value`/`padding_side`, which a video processor does not set).
    """

    def get_iterator(self, *args: Any, **kwargs: Any) -> Any:
        if self.feature_extractor is not None or self.image_processor is not None or self.video_processor is None:
            return super().get_iterator(*args, **kwargs)
        self.feature_extractor = self.video_processor
        try:
            return super().get_iterator(*args, **kwargs)
        finally:
            self.feature_extractor = None

    def _call_on_videos(self, videos: Any, **kwargs: Any) -> Any:
        """Run the pipeline on one video (its result), on a batch of videos (one result per video), or on a generator
        or torch `Dataset` of videos (such as transformers' `KeyDataset`): an iterator yielding one result per video,
        which `Pipeline.__call__` reads lazily, as transformers' pipelines stream.

        One video may itself be a list (of frames), which `Pipeline.__call__` would run as a batch of inputs;
        `is_video_batch` tells one video from several, and one video runs as a batch of one.
        """
        if isinstance(videos, (types.GeneratorType, Dataset)):
            return super().__call__(videos, **kwargs)
        if is_video_batch(videos):
            return super().__call__(list(videos), **kwargs)
        return super().__call__([videos], **kwargs)[0]

    def _sanitize_video_parameters(
        self,
        num_clips: int | None = None,
        num_crops: int | None = None,
        num_frames: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        do_rescale: bool | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The preprocess and forward parameters of the video options both pipelines take, checked before any video
        is decoded (`num_clips` and `num_crops` are checked by the video processor).

        `num_frames` other than the model's needs `interpolate_pos_encoding=True`, at the call or when the pipeline
        was built, as the model needs it for such `pixel_values`. `do_rescale` applies where the frames are rescaled:
        on the model's device, in `_model_pixel_values`.
        """
        # bool is an int subclass: `num_frames=True` would run one frame.
        if num_frames is not None and (
            isinstance(num_frames, bool) or not isinstance(num_frames, int) or num_frames < 1
        ):
            raise ValueError(f"num_frames must be a positive integer, got {num_frames!r}.")
        for name, value in (("interpolate_pos_encoding", interpolate_pos_encoding), ("do_rescale", do_rescale)):
            if value is not None and not isinstance(value, bool):
                raise ValueError(f"{name} must be True or False, got {value!r}.")

        preprocess_params = {"num_clips": num_clips, "num_crops": num_crops, "num_frames": num_frames}
        preprocess_params = {name: value for name, value in preprocess_params.items() if value is not None}
        forward_params = {"interpolate_pos_encoding": interpolate_pos_encoding, "do_rescale": do_rescale}
        forward_params = {name: value for name, value in forward_params.items() if value is not None}

        # The call's options over those the pipeline was built with (which are not set yet while it is being built).
        num_frames = preprocess_params.get("num_frames", getattr(self, "_preprocess_params", {}).get("num_frames"))
        interpolates = forward_params.get(
            "interpolate_pos_encoding", getattr(self, "_forward_params", {}).get("interpolate_pos_encoding", False)
        )
        model_num_frames = self.model.config.vision_config.num_frames
        if num_frames is not None and num_frames != model_num_frames and not interpolates:
            raise ValueError(
                f"num_frames={num_frames}, but this model was trained with {model_num_frames} frames per video "
                "(config.vision_config.num_frames). Pass interpolate_pos_encoding=True as well to run it with its "
                f"temporal position embedding interpolated to {num_frames} frames, or resize the model with "
                f"model.resize_num_frames({num_frames}) and pass that model to pipeline()."
            )
        return preprocess_params, forward_params

    def _preprocess_video(
        self, video: Any, num_clips: int = 1, num_crops: int = 1, num_frames: int | None = None
    ) -> dict[str, torch.Tensor]:
        """The model inputs of one video: `pixel_values` sampled to `num_frames` frames (default: the model's), with
        `num_clips * num_crops` views when more than one (see `video_to_pixel_values`), resized and cropped but not
        yet normalised: `_model_pixel_values` finishes them on the model's device."""
        pixel_values = video_to_pixel_values(
            self.video_processor,
            video,
            num_frames=num_frames or self.model.config.vision_config.num_frames,
            num_clips=num_clips,
            num_crops=num_crops,
        )
        return {"pixel_values": pixel_values}

    def _model_pixel_values(
        self, model_inputs: dict[str, torch.Tensor], do_rescale: bool | None = None
    ) -> torch.Tensor:
        """`_preprocess_video`'s `pixel_values` (uint8 for uint8 frames), on the model's device by now, rescaled
        (unless `do_rescale=False`, for float frames already in [0, 1]; default: the video processor's setting) and
        normalised there in the pipeline's dtype (video by video through float32): preprocessing (in DataLoader
        workers with `num_workers`) hands over a quarter of the bytes and leaves the arithmetic to the GPU."""
        pixel_values = model_inputs["pixel_values"]
        return self.video_processor.normalize_deferred(pixel_values, dtype=self.dtype, do_rescale=do_rescale)
