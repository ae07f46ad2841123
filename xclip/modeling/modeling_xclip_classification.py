"""Closed-set video classification with X-CLIP: a label set's text embeddings frozen into the checkpoint.

X-CLIP has no classification head: a class is its text, and the logits are the scaled cosine similarities between a
video and the class texts after the video-specific prompt generator (`XCLIPModel.forward`).
`XCLIPForVideoClassification` encodes the texts of a fixed label set once and stores them, with `id2label`, so the
saved folder behaves like any transformers video classifier (`AutoModelForVideoClassification`,
`pipeline("video-classification")`).

The helpers here are shared with the zero-shot pipeline, the command line, the converter and the training code:
`set_class_names` stores class names in a config and `stored_class_names` reads them back; `encode_label_texts`
turns class texts (see `xclip.processing.label_texts`) into text embeddings, through `encode_label_tokens` for texts
already tokenised; `logits_per_view` scores every view of the original's multi-view test, `aggregate_view_logits`
merges the views, and `video_logits` does both.
"""

import copy
import math
from collections.abc import Sequence
from typing import Any

import torch
from accelerate import init_empty_weights
from torch import nn
from transformers import PretrainedConfig
from transformers.modeling_outputs import ImageClassifierOutput
from transformers.utils import logging
from transformers.utils.generic import can_return_tuple

from ..processing.label_texts import format_label_texts, tokenize_label_texts
from .configuration_xclip import XCLIPConfig
from .modeling_xclip import XCLIPModel, XCLIPOutput, XCLIPPreTrainedModel, check_label_ids

__all__ = [
    "XCLIPForVideoClassification",
    "aggregate_view_logits",
    "encode_label_texts",
    "encode_label_tokens",
    "logits_per_view",
    "set_class_names",
    "stored_class_names",
    "video_logits",
]

logger = logging.get_logger(__name__)


def set_class_names(config: PretrainedConfig, class_names: Sequence[str]) -> None:
    """Stores `class_names`, in class-index order, as `config.id2label` and `config.label2id`."""
    config.id2label = dict(enumerate(class_names))
    config.label2id = {name: index for index, name in enumerate(class_names)}


def stored_class_names(config: PretrainedConfig) -> list[str] | None:
    """The class names `config.id2label` holds in class-index order, or None when it holds transformers' placeholder
    names (`LABEL_0`, `LABEL_1`, ...): a model saved without classes."""
    names = [config.id2label[index] for index in range(config.num_labels)]
    return None if names == [f"LABEL_{index}" for index in range(len(names))] else names


@torch.no_grad()
def encode_label_texts(model: XCLIPModel, tokenizer: Any, texts: Sequence[str]) -> torch.Tensor:
    """Text embeddings of class texts, as `XCLIPModel.forward` takes them in `text_embeds`.

    The model runs in eval mode (its mode is restored afterwards) so that dropout cannot change the stored classes.

    Args:
        model: the X-CLIP model.
        tokenizer: a CLIP tokenizer, or a processor that tokenizes `text=` (`XCLIPProcessor`).
        texts: `K` class texts, already formatted (see `format_label_texts`).

    Returns:
        `(K, projection_dim)` embeddings on the model's device, in its dtype.
    """
    tokens = tokenize_label_texts(tokenizer, texts)
    return encode_label_tokens(model, tokens["input_ids"], tokens["attention_mask"])


def encode_label_tokens(model: XCLIPModel, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """`encode_label_texts` for texts already tokenised: `(K, L)` ids and mask in, `(K, projection_dim)` out, computed
    in eval mode (the model's mode is restored afterwards, also when it fails)."""
    was_training = model.training
    model.eval()
    try:
        return model.get_text_features(
            input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device)
        ).pooler_output
    finally:
        model.train(was_training)


def aggregate_view_logits(view_logits: torch.Tensor) -> torch.Tensor:
    """Merge the views of one video as the original's multi-view test does: softmax per view, summed.

    Returned as the log of the normalised sum, so `softmax` of the result gives the summed probabilities divided by
    the number of views (they sum to 1), its `argmax`/`topk` rank classes as the original does, and cross-entropy on
    it is the negative log of the mean view probability.

    Args:
        view_logits: `(batch_size, num_views, num_classes)`.

    Returns:
        `(batch_size, num_classes)` log-probabilities, in float32 (float64 for float64 logits).
    """
    log_probs = view_logits.to(torch.promote_types(view_logits.dtype, torch.float32)).log_softmax(dim=-1)
    return torch.logsumexp(log_probs, dim=1) - math.log(view_logits.shape[1])


def logits_per_view(
    model: nn.Module, pixel_values: torch.Tensor, text_embeds: torch.Tensor, **kwargs: Any
) -> tuple[torch.Tensor, XCLIPOutput]:
    """Class logits of every view of every video, all views run as one batch.

    Args:
        model: the X-CLIP model, or a wrapper that forwards to it (DDP, PEFT).
        pixel_values: `(batch_size, num_frames, 3, S, S)` (one view per video), or
            `(batch_size, num_views, num_frames, 3, S, S)`.
        text_embeds: class text embeddings `(num_classes, projection_dim)` (`encode_label_texts`).
        kwargs: passed to `XCLIPModel.forward` (e.g. `interpolate_pos_encoding`).

    Returns:
        `(batch_size, num_views, num_classes)` logits (`logits_per_video`), and the model's output (over
        `batch_size * num_views` videos).

    Raises:
        ValueError: `pixel_values` has neither shape.
    """
    if pixel_values.ndim not in (5, 6):
        raise ValueError(
            "pixel_values must be (batch_size, num_frames, 3, height, width) or, with several views per video, "
            f"(batch_size, num_views, num_frames, 3, height, width); got shape {tuple(pixel_values.shape)}."
        )
    videos = pixel_values.flatten(0, 1) if pixel_values.ndim == 6 else pixel_values
    # The logits are read by name: a caller's `return_dict=False` (or the config's) would hand back a tuple.
    outputs = model(pixel_values=videos, text_embeds=text_embeds, **{**kwargs, "return_dict": True})
    logits = outputs.logits_per_video
    return logits.view(pixel_values.shape[0], -1, logits.shape[-1]), outputs


def video_logits(
    model: XCLIPModel, pixel_values: torch.Tensor, text_embeds: torch.Tensor, **kwargs: Any
) -> tuple[torch.Tensor, XCLIPOutput]:
    """Class logits of videos given one view or several views per video.

    Args:
        model: the X-CLIP model.
        pixel_values: `(batch_size, num_frames, 3, S, S)`, or `(batch_size, num_views, num_frames, 3, S, S)`.
        text_embeds: class text embeddings `(num_classes, projection_dim)` (`encode_label_texts`).
        kwargs: passed to `XCLIPModel.forward` (e.g. `interpolate_pos_encoding`).

    Returns:
        `(batch_size, num_classes)` logits (`logits_per_video`; for several views, `aggregate_view_logits` of
        them), and the model's output (over `batch_size * num_views` videos).

    Raises:
        ValueError: `pixel_values` has neither shape.
    """
    logits, outputs = logits_per_view(model, pixel_values, text_embeds, **kwargs)
    return (aggregate_view_logits(logits) if pixel_values.ndim == 6 else logits[:, 0]), outputs


class XCLIPForVideoClassification(XCLIPPreTrainedModel):
    """X-CLIP as a closed-set video classifier: the class texts of `config.id2label` are encoded once and stored.

    The X-CLIP weights live under `x_clip.` (the model's `base_model_prefix`, as in transformers' head models), so
    `XCLIPModel.from_pretrained` loads the backbone of a saved classifier, and a classifier folder reloads with
    `AutoModelForVideoClassification`. The text embeddings of the classes are the buffer `label_embeds`
    `(num_labels, projection_dim)`, saved in the checkpoint; the text encoder is kept so that `set_labels` can
    replace the classes. An X-CLIP folder without that buffer but with class names in `config.id2label` (a converted
    model-zoo checkpoint) loads as a classifier too: its class names are encoded on load. One built from a config alone
    has zero `label_embeds`, and warns at its first call if they are still zero then.

    Logits are exactly `XCLIPModel`'s `logits_per_video` for the same class texts; with several views per video
    (`(batch_size, num_views, num_frames, 3, S, S)` from `XCLIPVideoProcessor(num_clips=..., num_crops=...)`) they
    are merged by `aggregate_view_logits`: the log of the mean view probability.

    Example:

    ```python
    >>> from xclip import XCLIPForVideoClassification, XCLIPModel, XCLIPProcessor
    >>> model = XCLIPModel.from_pretrained("microsoft/xclip-base-patch32")
    >>> processor = XCLIPProcessor.from_pretrained("microsoft/xclip-base-patch32")
    >>> classifier = XCLIPForVideoClassification.from_xclip(model, processor, ["playing guitar", "riding a bike"])
    >>> classifier.save_pretrained("xclip-guitar-or-bike"); processor.save_pretrained("xclip-guitar-or-bike")
    >>> from transformers import pipeline
    >>> pipeline("video-classification", model="xclip-guitar-or-bike")("video.mp4")
    [{'score': 0.93, 'label': 'playing guitar'}, {'score': 0.07, 'label': 'riding a bike'}]
    ```
    """

    config: XCLIPConfig
    main_input_name = "pixel_values"
    input_modalities = ("video",)
    _label_embeds_missing = False  # set while loading an X-CLIP folder that stores class names, not embeddings
    # Whether the first call has checked `label_embeds` for the zeros `__init__` leaves: read back from the device
    # once, not at every call, and not under `torch.compile`, where reading values would break the graph.
    _label_embeds_checked = False
    _rebuilt_when_mismatched = ("label_embeds",)

    def __init__(self, config: XCLIPConfig):
        super().__init__(config)
        self.x_clip = XCLIPModel(config)
        self.register_buffer("label_embeds", torch.zeros(config.num_labels, config.projection_dim))
        self.post_init()

    @classmethod
    def from_xclip(
        cls,
        model: XCLIPModel,
        processor: Any,
        labels: Sequence[str],
        hypothesis_template: str = "{}",
    ) -> "XCLIPForVideoClassification":
        """A classifier over `labels` on top of `model`, whose weights it shares (no copy).

        Args:
            model: the X-CLIP model.
            processor: its `XCLIPProcessor`, or just the CLIP tokenizer.
            labels: class names, stored as `config.id2label` in this order.
            hypothesis_template: how a label becomes the encoded text; `"{}"` (the original's choice) encodes the
                label itself.
        """
        config = copy.deepcopy(model.config)
        config.architectures = [cls.__name__]
        # The X-CLIP that __init__ builds is replaced by `model` at once: build it without allocating weights.
        with init_empty_weights():
            classifier = cls(config)
        classifier.x_clip = model
        classifier.set_labels(processor, labels, hypothesis_template)
        return classifier

    @classmethod
    def from_pretrained(cls, *args: Any, **kwargs: Any) -> Any:
        """Load a saved classifier; or an X-CLIP folder whose config names its classes (`id2label`, as the converter
        writes with `--labels`), whose class names are then encoded as they are (the original's template).

        Raises:
            ValueError: the folder has neither stored class embeddings nor class names.
        """
        return_loading_info = kwargs.pop("output_loading_info", False)
        model, loading_info = super().from_pretrained(*args, output_loading_info=True, **kwargs)
        other_classes = any(key in cls._rebuilt_when_mismatched for key, _, _ in loading_info["mismatched_keys"])
        if model._label_embeds_missing or other_classes:  # a config of other classes: encode its class names
            model._encode_config_labels()
        return (model, loading_info) if return_loading_info else model

    def _adjust_missing_and_unexpected_keys(self, loading_info: Any) -> None:
        """transformers' hook between loading and its load report: an X-CLIP folder has no `label_embeds`, which
        `from_pretrained` then encodes from the class names; not reported as a weight "newly initialized" that
        needs training."""
        super()._adjust_missing_and_unexpected_keys(loading_info)
        if "label_embeds" in loading_info.missing_keys:
            loading_info.missing_keys.discard("label_embeds")
            self._label_embeds_missing = True

    def _encode_config_labels(self) -> None:
        labels = stored_class_names(self.config)
        if labels is None:
            raise ValueError(
                f"{self.name_or_path}: an X-CLIP model without class names (config.id2label) is no classifier. Build "
                "one with XCLIPForVideoClassification.from_xclip(model, processor, labels), or use the "
                "zero-shot-video-classification pipeline."
            )
        from ..processing import load_clip_tokenizer

        self.set_labels(load_clip_tokenizer(), labels)
        logger.info("%s: encoded the %d class names of config.id2label.", self.name_or_path, len(labels))

    def set_labels(self, processor: Any, labels: Sequence[str], hypothesis_template: str = "{}") -> None:
        """Replace the classes: encode the texts of `labels` and update `id2label`/`label2id`.

        Args:
            processor: an `XCLIPProcessor` or a CLIP tokenizer.
            labels: class names, in class-index order.
            hypothesis_template: as in `from_xclip`.
        """
        texts = format_label_texts(labels, hypothesis_template)
        self.label_embeds = encode_label_texts(self.x_clip, processor, texts)
        set_class_names(self.config, labels)

    @can_return_tuple
    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.LongTensor | None = None,
        interpolate_pos_encoding: bool = False,
        **kwargs: Any,
    ) -> ImageClassifierOutput:
        """
        Args:
            pixel_values: videos `(batch_size, num_frames, 3, height, width)`, or several views per video
                `(batch_size, num_views, num_frames, 3, height, width)`.
            labels: class index of every video `(batch_size,)`; adds the cross-entropy loss.
            interpolate_pos_encoding: accept another frame count or frame size (see `XCLIPModel.forward`).

        Returns:
            `ImageClassifierOutput` with `logits` `(batch_size, num_labels)`: `XCLIPModel`'s logits for one view;
            for several views, the log of the mean view probability (see `aggregate_view_logits`). `hidden_states`
            and `attentions` are the frame encoder's, when requested. A tuple with `return_dict=False`.
        """
        text_inputs = sorted({"text_embeds", "input_ids"} & kwargs.keys())
        if text_inputs:
            raise TypeError(
                f"XCLIPForVideoClassification.forward got {', '.join(text_inputs)}, but it scores videos against its "
                "stored label embeddings (label_embeds, one per class of config.id2label). Change the classes with "
                "set_labels(processor, labels), or score other texts with XCLIPModel (classifier.x_clip)."
            )
        if not self._label_embeds_checked and not torch.compiler.is_compiling():
            self._label_embeds_checked = True
            if not self.label_embeds.any():
                logger.warning(
                    "The label embeddings (label_embeds) of this XCLIPForVideoClassification are all zero: it scores "
                    "every class alike. XCLIPForVideoClassification(config) leaves them zero; build the classifier "
                    "with XCLIPForVideoClassification.from_xclip(model, processor, labels), load a saved one with "
                    "from_pretrained, or call set_labels(processor, labels)."
                )
        num_labels = self.label_embeds.shape[0]
        if labels is not None:
            check_label_ids(labels, num_labels, "classes in this classifier", batch_size=pixel_values.shape[0])
        logits, outputs = video_logits(
            self.x_clip, pixel_values, self.label_embeds, interpolate_pos_encoding=interpolate_pos_encoding, **kwargs
        )

        loss = None
        if labels is not None:
            loss = nn.functional.cross_entropy(logits.float(), labels.to(logits.device))
        vision_outputs = outputs.vision_model_output
        return ImageClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=vision_outputs.hidden_states,
            attentions=vision_outputs.attentions,
        )
