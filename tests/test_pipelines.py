"""The X-CLIP pipelines: zero-shot video classification, and video classification of saved X-CLIP classifiers."""

import functools
import logging
import warnings
from collections.abc import Iterator

import numpy as np
import PIL.Image
import pytest
import torch
import transformers
from transformers import pipeline
from transformers.pipelines.pt_utils import KeyDataset

from test_classification import LABELS, make_processor, make_xclip
from xclip.modeling import XCLIPModel
from xclip.modeling.modeling_xclip_classification import XCLIPForVideoClassification, set_class_names
from xclip.processing import XCLIPVideoProcessor
from xclip.video import VideoDecodeError, read_frames
from xclip.video.synthetic import moving_texture_frames, write_video

NUM_FRAMES = 4  # the tiny model's frame count


@pytest.fixture(scope="module")
def model_and_processor():
    model = make_xclip()
    return model, make_processor(model)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, model_and_processor):
    folder = tmp_path_factory.mktemp("xclip")
    model, processor = model_and_processor
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """Three different small H.264 videos of 20 frames."""
    folder = tmp_path_factory.mktemp("videos")
    return [
        str(write_video(folder / f"video{seed}.mp4", moving_texture_frames(20, 48, 64, seed=seed))) for seed in range(3)
    ]


@pytest.fixture(scope="module")
def zero_shot(model_dir):
    return pipeline("zero-shot-video-classification", model=str(model_dir))


def scores_by_label(predictions: list[dict]) -> dict[str, float]:
    return {prediction["label"]: prediction["score"] for prediction in predictions}


def assert_same_predictions(got: list[dict], expected: list[dict], atol: float = 1e-5) -> None:
    assert [prediction["label"] for prediction in got] == [prediction["label"] for prediction in expected]
    assert np.allclose([p["score"] for p in got], [p["score"] for p in expected], atol=atol, rtol=0)


def test_scores_are_sorted_normalised_and_equal_the_models_softmax(zero_shot, model_and_processor, videos):
    predictions = zero_shot(videos[0], candidate_labels=LABELS)
    assert all(set(prediction) == {"label", "score"} for prediction in predictions)
    assert sorted(prediction["label"] for prediction in predictions) == sorted(LABELS)
    scores = [prediction["score"] for prediction in predictions]
    assert scores == sorted(scores, reverse=True)
    assert abs(sum(scores) - 1) <= 1e-6

    model, processor = model_and_processor
    with torch.no_grad():
        inputs = processor(text=LABELS, videos=videos[0])
        expected = model(**inputs).logits_per_video[0].softmax(-1)
    got = scores_by_label(predictions)
    assert np.allclose([got[label] for label in LABELS], expected.numpy(), atol=1e-6)


def test_top_k_keeps_the_best_labels(zero_shot, videos):
    everything = zero_shot(videos[0], candidate_labels=LABELS)
    assert zero_shot(videos[0], candidate_labels=LABELS, top_k=2) == everything[:2]


def test_hypothesis_template_changes_the_encoded_text_only(zero_shot, videos):
    templated = zero_shot(videos[0], candidate_labels=LABELS, hypothesis_template="a video of {}.")
    spelled_out = zero_shot(videos[0], candidate_labels=[f"a video of {label}." for label in LABELS])
    assert [p["label"] for p in templated] == [p["label"][len("a video of ") : -1] for p in spelled_out]
    assert np.allclose([p["score"] for p in templated], [p["score"] for p in spelled_out], atol=1e-6)
    assert scores_by_label(templated) != scores_by_label(zero_shot(videos[0], candidate_labels=LABELS))


def test_comma_separated_labels(zero_shot, videos):
    assert zero_shot(videos[0], candidate_labels="riding a bike, cooking") == zero_shot(
        videos[0], candidate_labels=["riding a bike", "cooking"]
    )


def test_one_candidate_label_scores_1_with_a_warning_saying_why(zero_shot, videos):
    with pytest.warns(UserWarning, match=r"One candidate label \('cooking'\): .* scores 1.0 whatever the video"):
        assert zero_shot(videos[0], candidate_labels=["cooking"]) == [{"label": "cooking", "score": 1.0}]


def test_an_image_file_is_classified_as_a_one_frame_video(zero_shot, tmp_path):
    """Its path was refused as a still image, while the same image as a PIL object was a one-frame video."""
    frame = moving_texture_frames(1, 48, 64, seed=4)[0]
    PIL.Image.fromarray(frame).save(tmp_path / "picture.jpg", quality=100)
    expected = zero_shot(PIL.Image.open(tmp_path / "picture.jpg"), candidate_labels=LABELS)
    assert_same_predictions(zero_shot(str(tmp_path / "picture.jpg"), candidate_labels=LABELS), expected)


def test_every_input_form_of_one_video_gives_the_same_scores(zero_shot, videos):
    path = videos[1]
    expected = zero_shot(path, candidate_labels=LABELS)
    frames = read_frames(path, list(range(20)))  # [20, 48, 64, 3], the decoded video
    inputs = {
        "file URL": f"file://{path}",
        "array": frames,
        "tensor": torch.from_numpy(frames),
        "channels-first tensor": torch.from_numpy(frames).permute(0, 3, 1, 2),
        "list of PIL frames": [PIL.Image.fromarray(frame) for frame in frames],
        "list of arrays": list(frames),
    }
    for form, video in inputs.items():
        got = zero_shot(video, candidate_labels=LABELS)
        assert isinstance(got[0], dict), form
        assert_same_predictions(got, expected, atol=1e-6)


def test_short_videos_repeat_frames_and_long_ones_are_resampled(zero_shot):
    frames = moving_texture_frames(8, 48, 64, seed=5)
    # segment centres of 4 segments: 2 frames -> 0, 0, 1, 1; 8 frames -> 1, 3, 5, 7
    assert_same_predictions(
        zero_shot(frames[:2], candidate_labels=LABELS),
        zero_shot(frames[[0, 0, 1, 1]], candidate_labels=LABELS),
        atol=1e-6,
    )
    assert_same_predictions(
        zero_shot(frames, candidate_labels=LABELS), zero_shot(frames[[1, 3, 5, 7]], candidate_labels=LABELS), atol=1e-6
    )
    one_frame = zero_shot(frames[:1], candidate_labels=LABELS)
    assert abs(sum(p["score"] for p in one_frame) - 1) <= 1e-6


def test_batches_equal_one_by_one(zero_shot, videos):
    one_by_one = [zero_shot(video, candidate_labels=LABELS) for video in videos]
    for batch_size in (1, 2, 3):
        batched = zero_shot(videos, candidate_labels=LABELS, batch_size=batch_size)
        assert len(batched) == len(videos)
        for got, expected in zip(batched, one_by_one):
            assert_same_predictions(got, expected)
    # a 5-D array is a batch too
    arrays = np.stack([read_frames(video, list(range(20))) for video in videos])
    for got, expected in zip(zero_shot(arrays, candidate_labels=LABELS, batch_size=2), one_by_one):
        assert_same_predictions(got, expected)


def test_labels_are_encoded_once_per_label_set(model_dir, videos):
    classifier = pipeline("zero-shot-video-classification", model=str(model_dir))
    encoded_batches = []
    classifier.model.text_model.register_forward_hook(lambda module, args, output: encoded_batches.append(1))

    classifier(videos, candidate_labels=LABELS)
    assert len(encoded_batches) == 1  # three videos, one text encoding
    classifier(videos[0], candidate_labels=LABELS, batch_size=2)
    assert len(encoded_batches) == 1  # cached across calls
    classifier(videos[0], candidate_labels=LABELS, hypothesis_template="a video of {}.")
    assert len(encoded_batches) == 2  # another template is another set of texts
    classifier(videos[0], candidate_labels=LABELS[:2])
    assert len(encoded_batches) == 3
    classifier.clear_label_cache()
    classifier(videos[0], candidate_labels=LABELS)
    assert len(encoded_batches) == 4


def test_several_views_average_the_per_view_probabilities(zero_shot, model_and_processor, videos):
    predictions = zero_shot(videos[2], candidate_labels=LABELS, num_clips=2, num_crops=3)
    assert abs(sum(p["score"] for p in predictions) - 1) <= 1e-6

    model, processor = model_and_processor
    with torch.no_grad():
        views = processor(videos=videos[2], num_clips=2, num_crops=3).pixel_values[0]  # [6, T, 3, S, S]
        assert views.shape[:2] == (6, NUM_FRAMES)
        probs = model(pixel_values=views, **processor(text=LABELS)).logits_per_video.softmax(-1)
    expected = probs.sum(0) / 6
    got = scores_by_label(predictions)
    assert np.allclose([got[label] for label in LABELS], expected.numpy(), atol=1e-6)


def test_bfloat16_scores_are_float32s_within_bfloat16_rounding(model_dir, zero_shot, videos):
    classifier = pipeline("zero-shot-video-classification", model=str(model_dir), dtype=torch.bfloat16)
    assert classifier.model.dtype == torch.bfloat16
    predictions = classifier(videos[0], candidate_labels=LABELS)
    assert abs(sum(p["score"] for p in predictions) - 1) <= 1e-3
    in_float32 = zero_shot(videos[0], candidate_labels=LABELS)
    # bf16 keeps 8 bits of mantissa: its scores moved by 0.002 to 0.007 on these videos.
    assert predictions[0]["label"] == in_float32[0]["label"]
    assert_same_predictions(predictions, in_float32, atol=0.03)


def test_a_folder_without_processor_files_uses_the_models_geometry(tmp_path, model_and_processor, zero_shot, videos):
    model, _ = model_and_processor
    model.save_pretrained(tmp_path)
    bare = pipeline("zero-shot-video-classification", model=str(tmp_path))
    assert bare.video_processor.num_frames == NUM_FRAMES
    assert bare.video_processor.crop_size.height == model.config.vision_config.image_size
    assert_same_predictions(
        bare(videos[0], candidate_labels=LABELS), zero_shot(videos[0], candidate_labels=LABELS), atol=1e-6
    )


def test_a_processor_cropping_another_size_than_the_model_takes_is_refused_at_once(tmp_path, model_and_processor):
    model, _ = model_and_processor
    model.save_pretrained(tmp_path)
    XCLIPVideoProcessor.for_image_size(48, NUM_FRAMES).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=rf"{tmp_path}: the video processor crops 48x48 frames, but the model takes "
                                         r"32x32 \(config.vision_config.image_size\)"):
        pipeline("zero-shot-video-classification", model=str(tmp_path))


@pytest.mark.parametrize("broken", ["processor_config.json", "tokenizer.json"])
def test_a_corrupt_processor_or_tokenizer_file_is_named_not_replaced_by_defaults(tmp_path, model_and_processor, broken):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    (tmp_path / broken).write_text("{oops")
    with pytest.raises(ValueError, match=rf"{tmp_path}: cannot load (.* / )?{broken}"):
        pipeline("zero-shot-video-classification", model=str(tmp_path))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs `candidate_labels`"),
        ({"candidate_labels": []}, "Got no labels"),
        ({"candidate_labels": ["run", "run"]}, "repeats 'run'"),
        (
            {"candidate_labels": ["run", "jump", "Run"]},
            "Label 2 'Run' repeats label 0 'run' up to case or spacing, which the tokenizer ignores",
        ),
        ({"candidate_labels": "riding a bike,Riding  a bike"}, "Label 1 'Riding  a bike' repeats label 0"),
        ({"candidate_labels": LABELS, "top_k": 0}, "top_k must be a positive integer"),
        ({"candidate_labels": LABELS, "hypothesis_template": "a video"}, "exactly one"),
    ],
)
def test_bad_arguments_are_rejected_before_decoding(zero_shot, kwargs, message):
    with pytest.raises(ValueError, match=message):
        zero_shot("never-decoded.mp4", **kwargs)


def test_unreadable_videos_name_the_file(zero_shot, tmp_path):
    with pytest.raises(VideoDecodeError, match="missing.mp4"):
        zero_shot(str(tmp_path / "missing.mp4"), candidate_labels=LABELS)
    with pytest.raises(VideoDecodeError, match=r"missing\.mp4.*download failed"):
        zero_shot(f"file://{tmp_path}/missing.mp4", candidate_labels=LABELS)
    with pytest.raises(ValueError, match="empty list of videos"):
        zero_shot([], candidate_labels=LABELS)


# --- pipeline("video-classification") on a saved XCLIPForVideoClassification ------------------------------------


@pytest.fixture(scope="module")
def classifier_dir(tmp_path_factory, model_and_processor):
    folder = tmp_path_factory.mktemp("classifier")
    model, processor = model_and_processor
    XCLIPForVideoClassification.from_xclip(model, processor, LABELS).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_video_classification_pipeline_runs_a_saved_classifier(classifier_dir, zero_shot, videos):
    classifier = pipeline("video-classification", model=str(classifier_dir))
    assert isinstance(classifier.model, XCLIPForVideoClassification)
    predictions = classifier(videos[0], top_k=len(LABELS))
    # the stored classes score exactly as zero-shot classification with the same labels
    assert_same_predictions(predictions, zero_shot(videos[0], candidate_labels=LABELS))
    assert classifier(videos[0], top_k=2) == predictions[:2]
    with pytest.raises(ValueError, match="top_k must be a positive integer, got 0"):
        classifier(videos[0], top_k=0)  # as the zero-shot pipeline: not an empty list

    batched = classifier(videos, top_k=len(LABELS), batch_size=2)
    for got, video in zip(batched, videos):
        assert_same_predictions(got, classifier(video, top_k=len(LABELS)))

    views = classifier(videos[2], top_k=len(LABELS), num_clips=2, num_crops=3)
    assert_same_predictions(views, zero_shot(videos[2], candidate_labels=LABELS, num_clips=2, num_crops=3))


def test_both_pipelines_take_one_video_or_a_batch_alike(classifier_dir, zero_shot, videos):
    from xclip.pipelines.base import XCLIPVideoPipelineMixin

    classifier = pipeline("video-classification", model=str(classifier_dir))
    assert isinstance(classifier, XCLIPVideoPipelineMixin) and isinstance(zero_shot, XCLIPVideoPipelineMixin)
    frames = [read_frames(video, list(range(20))) for video in videos[:2]]
    one_video_as_frames = list(frames[0])
    as_batch = np.stack(frames)
    assert_same_predictions(
        classifier(one_video_as_frames, top_k=len(LABELS)), zero_shot(one_video_as_frames, candidate_labels=LABELS)
    )
    for got, expected in zip(classifier(as_batch, top_k=len(LABELS)), zero_shot(as_batch, candidate_labels=LABELS)):
        assert_same_predictions(got, expected)


def test_video_classification_of_a_model_without_classes_points_to_zero_shot(model_dir):
    with pytest.raises(ValueError, match=rf"{model_dir} is a contrastive X-CLIP model, with no classes to choose from: "
                                         "use the zero-shot-video-classification pipeline"):
        pipeline("video-classification", model=str(model_dir))


@pytest.mark.parametrize("model_class", [XCLIPModel, transformers.XCLIPModel])
def test_video_classification_of_a_model_object_that_names_its_classes(
    model_class, tmp_path, model_and_processor, zero_shot, videos
):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path)
    named = model_class.from_pretrained(tmp_path).eval()
    set_class_names(named.config, LABELS)  # as a training run's best_model, or a checkpoint converted with --labels
    classifier = pipeline("video-classification", model=named, video_processor=processor.video_processor)
    assert isinstance(classifier.model, XCLIPForVideoClassification)
    if model_class is XCLIPModel:
        assert classifier.model.x_clip is named  # the object's weights, not the folder's
    assert_same_predictions(classifier(videos[0], top_k=len(LABELS)), zero_shot(videos[0], candidate_labels=LABELS))


def test_zero_shot_runs_a_transformers_xclip_model_object(tmp_path, model_and_processor, zero_shot, videos):
    model, processor = model_and_processor
    model.save_pretrained(tmp_path)
    processor.save_pretrained(tmp_path)
    theirs = transformers.XCLIPModel.from_pretrained(tmp_path).eval()
    classifier = pipeline("zero-shot-video-classification", model=theirs)
    assert isinstance(classifier.model, XCLIPModel)  # a copy: the classes share their name, not their code
    assert_same_predictions(
        classifier(videos[0], candidate_labels=LABELS), zero_shot(videos[0], candidate_labels=LABELS), atol=1e-6
    )


def test_zero_shot_names_the_module_of_a_model_that_is_not_xclip():
    from transformers import VideoMAEConfig, VideoMAEModel

    config = VideoMAEConfig(
        image_size=16, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64,
    )
    with pytest.raises(TypeError, match=r"need an X-CLIP model \(xclip.XCLIPModel\), got "
                                        r"transformers\.models\.videomae\.modeling_videomae\.VideoMAEModel\. Load "
                                        r"an X-CLIP folder with xclip\.XCLIPModel\.from_pretrained"):
        pipeline("zero-shot-video-classification", model=VideoMAEModel(config))


def test_video_classification_keeps_transformers_behaviour_for_other_models():
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEVideoProcessor
    from transformers.pipelines.video_classification import VideoClassificationPipeline

    config = VideoMAEConfig(
        image_size=16, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64, num_labels=3,
    )
    torch.manual_seed(0)
    model = VideoMAEForVideoClassification(config).eval()
    video_processor = VideoMAEVideoProcessor(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    video = np.random.default_rng(0).integers(0, 256, (10, 20, 24, 3), dtype=np.uint8)

    ours = pipeline("video-classification", model=model, video_processor=video_processor)
    theirs = VideoClassificationPipeline(model=model, video_processor=video_processor)
    assert type(ours).__name__ == "XCLIPVideoClassificationPipeline"
    assert ours(video) == theirs(video)
    with pytest.raises(ValueError, match="options of X-CLIP classifiers, not of VideoMAEForVideoClassification"):
        ours(video, num_clips=2)


def test_labels_longer_than_the_text_context_are_named_in_a_warning(zero_shot, videos):
    long_cat, long_dog = "word " * 80 + "cat", "word " * 80 + "dog"
    with pytest.warns(UserWarning, match=r"2 label text\(s\) are longer than the text encoder's 77 tokens and are "
                                         r"cut to them; what follows is ignored: 0 '(word ){11}wo\.\.\.'; 1 'word"):
        predictions = zero_shot(videos[0], candidate_labels=[long_cat, long_dog, "run"])
    scores = scores_by_label(predictions)
    assert scores[long_cat] == pytest.approx(scores[long_dog])  # why the warning: only the cut-off words differ
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Exactly 77 tokens with the start and end tokens: nothing is cut.
        zero_shot(videos[0], candidate_labels=["word " * 74 + "cat", "run"])


def test_labels_the_tokenizer_cannot_tell_apart_would_score_alike(zero_shot, videos):
    # why they are rejected: the texts encode alike, so the scores could never differ
    embeds = [zero_shot.label_embeddings([label])[0] for label in ("Riding A  bike", "riding a bike")]
    assert torch.equal(embeds[0], embeds[1])


@pytest.mark.parametrize(
    ("video", "message"),
    [
        (np.full((8, 32, 32, 3), np.nan, np.float32), r"array of shape \(8, 32, 32, 3\)\) has non-finite values"),
        (torch.full((8, 3, 32, 32), float("inf")), r"array of shape \(8, 3, 32, 32\)\) has non-finite values"),
        ([np.zeros((32, 32, 3), np.float32), np.full((32, 32, 3), np.nan, np.float32)], "has non-finite values"),
        (np.zeros((8, 32, 32, 4), np.uint8), r"\(8, 32, 32, 4\)\) has 4 channels; the pipeline takes RGB"),
        ([np.zeros((32, 32, 4), np.uint8)] * 3, r"list of 3 frames\) has 4 channels"),
    ],
)
def test_frames_that_cannot_be_scored_meaningfully_are_refused(zero_shot, classifier_dir, video, message):
    with pytest.raises(ValueError, match=message):
        zero_shot(video, candidate_labels=LABELS)
    with pytest.raises(ValueError, match=message):
        pipeline("video-classification", model=str(classifier_dir))(video)


def test_an_input_of_several_videos_inside_a_batch_is_refused_by_name(zero_shot):
    video = np.zeros((8, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="one input held 2 videos. Pass a flat list of videos"):
        zero_shot([video, [video, video]], candidate_labels=LABELS)


def test_float_frames_already_in_0_1_are_warned_about(zero_shot, caplog, forget_warnings_given_once):
    """The pipelines rescale on the model's device (`normalize_deferred`), which must still warn about frames that a
    rescale would divide by 255 a second time."""
    frames = np.random.default_rng(0).random((8, 32, 32, 3), dtype=np.float32)
    with caplog.at_level(logging.WARNING):
        zero_shot(frames, candidate_labels=LABELS)
    assert "all within [0, 1] but do_rescale=True" in caplog.text


def test_greyscale_arrays_are_scored_as_grey_rgb(zero_shot):
    grey = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 1), dtype=np.uint8)
    assert_same_predictions(
        zero_shot(grey, candidate_labels=LABELS), zero_shot(np.repeat(grey, 3, axis=-1), candidate_labels=LABELS)
    )
    assert_same_predictions(
        zero_shot(list(grey[..., 0]), candidate_labels=LABELS), zero_shot(grey, candidate_labels=LABELS)
    )


# --- options and inputs that both pipelines take -------------------------------------------------------------------


@pytest.fixture(scope="module")
def video_classifier(classifier_dir):
    return pipeline("video-classification", model=str(classifier_dir))


@pytest.fixture(params=["zero-shot-video-classification", "video-classification"])
def classify(request, zero_shot, video_classifier):
    """Either pipeline, scoring all of LABELS (the classifier stores them; zero-shot gets them as candidates)."""
    if request.param == "video-classification":
        return functools.partial(video_classifier, top_k=len(LABELS))
    return functools.partial(zero_shot, candidate_labels=LABELS)


def test_float_frames_in_0_1_with_do_rescale_false_score_as_their_uint8_frames(
    classify, model_and_processor, caplog, forget_warnings_given_once
):
    _, processor = model_and_processor
    # Frames already at the resize size: uint8 frames would otherwise be resized in 8 bits and float ones not.
    short_side = processor.video_processor.size.shortest_edge
    frames = np.random.default_rng(0).integers(0, 256, (8, short_side, short_side + 12, 3), dtype=np.uint8)
    scaled = frames.astype(np.float32) / 255

    with caplog.at_level(logging.WARNING):
        got = classify(scaled, do_rescale=False)
    assert_same_predictions(got, classify(frames))
    assert "do_rescale=True will divide them by 255 again" not in caplog.text
    assert "uint8 video frames hold 0-255 levels" not in caplog.text  # nor for the deferred uint8 of the others
    with pytest.raises(ValueError, match="do_rescale must be True or False, got 'no'"):
        classify(frames, do_rescale="no")
    with caplog.at_level(logging.WARNING):
        classify(frames, do_rescale=False)  # the advice misread: uint8 frames normalised unscaled
    assert "uint8 video frames hold 0-255 levels, but do_rescale=False normalises them" in caplog.text


def test_another_frame_count_runs_with_interpolated_position_embeddings(classify, model_and_processor, videos):
    model, processor = model_and_processor
    with torch.no_grad():
        pixel_values = processor(videos=videos[1], num_frames=2 * NUM_FRAMES).pixel_values
        assert pixel_values.shape[1] == 2 * NUM_FRAMES
        logits = model(pixel_values=pixel_values, **processor(text=LABELS), interpolate_pos_encoding=True)
        expected = logits.logits_per_video[0].softmax(-1)
    got = scores_by_label(classify(videos[1], num_frames=2 * NUM_FRAMES, interpolate_pos_encoding=True))
    assert np.allclose([got[label] for label in LABELS], expected.numpy(), atol=1e-6)
    assert scores_by_label(classify(videos[1])) != got  # the frame count was not ignored
    # the model's own frame count needs no opt-in
    assert_same_predictions(classify(videos[1], num_frames=NUM_FRAMES), classify(videos[1]))


def test_another_frame_count_without_interpolate_pos_encoding_is_refused_before_decoding(classify, model_dir):
    with pytest.raises(ValueError, match=r"num_frames=8, but this model was trained with 4 frames per video "
                                         r"\(config.vision_config.num_frames\). Pass interpolate_pos_encoding=True as "
                                         r"well .* or resize the model with model.resize_num_frames\(8\)"):
        classify("never-decoded.mp4", num_frames=8)
    with pytest.raises(ValueError, match="num_frames must be a positive integer, got 0"):
        classify("never-decoded.mp4", num_frames=0)
    # the opt-in may also be given when the pipeline is built
    interpolating = pipeline("zero-shot-video-classification", model=str(model_dir), interpolate_pos_encoding=True)
    with pytest.raises(VideoDecodeError, match="never-decoded.mp4"):
        interpolating("never-decoded.mp4", candidate_labels=LABELS, num_frames=8)


def test_a_generator_or_dataset_of_videos_streams_one_result_per_video(classify, videos):
    one_by_one = [classify(video) for video in videos]
    streams = {
        "generator": lambda: (video for video in videos),
        "KeyDataset": lambda: KeyDataset([{"video": video} for video in videos], "video"),
    }
    for name, make_stream in streams.items():
        for batch_size in (1, 2):
            results = classify(make_stream(), batch_size=batch_size)
            assert isinstance(results, Iterator), name  # read lazily, as transformers' pipelines stream
            results = list(results)
            assert len(results) == len(videos), name
            for got, expected in zip(results, one_by_one):
                assert_same_predictions(got, expected)


def test_a_folder_where_transformers_saved_its_own_processor_loads(tmp_path, model_and_processor, videos):
    """transformers 5's XCLIPProcessor nests a VideoMAE image processor in processor_config.json, which
    AutoVideoProcessor does not read: XCLIPProcessor, AutoProcessor and the pipelines raised an OSError."""
    from xclip import XCLIPProcessor

    model, processor = model_and_processor
    model.save_pretrained(tmp_path)
    image_processor = transformers.VideoMAEImageProcessor(size={"shortest_edge": 32}, crop_size=32)
    theirs = transformers.XCLIPProcessor(image_processor=image_processor, tokenizer=processor.tokenizer)
    theirs.save_pretrained(tmp_path)
    assert "image_processor" in (tmp_path / "processor_config.json").read_text()
    expected = XCLIPVideoProcessor.for_model(model.config)  # the original's test recipe, as for the Hub's files
    for loaded in (XCLIPProcessor.from_pretrained(tmp_path), transformers.AutoProcessor.from_pretrained(tmp_path)):
        assert type(loaded) is XCLIPProcessor
        assert (loaded.video_processor.size, loaded.video_processor.num_frames) == (expected.size, NUM_FRAMES)
    classifier = pipeline("zero-shot-video-classification", model=str(tmp_path))
    assert classifier.video_processor.size == expected.size
    assert len(classifier(videos[0], candidate_labels=LABELS)) == len(LABELS)


def test_a_processor_passed_to_the_pipelines_is_used(model_dir, model_and_processor, videos):
    """transformers' Pipeline reads processor= only when it finds no tokenizer: the X-CLIP pipelines ignored it."""
    from xclip import XCLIPProcessor

    model, processor = model_and_processor
    other = XCLIPVideoProcessor.for_model(model.config, image_mean=[0.5] * 3, image_std=[0.5] * 3)
    with_other = XCLIPProcessor(tokenizer=processor.tokenizer, video_processor=other)
    given = pipeline("zero-shot-video-classification", model=str(model_dir), processor=with_other)
    expected = pipeline("zero-shot-video-classification", model=str(model_dir), video_processor=other)
    assert given.video_processor is other
    assert_same_predictions(given(videos[0], candidate_labels=LABELS), expected(videos[0], candidate_labels=LABELS))
    image_processor = transformers.VideoMAEImageProcessor()
    theirs = transformers.XCLIPProcessor(image_processor=image_processor, tokenizer=processor.tokenizer)
    for task in ("zero-shot-video-classification", "video-classification"):
        with pytest.raises(TypeError, match=r"take an xclip.XCLIPProcessor as processor=, got transformers\.models\."):
            pipeline(task, model=model, processor=theirs)
