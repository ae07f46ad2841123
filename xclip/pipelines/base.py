"""What the X-CLIP video pipelines share: one video or a batch of videos in, preprocessing to the model's frame count,
and batching through transformers' pipeline machinery."""

from typing import Any

import torch

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
        """Run the pipeline on one video (its result) or on a batch of videos (one result per video).

        One video may itself be a list (of frames), which `Pipeline.__call__` would run as a batch of inputs;
        `is_video_batch` tells one video from several, and one video runs as a batch of one.
        """
        if is_video_batch(videos):
            return super().__call__(list(videos), **kwargs)
        return super().__call__([videos], **kwargs)[0]

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

    def _model_pixel_values(self, model_inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """`_preprocess_video`'s `pixel_values` (uint8 for uint8 frames), on the model's device by now, rescaled and
        normalised there in the pipeline's dtype (video by video through float32): preprocessing (in DataLoader
        workers with `num_workers`) hands over a quarter of the bytes and leaves the arithmetic to the GPU."""
        return self.video_processor.normalize_deferred(model_inputs["pixel_values"], dtype=self.dtype)
