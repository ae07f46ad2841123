"""`pipeline("video-classification")` for X-CLIP classifiers, with transformers' behaviour kept for every other model.

transformers' `VideoClassificationPipeline` reads the frame count from `model.config.num_frames` (X-CLIP keeps it in
`config.vision_config`), takes only paths and URLs, and has no multi-view test. This subclass fills those gaps for
`XCLIPForVideoClassification` and defers to transformers' implementation for any other model, so registering it
for the task (`xclip.pipelines.register_pipelines`) changes nothing for VideoMAE, TimeSformer and the like.
"""

from collections.abc import Iterator
from typing import Any

import torch
from transformers import PreTrainedModel
from transformers.pipelines.video_classification import VideoClassificationPipeline

from ..modeling import XCLIPConfig
from ..modeling.modeling_xclip_classification import XCLIPForVideoClassification, stored_class_names
from .base import XCLIPVideoPipelineMixin, check_top_k
from .components import as_xclip_model, processor_parts, resolve_tokenizer, resolve_video_processor

__all__ = ["XCLIPVideoClassificationPipeline"]


def _as_classifier(model: PreTrainedModel, tokenizer: Any) -> XCLIPForVideoClassification:
    """The classifier over the classes an X-CLIP model's config names (a training run's `best_model`, a model-zoo
    checkpoint converted with `--labels`), sharing the weights of an `xclip.XCLIPModel`, or a copy of transformers'.

    Loading such a folder by name already gives an `XCLIPForVideoClassification`; this serves a model passed as an
    object, including transformers' own `XCLIPModel` (same config and weight names), whose video-classification path
    would fail on the missing `config.num_frames`, naming nothing useful.

    Raises:
        ValueError: the model's config names no classes.
    """
    class_names = stored_class_names(model.config)
    if class_names is None:
        raise ValueError(
            f"{model.name_or_path or 'This model'} is a contrastive X-CLIP model, with no classes to choose from: use "
            "the zero-shot-video-classification pipeline with candidate_labels, or build a classifier with "
            "XCLIPForVideoClassification.from_xclip(model, processor, labels)."
        )
    model = as_xclip_model(model)
    return XCLIPForVideoClassification.from_xclip(model, resolve_tokenizer(model, tokenizer), class_names)


class XCLIPVideoClassificationPipeline(XCLIPVideoPipelineMixin, VideoClassificationPipeline):
    """
    transformers' video classification pipeline, extended to [`XCLIPForVideoClassification`].

    For an X-CLIP classifier: videos may be paths, URLs, `(T, H, W, C)` arrays, lists of frames or lists of videos,
    or a generator or torch `Dataset` of videos (streamed: an iterator yields one result per video); each is sampled
    to the model's frame count, or to `num_frames=` with `interpolate_pos_encoding=True`; `num_clips=`/`num_crops=`
    score several views per video (the scores are the mean of the per-view softmax probabilities, the original's
    multi-view test); `do_rescale=False` takes float frames already in [0, 1]. `top_k` (default 5) and
    `function_to_apply` work as in transformers. Other models run through transformers' implementation unchanged.

    Example:

    ```python
    >>> import xclip
    >>> from transformers import pipeline
    >>> classifier = pipeline("video-classification", model="path/to/xclip-classifier")
    >>> classifier("video.mp4", top_k=2, num_clips=4, num_crops=3)
    [{'score': 0.87, 'label': 'playing guitar'}, {'score': 0.05, 'label': 'playing ukulele'}]
    ```
    """

    def __init__(self, model: PreTrainedModel, video_processor: Any = None, **kwargs: Any):
        is_xclip_model = model.config.model_type == XCLIPConfig.model_type
        if is_xclip_model:
            kwargs["tokenizer"], video_processor = processor_parts(
                kwargs.pop("processor", None), kwargs.get("tokenizer"), video_processor
            )
        if not isinstance(model, XCLIPForVideoClassification) and is_xclip_model:
            model = _as_classifier(model, kwargs.get("tokenizer"))
        self._is_xclip = isinstance(model, XCLIPForVideoClassification)
        if self._is_xclip:
            video_processor = resolve_video_processor(model, video_processor)
        super().__init__(model=model, video_processor=video_processor, **kwargs)

    def __call__(
        self, inputs: Any, **kwargs: Any
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]] | Iterator[list[dict[str, Any]]]:
        if not self._is_xclip:
            return super().__call__(inputs, **kwargs)
        return self._call_on_videos(inputs, **kwargs)

    def _sanitize_parameters(
        self,
        num_clips: int | None = None,
        num_crops: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        do_rescale: bool | None = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        preprocess_params, forward_params, postprocess_params = super()._sanitize_parameters(**kwargs)
        xclip_options = (num_clips, num_crops, interpolate_pos_encoding, do_rescale)
        if not self._is_xclip:
            if any(option is not None for option in xclip_options):
                raise ValueError(
                    "num_clips, num_crops, interpolate_pos_encoding and do_rescale are options of X-CLIP classifiers, "
                    f"not of {type(self.model).__name__}."
                )
            return preprocess_params, forward_params, postprocess_params
        if kwargs.get("top_k") is not None:
            check_top_k(kwargs["top_k"])
        if "frame_sampling_rate" in preprocess_params:
            raise ValueError(
                "X-CLIP samples the model's frame count at segment centres over the whole video; frame_sampling_rate "
                "does not apply (use num_clips for more temporal coverage)."
            )
        video_preprocess_params, video_forward_params = self._sanitize_video_parameters(
            num_clips=num_clips,
            num_crops=num_crops,
            num_frames=preprocess_params.pop("num_frames", None),  # transformers' option, read as X-CLIP's
            interpolate_pos_encoding=interpolate_pos_encoding,
            do_rescale=do_rescale,
        )
        preprocess_params.update(video_preprocess_params)
        forward_params.update(video_forward_params)
        return preprocess_params, forward_params, postprocess_params

    def preprocess(
        self, video: Any, num_clips: int = 1, num_crops: int = 1, num_frames: int | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        if not self._is_xclip:
            return super().preprocess(video, num_frames=num_frames, **kwargs)
        return self._preprocess_video(video, num_clips, num_crops, num_frames)

    def _forward(
        self,
        model_inputs: dict[str, torch.Tensor],
        interpolate_pos_encoding: bool = False,
        do_rescale: bool | None = None,
    ) -> Any:
        if not self._is_xclip:
            return super()._forward(model_inputs)
        pixel_values = self._model_pixel_values(model_inputs, do_rescale)
        return self.model(pixel_values=pixel_values, interpolate_pos_encoding=interpolate_pos_encoding)
