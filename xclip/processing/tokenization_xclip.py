"""The original CLIP tokenizer, built offline from the BPE file that `open_clip_torch` ships.

X-CLIP encodes class names with OpenAI CLIP's byte-level BPE (vocabulary 49408, context 77). transformers'
`CLIPTokenizer` implements the same BPE, pre-tokenisation and lower-casing, but not the text clean-up the original
applies first (`ftfy.fix_text`, HTML unescaping twice, whitespace collapsing). `XCLIPTokenizer` adds that clean-up, so
its ids equal the original tokenizer's for every string, and `load_clip_tokenizer` builds it without network access.

Padding follows transformers' CLIP convention (pad token = `<|endoftext|>`, id 49407, with an attention mask); the
original pads with id 0 and uses only the causal mask. Both give identical pooled text features, because pooling reads
the first end-of-text position (the original's `argmax` over ids), which padding never moves.
"""

from __future__ import annotations

import functools
import gzip
import html
import importlib.util
import re
from pathlib import Path
from typing import Any

import ftfy
from transformers import CLIPTokenizer, PreTrainedTokenizerBase
from transformers.convert_slow_tokenizer import bytes_to_unicode

__all__ = [
    "CLIP_CONTEXT_LENGTH",
    "CLIP_VOCAB_SIZE",
    "XCLIPTokenizer",
    "clean_clip_text",
    "load_clip_tokenizer",
    "with_original_text_cleanup",
]

CLIP_CONTEXT_LENGTH = 77
CLIP_VOCAB_SIZE = 49408
BPE_VOCAB_FILENAME = "bpe_simple_vocab_16e6.txt.gz"
# CLIP keeps the first 49152 - 256 - 2 merges of the file (its line 0 is a version header): 256 byte symbols, their
# 256 end-of-word variants, these merges and the two special tokens make the 49408-entry vocabulary.
_NUM_MERGES = 49152 - 256 - 2
_BOS_TOKEN = "<|startoftext|>"
_EOS_TOKEN = "<|endoftext|>"
_WHITESPACE = re.compile(r"\s+")


def clean_clip_text(text: str) -> str:
    """Apply the original CLIP text clean-up: fix mojibake with ftfy, unescape HTML twice, collapse whitespace.

    Lower-casing is left to the tokenizer's normaliser, as in transformers' CLIP tokenizer.
    """
    text = html.unescape(html.unescape(ftfy.fix_text(text)))
    return _WHITESPACE.sub(" ", text).strip()


def _clean_text_input(text):
    """Clean a string, a list of strings or a list of (text, pair) tuples; anything else passes through unchanged."""
    if isinstance(text, str):
        return clean_clip_text(text)
    if isinstance(text, (list, tuple)):
        return type(text)(_clean_text_input(item) for item in text)
    return text


class XCLIPTokenizer(CLIPTokenizer):
    """
    transformers' `CLIPTokenizer` plus the original CLIP text clean-up, so token ids match OpenAI CLIP exactly.

    Every string passed to `__call__`, `encode`, `tokenize` and friends goes through [`clean_clip_text`] before the
    BPE pipeline (not when `is_split_into_words=True`: pre-split words are taken as given). Build one with
    [`load_clip_tokenizer`]; `save_pretrained`/`from_pretrained` round-trip through `tokenizer.json` like any fast
    tokenizer.

    Example:

    ```python
    >>> tokenizer = load_clip_tokenizer()
    >>> tokenizer("a photo of a cat").input_ids
    [49406, 320, 1125, 539, 320, 2368, 49407]
    ```
    """

    def __init__(
        self,
        vocab: dict[str, int] | None = None,
        merges: list[str] | list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ):
        if vocab is None and merges is None:
            # No vocabulary given (a folder without tokenizer files, say): CLIP's own rather than transformers'
            # two-token placeholder, which would silently encode every label the same.
            cached_vocab, cached_merges = _clip_vocab_and_merges()
            vocab, merges = dict(cached_vocab), list(cached_merges)
            kwargs.setdefault("model_max_length", CLIP_CONTEXT_LENGTH)
        super().__init__(vocab=vocab, merges=merges, **kwargs)

    def _encode_plus(self, text, text_pair=None, **kwargs):
        if not kwargs.get("is_split_into_words", False):
            text = _clean_text_input(text)
            text_pair = _clean_text_input(text_pair)
        return super()._encode_plus(text, text_pair=text_pair, **kwargs)


def _find_open_clip_bpe_file() -> Path:
    """Locate `bpe_simple_vocab_16e6.txt.gz` inside the installed `open_clip` package without importing it."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"load_clip_tokenizer needs the CLIP BPE vocabulary `{BPE_VOCAB_FILENAME}` shipped by the "
            "`open_clip_torch` package, which is not installed: `pip install open_clip_torch`."
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BPE_VOCAB_FILENAME
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"The installed `open_clip` package ({', '.join(spec.submodule_search_locations)}) has no "
        f"`{BPE_VOCAB_FILENAME}`; reinstall `open_clip_torch`."
    )


@functools.lru_cache(maxsize=1)
def _clip_vocab_and_merges() -> tuple[dict[str, int], tuple[tuple[str, str], ...]]:
    """Read the BPE file once per process and return CLIP's vocabulary (49408 entries) and merge list."""
    bpe_file = _find_open_clip_bpe_file()
    try:
        lines = gzip.decompress(bpe_file.read_bytes()).decode("utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"Corrupt CLIP BPE vocabulary file {bpe_file}: {error}") from error
    merges = tuple(tuple(line.split()) for line in lines[1 : 1 + _NUM_MERGES])
    if len(merges) != _NUM_MERGES or any(len(merge) != 2 for merge in merges):
        raise ValueError(
            f"Malformed CLIP BPE vocabulary file {bpe_file}: expected {_NUM_MERGES} merges of two symbols each."
        )
    # The id order is CLIP's: byte symbols, their end-of-word variants, one token per merge, then the specials.
    byte_symbols = list(bytes_to_unicode().values())
    tokens = byte_symbols + [symbol + "</w>" for symbol in byte_symbols]
    tokens += ["".join(merge) for merge in merges]
    tokens += [_BOS_TOKEN, _EOS_TOKEN]
    return {token: index for index, token in enumerate(tokens)}, merges


def load_clip_tokenizer() -> XCLIPTokenizer:
    """
    Build the exact OpenAI CLIP tokenizer offline, from the BPE vocabulary shipped by `open_clip_torch`.

    The vocabulary file is read once per process (cached); each call returns a new tokenizer object, because
    transformers mutates tokenizers in place (e.g. `ProcessorMixin.save_pretrained` records its processor class on
    them), so sharing one instance between callers would leak such changes. Building one takes about 0.1 s once the
    file is cached.

    Returns:
        [`XCLIPTokenizer`]: vocabulary 49408, `<|startoftext|>` = 49406, `<|endoftext|>` = 49407 (also the padding
        and unknown token), `model_max_length` 77. Call it with `truncation=True` to cut long texts to 77 ids that
        still end with `<|endoftext|>`.
    """
    return XCLIPTokenizer()


def with_original_text_cleanup(tokenizer: PreTrainedTokenizerBase) -> PreTrainedTokenizerBase:
    """
    `tokenizer` with the original's text clean-up: transformers' own `CLIPTokenizer` holding CLIP's vocabulary and
    special tokens becomes an [`XCLIPTokenizer`] with its length limit and padding and truncation sides; any other
    tokenizer is returned unchanged.

    The Hub X-CLIP checkpoints' `tokenizer_config.json` names `CLIPTokenizer`, so `AutoTokenizer` and
    `ProcessorMixin.from_pretrained` load that class. Its ids equal the original's for plain text but not for text the
    original cleans first: curly quotes, ligatures, mojibake, HTML entities (`"driver’s"`, `"rock &amp; roll"`).
    """
    if type(tokenizer) is not CLIPTokenizer:  # XCLIPTokenizer already, or a tokenizer of another kind
        return tokenizer
    clip_vocab, _ = _clip_vocab_and_merges()
    if tokenizer.get_vocab() != clip_vocab:
        return tokenizer
    converted = XCLIPTokenizer(
        model_max_length=tokenizer.model_max_length,
        padding_side=tokenizer.padding_side,
        truncation_side=tokenizer.truncation_side,
    )
    # Other special tokens (a padding token of one's own, say) are a deliberate choice the conversion would undo.
    if converted.special_tokens_map != tokenizer.special_tokens_map:
        return tokenizer
    return converted
