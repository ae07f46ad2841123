"""The offline CLIP tokenizer against open_clip's `SimpleTokenizer`, which implements the original CLIP tokenizer."""

import csv
import importlib.util
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, CLIPTokenizer

from xclip.processing import (
    XCLIPTokenizer,
    clean_clip_text,
    load_clip_tokenizer,
    tokenization_xclip,
    with_original_text_cleanup,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
BOS, EOS = 49406, 49407

TRICKY = [
    "ApplyEyeMakeup",
    "YoYo",
    "PlayingDaf",
    "Hello, World!!! It's 2024.",
    "don't stop'n go -- they'll've",
    "  repeated   spaces\tand\nnewlines  ",
    "\u3000ideographic\u00a0no-break spaces",
    "café naïve résumé Ångström",
    "a\u0301 combining accent",
    "ÇAĞRI İstanbul ß",
    "&amp; &lt;tag&gt; &amp;amp; double-escaped",
    "<b>tag</b> &amp;amp; (a literal tag stops ftfy unescaping)",
    "Ã©mojibake fixed by ftfy",
    "ﬁ ligature",
    "😀 emoji 👍🏽",
    "TV-Show (HD) #1 @home 3.14 12345",
    "x" * 100,
    "",
]


def label_names() -> list[str]:
    if not SHARED.is_dir():
        pytest.skip(f"shared data folder {SHARED} is absent (fresh clone)")
    names = []
    for path in sorted((SHARED / "labels").glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as handle:
            names += [row["name"] for row in csv.DictReader(handle)]
    return names


@pytest.fixture(scope="module")
def tokenizer() -> XCLIPTokenizer:
    return load_clip_tokenizer()


@pytest.fixture(scope="module")
def original():
    open_clip_tokenizer = pytest.importorskip("open_clip.tokenizer")
    return open_clip_tokenizer.SimpleTokenizer()


def test_known_ids(tokenizer):
    assert tokenizer("a photo of a cat").input_ids == [BOS, 320, 1125, 539, 320, 2368, EOS]


def test_vocabulary_and_special_tokens(tokenizer):
    assert isinstance(tokenizer, XCLIPTokenizer) and tokenizer.is_fast
    assert len(tokenizer) == 49408
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id) == (BOS, EOS, EOS)
    assert tokenizer.model_max_length == 77


def test_all_class_names_match_the_original(tokenizer, original):
    names = label_names()
    assert len(names) == 400 + 600 + 51 + 101
    mismatches = [name for name in names if tokenizer(name).input_ids != [BOS, *original.encode(name), EOS]]
    assert not mismatches


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_strings_match_the_original(tokenizer, original, text):
    assert tokenizer(text, add_special_tokens=False).input_ids == original.encode(text)


def test_literal_end_of_text_is_the_special_token(tokenizer):
    # The original CLIP tokenizer treats "<|endoftext|>" in text as its special token; open_clip renamed its specials
    # to "<end_of_text>", so it is not a reference here.
    assert tokenizer("<|endoftext|> inside").input_ids == [BOS, EOS, 2912, EOS]


def test_the_second_text_of_a_pair_is_cleaned_too(tokenizer):
    cleaned = tokenizer("a photo of & cat", add_special_tokens=False).input_ids
    paired = tokenizer("a cat", "  a photo\tof &amp;amp; cat  ", add_special_tokens=False).input_ids
    assert paired[2:] == cleaned


def test_clean_up():
    assert clean_clip_text("  a &amp;amp; b\t\n c  ") == "a & b c"
    # ftfy leaves entities alone in text with a literal "<", so both of the original's unescapes are needed here.
    assert clean_clip_text("<b> &amp;amp; </b>") == "<b> & </b>"
    assert clean_clip_text("Ã©") == "é"


def test_batches_pad_to_the_longest_with_end_of_text_and_keep_the_pooling_position(tokenizer):
    texts = ["a photo of a cat", "dog", "ApplyEyeMakeup"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    lengths = [len(tokenizer(text).input_ids) for text in texts]
    assert batch.input_ids.shape == (3, max(lengths))
    assert batch.attention_mask.sum(dim=1).tolist() == lengths
    assert torch.all(batch.input_ids[batch.attention_mask == 0] == EOS)
    # The original pools text features at `argmax(ids)`: the first <|endoftext|>, which padding with it never moves.
    assert batch.input_ids.argmax(dim=1).tolist() == [length - 1 for length in lengths]


def test_truncation_keeps_start_and_end_of_text(tokenizer):
    ids = tokenizer("word " * 100, truncation=True).input_ids
    assert len(ids) == 77 and ids[0] == BOS and ids[-1] == EOS


def test_save_and_load_round_trip(tokenizer, tmp_path):
    tokenizer.save_pretrained(tmp_path)
    texts = TRICKY + ["a photo of a cat"]
    expected = tokenizer(texts).input_ids
    for loaded in (XCLIPTokenizer.from_pretrained(tmp_path), AutoTokenizer.from_pretrained(tmp_path)):
        assert type(loaded) is XCLIPTokenizer
        assert loaded.model_max_length == 77
        assert loaded(texts).input_ids == expected


def plain_clip_tokenizer(swap: tuple[str, str] | None = None, **kwargs) -> CLIPTokenizer:
    """transformers' own CLIPTokenizer, as the Hub checkpoints' `tokenizer_config.json` names it; `swap` exchanges
    two tokens' ids for a vocabulary that is not CLIP's."""
    vocab, merges = tokenization_xclip._clip_vocab_and_merges()
    vocab = dict(vocab)
    if swap is not None:
        first, second = swap
        vocab[first], vocab[second] = vocab[second], vocab[first]
    return CLIPTokenizer(vocab=vocab, merges=list(merges), **{"model_max_length": 77, **kwargs})


def test_hub_style_clip_tokenizer_gets_the_original_clean_up(tokenizer, tmp_path):
    from xclip.pipelines.components import resolve_tokenizer
    from xclip.processing import XCLIPProcessor, XCLIPVideoProcessor

    plain = plain_clip_tokenizer()
    plain.save_pretrained(tmp_path)
    assert type(AutoTokenizer.from_pretrained(tmp_path)) is CLIPTokenizer  # what a Hub folder loads as
    texts = ["the driver’s seat", "rock &amp; roll", "ﬁ ligature", "a photo of a cat"]
    assert plain(texts).input_ids != tokenizer(texts).input_ids  # the clean-up matters for these texts
    hub_tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    hub_processor = XCLIPProcessor(tokenizer=hub_tokenizer, video_processor=XCLIPVideoProcessor())
    for converted in (
        hub_processor.tokenizer,
        resolve_tokenizer(None, plain),
        with_original_text_cleanup(plain),
    ):
        assert type(converted) is XCLIPTokenizer and converted.model_max_length == 77
        assert converted(texts).input_ids == tokenizer(texts).input_ids


def test_other_tokenizers_are_left_as_they_are(tokenizer):
    other_vocabulary = plain_clip_tokenizer(swap=("cat</w>", "dog</w>"))
    own_padding = plain_clip_tokenizer(pad_token="!")
    for other in (other_vocabulary, own_padding, tokenizer):
        assert with_original_text_cleanup(other) is other


def test_the_conversion_keeps_length_and_sides(tokenizer):
    converted = with_original_text_cleanup(
        plain_clip_tokenizer(model_max_length=32, padding_side="left", truncation_side="left")
    )
    assert type(converted) is XCLIPTokenizer
    assert (converted.model_max_length, converted.padding_side, converted.truncation_side) == (32, "left", "left")


def test_each_call_returns_an_independent_tokenizer():
    first, second = load_clip_tokenizer(), load_clip_tokenizer()
    first.padding_side = "left"
    assert first is not second and second.padding_side == "right"


def test_missing_open_clip_is_a_clear_error(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "open_clip" else real_find_spec(name, *args)
    )
    tokenization_xclip._clip_vocab_and_merges.cache_clear()
    try:
        with pytest.raises(ImportError, match="open_clip_torch"):
            load_clip_tokenizer()
    finally:
        tokenization_xclip._clip_vocab_and_merges.cache_clear()


def test_folder_without_tokenizer_files_gets_the_clip_vocabulary(tmp_path):
    import transformers

    import xclip

    xclip.XCLIPConfig().save_pretrained(tmp_path)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path)
    assert len(tokenizer) == 49408
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
