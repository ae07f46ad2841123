"""`pipeline("zero-shot-video-classification")`: videos and candidate label strings in, sorted label scores out."""

import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from transformers import Pipeline, PreTrainedModel

from ..modeling.modeling_xclip import XCLIPModel
from ..modeling.modeling_xclip_classification import encode_label_texts, video_logits
from ..processing.label_texts import check_hypothesis_template, check_labels, format_label_texts
from .base import XCLIPVideoPipelineMixin, check_top_k
from .components import as_xclip_model, processor_parts, resolve_tokenizer, resolve_video_processor

__all__ = ["ZeroShotVideoClassificationPipeline"]

# Label sets whose text embeddings a pipeline keeps: a few evaluation label sets (400 K400 classes are 400 x E floats).
LABEL_CACHE_SIZE = 16


class ZeroShotVideoClassificationPipeline(XCLIPVideoPipelineMixin, Pipeline):
    """
    Zero-shot video classification with X-CLIP: scores each video against label strings chosen at call time.

    The labels' texts (`hypothesis_template.format(label)`, the raw label by default, as the original does) are
    encoded once per label set and cached by `(labels, hypothesis_template)`, so later calls with the same labels run
    only the video side. Each video is sampled to the model's frame count (segment centres, repeating frames of
    videos that are too short; another count with `num_frames=` and `interpolate_pos_encoding=True`) and preprocessed
    as in the original's test; with `num_clips`/`num_crops` it is scored on several views and the per-view softmax
    probabilities are averaged (the original sums them; the ranking is the same and the scores sum to 1).

    Videos: a path, an `http(s)://` or `file://` URL, a `(T, H, W, C)` array or tensor, a list of frames (PIL
    images or arrays), or a list of such videos (or a 5-D array); `batch_size=` batches them through the model. A
    generator or torch `Dataset` of videos (transformers' `KeyDataset`, say) is streamed: the call returns an iterator
    that yields one result per video. Arrays hold RGB (3 channels) or greyscale (1) frames, on the 0-255 scale (pass
    `do_rescale=False` for float frames in [0, 1]); RGBA arrays and non-finite float values are refused.

    Example:

    ```python
    >>> import xclip
    >>> from transformers import pipeline
    >>> classifier = pipeline("zero-shot-video-classification", model="microsoft/xclip-base-patch32")
    >>> classifier("video.mp4", candidate_labels=["playing guitar", "riding a bike", "cooking"])
    [{'label': 'playing guitar', 'score': 0.91}, {'label': 'cooking', 'score': 0.06}, {'label': 'riding a bike', ...}]
    ```

    Accepts transformers' pipeline arguments (`device`, `dtype`, `batch_size`, ...). The model is an `XCLIPModel`
    (`AutoModel` loads X-CLIP folders into it), or an `XCLIPForVideoClassification`, whose X-CLIP is used; a
    `transformers.XCLIPModel` object runs as a copy in `xclip.XCLIPModel`.
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    # Optional: a folder without tokenizer or video processor files gets X-CLIP's defaults (see .components).
    _load_tokenizer = None
    _load_video_processor = None

    def __init__(self, model: PreTrainedModel, tokenizer: Any = None, video_processor: Any = None, **kwargs: Any):
        if not isinstance(model.base_model, XCLIPModel):
            model = as_xclip_model(model)
        tokenizer, video_processor = processor_parts(kwargs.pop("processor", None), tokenizer, video_processor)
        super().__init__(
            model=model,
            tokenizer=resolve_tokenizer(model, tokenizer),
            video_processor=resolve_video_processor(model, video_processor),
            **kwargs,
        )
        self._label_embeds_cache: OrderedDict[tuple[tuple[str, ...], str], torch.Tensor] = OrderedDict()

    def __call__(
        self, videos: Any, **kwargs: Any
    ) -> list[dict[str, Any]] | list[list[dict[str, Any]]] | Iterator[list[dict[str, Any]]]:
        """
        Classify one video, a list of videos or a stream of videos.

        Args:
            videos: one video, a list of videos, or a generator or torch `Dataset` of videos (see the class
                docstring).
            candidate_labels (`list[str]` or `str`): the classes; a string is split on commas.
            hypothesis_template (`str`, *optional*, defaults to `"{}"`): the text encoded for a label, e.g.
                `"a video of {}."`.
            top_k (`int`, *optional*): return only the `top_k` best labels (default: all).
            num_clips (`int`, *optional*, defaults to 1), num_crops (`int`, *optional*, defaults to 1): views per
                video (the paper's test uses 4 clips x 3 crops).
            num_frames (`int`, *optional*): frames sampled per clip (default: the model's,
                `config.vision_config.num_frames`); another count needs `interpolate_pos_encoding=True`.
            interpolate_pos_encoding (`bool`, *optional*, defaults to `False`): run the model with its temporal
                position embedding interpolated to `num_frames` (see `XCLIPModel.forward`).
            do_rescale (`bool`, *optional*): `False` for float frames already scaled to [0, 1] (default: the video
                processor's `do_rescale`, which divides by 255).
            batch_size (`int`, *optional*): videos per model call.

        Returns:
            For one video, `[{"label": str, "score": float}, ...]` sorted by decreasing score, the scores of all
            candidate labels summing to 1; for a list of videos, one such list per video; for a generator or
            `Dataset`, an iterator yielding one such list per video.
        """
        if kwargs.get("candidate_labels") is None and "candidate_labels" not in self._forward_params:
            raise ValueError("zero-shot-video-classification needs `candidate_labels`: the label strings to score.")
        return self._call_on_videos(videos, **kwargs)

    def _sanitize_parameters(
        self,
        candidate_labels: Sequence[str] | str | None = None,
        hypothesis_template: str | None = None,
        top_k: int | None = None,
        num_clips: int | None = None,
        num_crops: int | None = None,
        num_frames: int | None = None,
        interpolate_pos_encoding: bool | None = None,
        do_rescale: bool | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        preprocess_params, forward_params = self._sanitize_video_parameters(
            num_clips=num_clips,
            num_crops=num_crops,
            num_frames=num_frames,
            interpolate_pos_encoding=interpolate_pos_encoding,
            do_rescale=do_rescale,
        )
        postprocess_params = {}
        if candidate_labels is not None:
            if isinstance(candidate_labels, str):
                candidate_labels = [label.strip() for label in candidate_labels.split(",")]
            labels = tuple(check_labels(candidate_labels))
            if len(labels) == 1:
                warnings.warn(
                    f"One candidate label ({labels[0]!r}): the scores are a softmax over the candidate labels, so it "
                    "scores 1.0 whatever the video. Pass two or more labels to compare them.",
                    UserWarning,
                    stacklevel=3,
                )
            forward_params["candidate_labels"] = postprocess_params["candidate_labels"] = labels
        if hypothesis_template is not None:
            forward_params["hypothesis_template"] = check_hypothesis_template(hypothesis_template)
        if top_k is not None:
            postprocess_params["top_k"] = check_top_k(top_k)
        return preprocess_params, forward_params, postprocess_params

    def preprocess(
        self, video: Any, num_clips: int = 1, num_crops: int = 1, num_frames: int | None = None
    ) -> dict[str, torch.Tensor]:
        return self._preprocess_video(video, num_clips, num_crops, num_frames)

    def label_embeddings(self, candidate_labels: Sequence[str], hypothesis_template: str = "{}") -> torch.Tensor:
        """Text embeddings `(num_labels, projection_dim)` of the labels' texts, encoded once per label set.

        The cache assumes the model's weights do not change; call `clear_label_cache` after training it.
        """
        key = (tuple(candidate_labels), hypothesis_template)
        embeds = self._label_embeds_cache.get(key)
        if embeds is None:
            texts = format_label_texts(candidate_labels, hypothesis_template)
            embeds = encode_label_texts(self.model.base_model, self.tokenizer, texts)
            self._label_embeds_cache[key] = embeds
            if len(self._label_embeds_cache) > LABEL_CACHE_SIZE:
                self._label_embeds_cache.popitem(last=False)
        self._label_embeds_cache.move_to_end(key)
        return embeds

    def clear_label_cache(self) -> None:
        """Forget the cached label embeddings (needed only if the model's weights changed)."""
        self._label_embeds_cache.clear()

    def _forward(
        self,
        model_inputs: dict[str, torch.Tensor],
        candidate_labels: Sequence[str],
        hypothesis_template: str = "{}",
        interpolate_pos_encoding: bool = False,
        do_rescale: bool | None = None,
    ) -> dict[str, torch.Tensor]:
        text_embeds = self.label_embeddings(candidate_labels, hypothesis_template)
        pixel_values = self._model_pixel_values(model_inputs, do_rescale)
        logits, _ = video_logits(
            self.model.base_model, pixel_values, text_embeds, interpolate_pos_encoding=interpolate_pos_encoding
        )
        return {"logits": logits}

    def postprocess(
        self, model_outputs: dict[str, torch.Tensor], candidate_labels: Sequence[str], top_k: int | None = None
    ) -> list[dict[str, Any]]:
        # For several views the logits are already log-probabilities; softmax leaves them as they are.
        probs = model_outputs["logits"][0].float().softmax(dim=-1)
        scores, order = probs.sort(descending=True, stable=True)
        return [
            {"label": candidate_labels[index], "score": score}
            for score, index in zip(scores[:top_k].tolist(), order[:top_k].tolist())
        ]
