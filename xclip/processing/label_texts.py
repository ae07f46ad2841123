"""Class labels as the texts X-CLIP encodes: labels checked, the hypothesis template filled in, texts tokenised.

Shared by the zero-shot pipeline, the closed-set classifier, the command line and the training code; the model side
(texts to embeddings) is `xclip.modeling.modeling_xclip_classification.encode_label_tokens`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from ..text_utils import shortened

__all__ = ["check_hypothesis_template", "check_labels", "format_label_texts", "tokenize_label_texts"]


def check_labels(labels: Sequence[str]) -> list[str]:
    """`labels` as a list, checked: at least one, each a non-empty string, no repeats, also none up to case or
    spacing: CLIP's tokenizer lowercases text and collapses whitespace, so such labels would encode to the same text
    and always get the same score.

    Raises:
        ValueError: naming the first bad label.
    """
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise ValueError(f"Labels must be a list of strings, got {type(labels).__name__}.")
    if not labels:
        raise ValueError("Got no labels: pass at least one class name.")
    seen: dict[str, int] = {}  # by the text the tokenizer sees
    for index, label in enumerate(labels):
        if not isinstance(label, str) or not label.strip():
            raise ValueError(f"Label {index} is {label!r}; every label must be a non-empty string.")
        text = " ".join(label.split()).lower()
        if text in seen:
            first = seen[text]
            if labels[first] == label:
                raise ValueError(f"Label {index} repeats {label!r} (first given as label {first}).")
            raise ValueError(
                f"Label {index} {label!r} repeats label {first} {labels[first]!r} up to case or spacing, which the "
                "tokenizer ignores (it lowercases text): both would get the same score. Keep one of them."
            )
        seen[text] = index
    return list(labels)


def check_hypothesis_template(hypothesis_template: str) -> str:
    """`hypothesis_template`, checked to hold exactly one `{}` field (where the label goes) and no other field.

    Raises:
        ValueError: it does not.
    """
    if (
        not isinstance(hypothesis_template, str)
        or hypothesis_template.count("{}") != 1
        or "{" in hypothesis_template.replace("{}", "")
    ):
        raise ValueError(
            f"hypothesis_template must contain exactly one '{{}}' where the label goes, got {hypothesis_template!r}."
        )
    return hypothesis_template


def format_label_texts(labels: Sequence[str], hypothesis_template: str = "{}") -> list[str]:
    """The texts X-CLIP encodes for `labels`: `hypothesis_template.format(label)` for each.

    The original uses the raw class names (template `"{}"`); a template such as `"a video of {}."` is a common
    zero-shot variant.

    Raises:
        ValueError: see `check_labels` and `check_hypothesis_template`.
    """
    template = check_hypothesis_template(hypothesis_template)
    return [template.format(label) for label in check_labels(labels)]


def tokenize_label_texts(tokenizer: Any, texts: Sequence[str]) -> dict[str, torch.Tensor]:
    """`(K, L)` `input_ids` and `attention_mask` of `K` class texts, padded to the longest.

    A text longer than the text encoder's context (77 tokens) is cut to it, as CLIP does, with a warning naming it:
    texts that differ only past the cut would score alike.
    """
    texts = list(texts)
    tokens = tokenizer(text=texts, padding=True, truncation=True, return_tensors="pt")
    context_length = tokens["input_ids"].shape[1]
    text_tokenizer = getattr(tokenizer, "tokenizer", tokenizer)  # a processor pads and returns tensors
    if context_length == text_tokenizer.model_max_length:  # some text may be cut
        # verbose=False: transformers would warn of indexing errors that the truncated tokens above cannot cause.
        lengths = [len(ids) for ids in text_tokenizer(texts, truncation=False, verbose=False)["input_ids"]]
        cut = [f"{index} {shortened(text, 60)!r}" for index, (text, length) in enumerate(zip(texts, lengths))
               if length > context_length]
        if cut:
            warnings.warn(
                f"{len(cut)} label text(s) are longer than the text encoder's {context_length} tokens and are cut to "
                f"them; what follows is ignored: {'; '.join(cut)}",
                UserWarning,
                stacklevel=2,
            )
    return tokens
