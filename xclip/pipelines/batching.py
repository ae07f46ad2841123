"""Batching videos through transformers' pipeline machinery."""

from typing import Any

__all__ = ["VideoBatchingMixin"]


class VideoBatchingMixin:
    """Lets `batch_size > 1` work for pipelines whose only preprocessor is a video processor.

    transformers collates a batch with padding rules taken from the tokenizer and from the feature extractor or
    image processor, and has no case for a video processor: `pixel_values` then reach an unset padding value and
    the collation fails. Video tensors of one model all have the same shape and are concatenated without padding,
    so the video processor stands in for the feature extractor while the collate function is built (it reads only
    the optional `padding_value`/`padding_side`, which a video processor does not set).
    """

    def get_iterator(self, *args: Any, **kwargs: Any) -> Any:
        if self.feature_extractor is not None or self.image_processor is not None or self.video_processor is None:
            return super().get_iterator(*args, **kwargs)
        self.feature_extractor = self.video_processor
        try:
            return super().get_iterator(*args, **kwargs)
        finally:
            self.feature_extractor = None
