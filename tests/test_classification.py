"""XCLIPForVideoClassification: a closed-set classifier whose logits are X-CLIP's for its stored label set."""

import logging

import pytest
import torch
from safetensors import safe_open
from transformers import AutoModelForVideoClassification
from transformers.testing_utils import CaptureLogger
from transformers.utils import logging as transformers_logging

from test_modeling import make_config
from xclip import XCLIPConfig, XCLIPModel
from xclip.modeling.modeling_xclip_classification import (
    XCLIPForVideoClassification,
    aggregate_view_logits,
    logits_per_view,
    set_class_names,
)
from xclip.processing import build_processor, load_clip_tokenizer
from xclip.processing.label_texts import format_label_texts, tokenize_label_texts

LABELS = ["riding a bike", "playing guitar", "cooking", "walking the dog"]
CLIP_VOCAB_SIZE = 49408


def make_xclip(seed: int = 0) -> XCLIPModel:
    """A tiny random X-CLIP (32 px, 4 frames) with CLIP's vocabulary, so the real CLIP tokenizer drives it."""
    config = make_config("p8-f4")
    config.text_config.vocab_size = CLIP_VOCAB_SIZE
    torch.manual_seed(seed)
    model = XCLIPModel(config).eval()
    with torch.no_grad():  # random init leaves the prompt generator almost inert; make it count
        model.prompts_generator.alpha.normal_(0.5, 0.2)
    return model


def make_processor(model: XCLIPModel):
    vision_config = model.config.vision_config
    return build_processor(image_size=vision_config.image_size, num_frames=vision_config.num_frames)


def random_videos(config: XCLIPConfig, batch_size: int = 3, num_views: int | None = None) -> torch.Tensor:
    vision_config = config.vision_config
    shape = (vision_config.num_frames, 3, vision_config.image_size, vision_config.image_size)
    views = () if num_views is None else (num_views,)
    return torch.randn((batch_size, *views, *shape), generator=torch.Generator().manual_seed(7))


@pytest.fixture(scope="module")
def xclip_and_processor():
    model = make_xclip()
    return model, make_processor(model)


@pytest.fixture(scope="module")
def classifier(xclip_and_processor):
    model, processor = xclip_and_processor
    return XCLIPForVideoClassification.from_xclip(model, processor, LABELS, hypothesis_template="a video of {}.")


def reference_logits(model, processor, videos, texts) -> torch.Tensor:
    with torch.no_grad():
        return model(pixel_values=videos, **processor(text=texts)).logits_per_video


def test_logits_equal_xclip_logits_for_the_same_texts(xclip_and_processor, classifier):
    model, processor = xclip_and_processor
    videos = random_videos(model.config)
    expected = reference_logits(model, processor, videos, [f"a video of {label}." for label in LABELS])
    with torch.no_grad():
        got = classifier(pixel_values=videos).logits
    assert got.shape == (3, len(LABELS))
    assert (got - expected).abs().max() <= 1e-5
    assert classifier.config.id2label == dict(enumerate(LABELS))
    assert classifier.config.label2id == {label: index for index, label in enumerate(LABELS)}
    assert classifier.config.num_labels == len(LABELS)
    assert classifier.x_clip is model  # weights shared, not copied


def test_a_saved_classifier_loaded_with_another_configs_classes_or_frames(xclip_and_processor, classifier, tmp_path):
    """Other classes: the label embeddings were drawn from uninitialised memory. Another frame count: the advice named
    a method the classifier does not have."""
    from xclip.modeling.modeling_xclip_classification import set_class_names

    model, processor = xclip_and_processor
    classifier.save_pretrained(tmp_path)
    two_classes = XCLIPConfig.from_pretrained(tmp_path)
    set_class_names(two_classes, ["cooking", "walking the dog"])
    reloaded = XCLIPForVideoClassification.from_pretrained(tmp_path, config=two_classes)
    expected = XCLIPForVideoClassification.from_xclip(model, load_clip_tokenizer(), ["cooking", "walking the dog"])
    torch.testing.assert_close(reloaded.label_embeds, expected.label_embeds)  # the config's names, as they are
    eight_frames = XCLIPConfig.from_pretrained(tmp_path)
    eight_frames.vision_config.num_frames = 8
    with pytest.raises(ValueError, match=r"call model\.x_clip\.resize_num_frames\(8\)"):
        XCLIPForVideoClassification.from_pretrained(tmp_path, config=eight_frames)


def test_saved_classifier_reloads_and_its_backbone_loads_into_xclip(xclip_and_processor, classifier, tmp_path):
    model, processor = xclip_and_processor
    classifier.save_pretrained(tmp_path)
    with safe_open(tmp_path / "model.safetensors", "pt") as checkpoint:
        keys = set(checkpoint.keys())
    assert "label_embeds" in keys
    assert keys - {"label_embeds"} == {f"x_clip.{key}" for key in model.state_dict()}

    videos = random_videos(model.config)
    with torch.no_grad():
        expected = classifier(pixel_values=videos).logits
        reloaded = AutoModelForVideoClassification.from_pretrained(tmp_path).eval()
        assert type(reloaded) is XCLIPForVideoClassification
        assert reloaded.config.id2label == dict(enumerate(LABELS))
        assert (reloaded(pixel_values=videos).logits - expected).abs().max() <= 1e-6

        backbone, info = XCLIPModel.from_pretrained(tmp_path, output_loading_info=True)
        assert not info["missing_keys"] and not info["mismatched_keys"]
        assert not info["unexpected_keys"]  # XCLIPModel ignores label_embeds on purpose
        texts = [f"a video of {label}." for label in LABELS]
        assert (reference_logits(backbone.eval(), processor, videos, texts) - expected).abs().max() <= 1e-5


def test_several_views_average_the_per_view_probabilities(xclip_and_processor, classifier):
    model, _ = xclip_and_processor
    videos = random_videos(model.config, batch_size=2, num_views=3)
    with torch.no_grad():
        logits = classifier(pixel_values=videos).logits
        per_view = torch.stack([classifier(pixel_values=videos[:, view]).logits for view in range(3)], dim=1)
    expected_probs = per_view.softmax(-1).sum(1) / 3  # the original sums the views' softmax; normalised here
    assert logits.shape == (2, len(LABELS))
    assert (logits.softmax(-1) - expected_probs).abs().max() <= 1e-6
    # the logits are log-probabilities already
    assert (logits.exp().sum(-1) - 1).abs().max() <= 1e-5


def test_logits_per_view_runs_every_view_as_the_model_does_alone(xclip_and_processor, classifier):
    model, _ = xclip_and_processor
    videos = random_videos(model.config, batch_size=2, num_views=3)
    text_embeds = classifier.label_embeds
    with torch.no_grad():
        logits, _ = logits_per_view(model, videos, text_embeds)
        single_view, _ = logits_per_view(model, videos[:, 0], text_embeds)
        per_view = [model(pixel_values=videos[:, view], text_embeds=text_embeds).logits_per_video for view in range(3)]
    expected = torch.stack(per_view, dim=1)
    assert logits.shape == (2, 3, len(LABELS)) and single_view.shape == (2, 1, len(LABELS))
    torch.testing.assert_close(logits, expected)
    torch.testing.assert_close(single_view, expected[:, :1])


@pytest.mark.parametrize("num_views", [None, 3])
def test_evaluation_scores_views_like_the_classifier(xclip_and_processor, classifier, num_views):
    from accelerate import Accelerator

    from xclip.training.engine import predict

    model, _ = xclip_and_processor
    videos = random_videos(model.config, batch_size=2, num_views=num_views)
    batch = {"pixel_values": videos, "labels": torch.tensor([0, 1]), "valid": torch.tensor([1, 1])}
    scores = predict(Accelerator(cpu=True), model, [batch], classifier.label_embeds).scores
    with torch.no_grad():
        logits = classifier(pixel_values=videos).logits
    # The evaluation sums the view probabilities in float64; the classifier gives the log of their mean.
    assert scores.dtype == torch.float64
    torch.testing.assert_close(scores, logits.double().softmax(-1) * (num_views or 1))


def test_one_view_aggregates_to_its_own_softmax():
    view_logits = torch.tensor([[[2.0, 0.5, -1.0]]])
    assert torch.allclose(aggregate_view_logits(view_logits).softmax(-1), view_logits[:, 0].softmax(-1))


def test_loss_is_cross_entropy_and_label_ids_are_checked(xclip_and_processor, classifier):
    model, _ = xclip_and_processor
    videos = random_videos(model.config)
    labels = torch.tensor([0, 3, 1])
    with torch.no_grad():
        output = classifier(pixel_values=videos, labels=labels)
        assert torch.allclose(output.loss, torch.nn.functional.cross_entropy(output.logits, labels))
        with pytest.raises(ValueError, match=r"Label id 4 is out of range: there are 4 classes in this classifier"):
            classifier(pixel_values=videos, labels=torch.tensor([0, 4, 1]))


def test_wrong_video_shape_is_a_clear_error(classifier):
    with pytest.raises(ValueError, match=r"pixel_values must be .* got shape \(4, 3, 32, 32\)"):
        classifier(pixel_values=torch.zeros(4, 3, 32, 32))


def test_set_labels_replaces_the_classes(xclip_and_processor):
    model, processor = xclip_and_processor
    classifier = XCLIPForVideoClassification.from_xclip(model, processor, LABELS)
    classifier.set_labels(processor, ["cooking", "swimming"])
    videos = random_videos(model.config)
    with torch.no_grad():
        got = classifier(pixel_values=videos).logits
    assert classifier.config.id2label == {0: "cooking", 1: "swimming"}
    assert (got - reference_logits(model, processor, videos, ["cooking", "swimming"])).abs().max() <= 1e-5


def test_a_classifier_whose_label_embeddings_are_zero_warns_once_at_its_first_call(
    xclip_and_processor, classifier, tmp_path, caplog
):
    """XCLIPForVideoClassification(config) leaves its label embeddings zero: it scored every class alike without a
    word. However they were set later, a classifier holding classes does not warn."""
    model, processor = xclip_and_processor
    videos = random_videos(model.config, batch_size=1)
    classifier.save_pretrained(tmp_path / "classes")
    XCLIPForVideoClassification(classifier.config).save_pretrained(tmp_path / "zeros")

    def warnings_running(*classifiers) -> list[str]:
        caplog.clear()
        with torch.no_grad(), caplog.at_level(logging.WARNING, logger="xclip"):
            for built in classifiers:
                built(pixel_values=videos)
        return [record.getMessage() for record in caplog.records if "label_embeds" in record.getMessage()]

    fresh = XCLIPForVideoClassification(classifier.config)
    warned = warnings_running(fresh, fresh, XCLIPForVideoClassification.from_pretrained(tmp_path / "zeros"))
    assert len(warned) == 2 and "are all zero: it scores every class alike" in warned[0]

    restored = XCLIPForVideoClassification(classifier.config)
    restored.load_state_dict(classifier.state_dict())
    relabelled = XCLIPForVideoClassification(classifier.config)
    relabelled.set_labels(processor, LABELS)
    copied = XCLIPForVideoClassification(classifier.config)
    with torch.no_grad():
        copied.label_embeds.copy_(classifier.label_embeds)
    assert not warnings_running(
        XCLIPForVideoClassification.from_xclip(model, processor, LABELS),
        XCLIPForVideoClassification.from_pretrained(tmp_path / "classes"),
        AutoModelForVideoClassification.from_pretrained(tmp_path / "classes"),
        restored,
        relabelled,
        copied,
    )


def test_a_fresh_classifier_compiles_into_one_graph_like_the_eager_one(xclip_and_processor, classifier):
    # Its first call checks the label embeddings once, a read of values that torch.compile cannot trace: skipped there.
    videos = random_videos(xclip_and_processor[0].config, batch_size=2)
    fresh = XCLIPForVideoClassification(classifier.config).eval()
    fresh.load_state_dict(classifier.state_dict())
    with torch.no_grad():
        compiled = torch.compile(fresh, fullgraph=True, backend="eager")(pixel_values=videos).logits
        torch.testing.assert_close(compiled, classifier(pixel_values=videos).logits)


@pytest.mark.parametrize(
    ("labels", "template", "message"),
    [
        ([], "{}", "Got no labels"),
        (["run", ""], "{}", "Label 1 is ''"),
        (["run", "   "], "{}", "Label 1 is '   '; every label must be a non-empty string"),
        (["run", "jump", "run"], "{}", "Label 2 repeats 'run' \\(first given as label 0\\)"),
        (["run", "Run  "], "{}", "Label 1 .Run  . repeats label 0 .run. up to case or spacing"),
        ("run,jump", "{}", "Labels must be a list of strings"),
        (["run"], "a video", "exactly one '\\{\\}'"),
        (["run"], "{} and {}", "exactly one '\\{\\}'"),
        (["run"], "{label}", "exactly one '\\{\\}'"),
        (["run"], "{} of {what}", "exactly one '\\{\\}'"),  # formatting would raise a KeyError
    ],
)
def test_bad_labels_and_templates_are_rejected(labels, template, message):
    with pytest.raises(ValueError, match=message):
        format_label_texts(labels, template)


def test_format_label_texts_fills_the_template():
    assert format_label_texts(["run", "jump"]) == ["run", "jump"]
    assert format_label_texts(["run"], "a video of {}.") == ["a video of run."]


def test_set_class_names_stores_both_mappings_in_class_index_order():
    config = XCLIPConfig()
    set_class_names(config, ["run", "jump", "swim"])
    assert config.id2label == {0: "run", 1: "jump", 2: "swim"}
    assert config.label2id == {"run": 0, "jump": 1, "swim": 2}
    assert config.num_labels == 3


def test_an_xclip_folder_with_class_names_loads_as_a_classifier(xclip_and_processor, tmp_path):
    model, processor = xclip_and_processor
    plain = make_xclip()
    set_class_names(plain.config, LABELS)
    plain.save_pretrained(tmp_path)

    with CaptureLogger(transformers_logging.get_logger("transformers.modeling_utils")) as captured:
        loaded, info = AutoModelForVideoClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert not info["missing_keys"]
    assert "label_embeds" not in captured.out  # no load report calling the encoded classes untrained
    videos = random_videos(model.config)
    with torch.no_grad():
        got = loaded.eval()(pixel_values=videos).logits
    assert (got - reference_logits(model, processor, videos, LABELS)).abs().max() <= 1e-5


def test_an_xclip_folder_without_class_names_is_no_classifier(xclip_and_processor, tmp_path):
    model, _ = xclip_and_processor
    model.save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="without class names"):
        XCLIPForVideoClassification.from_pretrained(tmp_path)


@pytest.mark.parametrize("with_processor", [False, True])
def test_only_the_labels_longer_than_the_context_are_named(with_processor):
    tokenizer = make_processor(make_xclip()) if with_processor else load_clip_tokenizer()
    with pytest.warns(UserWarning, match=r"^1 label text\(s\) are longer .*: 1 'word word") as record:
        tokens = tokenize_label_texts(tokenizer, ["run", "word " * 80 + "cat", "word " * 60 + "dog"])
    assert len(record) == 1 and tokens["input_ids"].shape == (3, 77)


def test_return_dict_false_gives_the_output_as_a_tuple(xclip_and_processor, classifier):
    model, _ = xclip_and_processor
    videos, labels = random_videos(model.config), torch.tensor([0, 3, 1])
    with torch.no_grad():
        output = classifier(pixel_values=videos, labels=labels)
        as_tuple = classifier(pixel_values=videos, labels=labels, return_dict=False)
        without_loss = classifier(pixel_values=random_videos(model.config, num_views=2), return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == 2  # (loss, logits), the Nones left out as transformers does
    torch.testing.assert_close(as_tuple, output.to_tuple(), rtol=0, atol=0)
    assert isinstance(without_loss, tuple) and without_loss[0].shape == (3, len(LABELS))
    # and the backbone is read by name even where its own config asks for tuples
    model.config.return_dict = False
    try:
        with torch.no_grad():
            torch.testing.assert_close(classifier(pixel_values=videos).logits, output.logits, rtol=0, atol=0)
    finally:
        model.config.return_dict = True


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (torch.tensor([0, 1]), r"labels must hold one class index per video, shape \(3,\); got \(2,\)"),
        (torch.tensor(1), r"one class index per video, shape \(3,\); got \(\)"),
        (torch.eye(4, dtype=torch.long)[:3], r"one class index per video, shape \(3,\); got \(3, 4\)"),
        (torch.tensor([0.0, 1.0, 2.0]), r"class indices.*torch.float32"),
        (torch.tensor([0, -1, 1]), r"Label id -1 is out of range: there are 4 classes in this classifier"),
    ],
)
def test_labels_that_are_not_one_class_index_per_video_are_refused(xclip_and_processor, classifier, labels, message):
    model, _ = xclip_and_processor
    with pytest.raises(ValueError, match=message):
        classifier(pixel_values=random_videos(model.config), labels=labels)


@pytest.mark.parametrize("text_input", ["text_embeds", "input_ids"])
def test_text_inputs_are_refused_since_the_classes_are_stored(xclip_and_processor, classifier, text_input):
    model, _ = xclip_and_processor
    value = classifier.label_embeds if text_input == "text_embeds" else torch.ones(4, 5, dtype=torch.long)
    with pytest.raises(TypeError, match=rf"got {text_input}, but it scores videos against its stored label embeddings"):
        classifier(pixel_values=random_videos(model.config), **{text_input: value})
