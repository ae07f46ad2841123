"""`XCLIPProcessor`: the CLIP tokenizer for class texts and the X-CLIP video processor, saved and loaded together."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

from transformers import AutoTokenizer
from transformers.image_processing_utils import BatchFeature
from transformers.processing_utils import ProcessorMixin, TextKwargs
from transformers.utils import IMAGE_PROCESSOR_NAME

from ..files import write_text_atomically

from .hub_preprocessor_config import image_processor_config
from .tokenization_xclip import XCLIPTokenizer, load_clip_tokenizer, with_original_text_cleanup
from .video_inputs import VideoFrames
from .video_processing_xclip import XCLIPVideoProcessor

__all__ = ["XCLIPProcessor", "build_processor"]

# X-CLIP scores a video against every class text at once: pad to the longest text, not to 77, and cut texts longer
# than the 77-token context (keeping <|endoftext|>, where the text features are pooled) instead of failing later.
_TEXT_DEFAULTS = {"padding": True, "truncation": True}
# Keyword arguments that callers pass frames in, for `videos=`.
_FRAME_ARGUMENT_MISTAKES = ("images", "image", "video", "frames")


class XCLIPProcessor(ProcessorMixin):
    r"""
    Tokenizer plus video processor for [`XCLIPModel`]: texts become `input_ids`/`attention_mask`, videos
    `pixel_values`.

    `save_pretrained` writes the tokenizer (`tokenizer.json`, `tokenizer_config.json`) and `processor_config.json`,
    which nests the video processor's settings; `XCLIPProcessor.from_pretrained` reads them back offline.

    Args:
        tokenizer ([`XCLIPTokenizer`] or any CLIP tokenizer):
            Usually `load_clip_tokenizer()`; transformers' `CLIPTokenizer` with CLIP's vocabulary, which the Hub
            checkpoints name, is used as an `XCLIPTokenizer` (`with_original_text_cleanup`).
        video_processor ([`XCLIPVideoProcessor`]):
            The model's test-time video preprocessing.

    Example:

    ```python
    >>> import numpy as np
    >>> processor = build_processor(image_size=224, num_frames=8)
    >>> inputs = processor(text=["playing guitar", "riding a bike"], videos=np.zeros((40, 240, 320, 3), np.uint8))
    >>> inputs["input_ids"].shape, inputs["pixel_values"].shape
    (torch.Size([2, 6]), torch.Size([1, 8, 3, 224, 224]))
    ```
    """

    def __init__(self, tokenizer: XCLIPTokenizer, video_processor: XCLIPVideoProcessor, **kwargs: Any):
        super().__init__(with_original_text_cleanup(tokenizer), video_processor, **kwargs)

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs: Any) -> list[str]:
        """transformers' saving, plus `preprocessor_config.json`: the test recipe as the VideoMAE file the Hub
        checkpoints carry (`image_processor_config`), so that transformers' own `XCLIPProcessor` loads the folder
        without this package. This package reads `processor_config.json`, which wins: edit that one."""
        saved = super().save_pretrained(save_directory, **kwargs)  # pushed below, with the extra file
        image_processor_file = Path(save_directory) / IMAGE_PROCESSOR_NAME
        write_text_atomically(image_processor_file, json.dumps(image_processor_config(self.video_processor), indent=2))
        if push_to_hub:  # transformers' upload saves into a new folder through this method, then uploads it all
            accepted = inspect.signature(self.push_to_hub).parameters
            repo_id = kwargs.pop("repo_id", Path(save_directory).name)
            self.push_to_hub(repo_id, **{name: value for name, value in kwargs.items() if name in accepted})
        return [*saved, str(image_processor_file)]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> XCLIPProcessor:
        """transformers' loading, plus folders where transformers 5's own `XCLIPProcessor` saved itself: its video
        processor is an image processor nested in `processor_config.json`, which `AutoVideoProcessor` cannot find,
        and which is read as the original's test recipe (see `xclip.processing.hub_preprocessor_config`)."""
        try:
            return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        except OSError as error:
            try:  # reads the nested image processor, or finds nothing and raises as AutoVideoProcessor did
                video_processor = XCLIPVideoProcessor.from_pretrained(pretrained_model_name_or_path, **kwargs)
            except OSError:
                raise error from None
        return cls(AutoTokenizer.from_pretrained(pretrained_model_name_or_path, **kwargs), video_processor)

    def __call__(
        self,
        text: str | list[str] | None = None,
        videos: VideoFrames | None = None,
        return_tensors: str | None = "pt",
        **kwargs: Any,
    ) -> BatchFeature:
        """
        Tokenize `text` and/or preprocess `videos`.

        Keyword arguments go to the tokenizer (`padding`, `truncation`, `max_length`, ...) or to the video processor
        (`num_frames`, `num_clips`, `num_crops`, `do_sample_frames`, ...) by name; `text_kwargs={...}` and
        `videos_kwargs={...}` pass them explicitly. Texts are padded to the longest one and truncated to 77 tokens
        unless `padding`/`truncation` say otherwise.

        Returns:
            `BatchFeature` with `input_ids` and `attention_mask` `(num_texts, longest)` when `text` is given, and
            `pixel_values` `(B, T, 3, S, S)` (or `(B, V, T, 3, S, S)` with several views) when `videos` is given.
            All are torch tensors by default, NumPy arrays with `return_tensors="np"`. With `return_tensors=None`
            the texts' ids and mask are Python lists, as from transformers' processors, and `pixel_values` is still
            one torch tensor: transformers' video processors keep pixel values as torch tensors too (a list of one per
            video), and X-CLIP's videos, all of one shape, are stacked.
        """
        text_kwargs, videos_kwargs = self._split_kwargs(kwargs)
        if text is None and videos is None:
            raise ValueError(f"{type(self).__name__} needs `text`, `videos` or both.")
        if text is not None and not isinstance(text, str):
            if not isinstance(text, (list, tuple)):
                raise TypeError(
                    f"{type(self).__name__} takes texts as strings (one, or a list of them); got "
                    f"{type(text).__name__} {text!r}."
                )
            if len(text) == 0:
                raise ValueError(f"{type(self).__name__} got an empty list of texts: pass at least one class text.")
            not_text = next((index for index, item in enumerate(text) if not isinstance(item, str)), None)
            if not_text is not None:
                raise TypeError(
                    f"{type(self).__name__} takes texts as strings; text {not_text} is "
                    f"{type(text[not_text]).__name__} {text[not_text]!r}."
                )
        data = {}
        if text is not None:
            data.update(self.tokenizer(text, return_tensors=return_tensors, **{**_TEXT_DEFAULTS, **text_kwargs}))
        if videos is not None:
            data.update(self.video_processor(videos, return_tensors=return_tensors, **videos_kwargs))
        return BatchFeature(data=data, tensor_type=return_tensors)

    def _split_kwargs(self, kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Route flat keyword arguments to the tokenizer or the video processor; reject unknown ones."""
        text_names = set(TextKwargs.__annotations__)
        video_names = set(self.video_processor.valid_kwargs.__annotations__)
        text_kwargs = dict(kwargs.pop("text_kwargs", None) or {})
        videos_kwargs = dict(kwargs.pop("videos_kwargs", None) or {})
        unknown = sorted(set(kwargs) - text_names - video_names)
        if unknown:
            # transformers' documentation once passed an image as `images=`: say where frames go before the lists.
            misplaced_frames = [name for name in unknown if name in _FRAME_ARGUMENT_MISTAKES]
            hint = (
                f" Videos go in `videos=` (not {', '.join(misplaced_frames)}); a single image is a one-frame video."
                if misplaced_frames else ""
            )
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword arguments {unknown}.{hint} Tokenizer arguments: "
                f"{sorted(text_names)}; video processor arguments: {sorted(video_names)}."
            )
        text_kwargs.update({name: value for name, value in kwargs.items() if name in text_names})
        videos_kwargs.update({name: value for name, value in kwargs.items() if name in video_names})
        return text_kwargs, videos_kwargs


def build_processor(image_size: int = 224, num_frames: int = 8) -> XCLIPProcessor:
    """
    The processor of an X-CLIP model with `image_size` crops and `num_frames` frames, built offline.

    Tokenizer from [`load_clip_tokenizer`]; video processor with crop `image_size` and test short side
    `int(256 / 224 * image_size)` (256 for 224, 384 for 336), as the original evaluates.
    """
    return XCLIPProcessor(
        tokenizer=load_clip_tokenizer(),
        video_processor=XCLIPVideoProcessor.for_image_size(image_size=image_size, num_frames=num_frames),
    )
