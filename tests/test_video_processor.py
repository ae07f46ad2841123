"""XCLIPVideoProcessor against an independent re-implementation of the original test pipeline, and its input contract.

The reference below follows the original X-CLIP (mmaction2 pipeline, mmcv/OpenCV resize) step by step in NumPy and
OpenCV: segment-centre frame indices, short-side resize with mmcv's rounding, floored centre-crop offsets,
normalisation on the 0-255 scale. Both resize uint8 frames to uint8, with kernels whose rounding differs by at most one
level (`uint8_levels_apart` measures it); float frames are resized unrounded.
"""

import json
import logging

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoVideoProcessor
from transformers.image_utils import PILImageResampling

from xclip.modeling import XCLIPConfig
from xclip.processing import XCLIPVideoProcessor, short_side_for_crop
from xclip.video import VideoDecodeError, read_frames, sample_multi_clip_indices
from xclip.video.synthetic import write_video

MEAN_255 = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD_255 = np.array([58.395, 57.12, 57.375], dtype=np.float32)
# A little float rounding on top of a whole number of uint8 levels.
ONE_LEVEL = 1.0 + 1e-3


def uint8_levels_apart(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """|actual - expected| of normalised frames `[..., 3, H, W]` back in uint8 levels."""
    return np.abs(actual - expected) * STD_255[:, None, None]


def random_video(num_frames=20, height=272, width=360, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)


def constant_frames_video(values, height=40, width=56) -> np.ndarray:
    """Frame t is filled with `values[t]`: decoded pixel values reveal which frames were sampled."""
    values = np.asarray(values, dtype=np.uint8)
    return np.broadcast_to(values[:, None, None, None], (len(values), height, width, 3)).copy()


def sampled_values(pixel_values: torch.Tensor) -> list[int]:
    """Undo normalisation of `[..., T, 3, S, S]` and read back each frame's constant value."""
    red = pixel_values[..., 0, :, :].mean(dim=(-1, -2)) * STD_255[0] + MEAN_255[0]
    return red.round().to(torch.int64).flatten().tolist()


def original_test_pipeline(video: np.ndarray, num_frames=8, crop=224, short_side=256) -> np.ndarray:
    """The original single-view test transform, with OpenCV as mmcv uses it. Returns `[T, 3, crop, crop]`."""
    cv2 = pytest.importorskip("cv2")
    total = len(video)
    average = total / num_frames
    indices = [int(i * average + average / 2) for i in range(num_frames)]
    height, width = video.shape[1:3]
    scale = short_side / min(height, width)  # mmcv's rescale_size: both sides scaled, rounded half up
    new_height, new_width = int(height * scale + 0.5), int(width * scale + 0.5)
    out = []
    for index in indices:
        frame = cv2.resize(video[index], (new_width, new_height), interpolation=cv2.INTER_LINEAR)
        top, left = (new_height - crop) // 2, (new_width - crop) // 2
        frame = frame[top : top + crop, left : left + crop].astype(np.float32)
        out.append(((frame - MEAN_255) / STD_255).transpose(2, 0, 1))
    return np.stack(out)


# ----------------------------------------------------------------------------------------------------------------
# Fidelity to the original


@pytest.mark.parametrize(
    "height, width, resized",
    [(144, 176, (256, 313)), (720, 1280, (256, 455)), (300, 257, (299, 256)), (256, 340, (256, 340))],
)
def test_short_side_resize_rounds_half_up_like_mmcv(height, width, resized):
    """176x144 -> 313x256 (176 * 256 / 144 = 312.9), where truncation would give 312."""
    video = random_video(8, height, width, seed=1)
    processor = XCLIPVideoProcessor(crop_size={"height": 256, "width": 256}, do_center_crop=False)
    assert tuple(processor(video, return_tensors="np").pixel_values.shape[-2:]) == resized


@pytest.mark.parametrize(
    "num_frames, height, width",
    [(20, 272, 360), (5, 720, 1280), (9, 144, 176), (30, 300, 257)],
    ids=["landscape", "720p-downscale", "qcif-upscale-rounding", "portrait-odd-offsets"],
)
def test_matches_original_test_pipeline_within_one_uint8_level(num_frames, height, width):
    video = random_video(num_frames, height, width, seed=height)
    expected = original_test_pipeline(video)
    actual = XCLIPVideoProcessor()(video, return_tensors="np").pixel_values[0]
    assert actual.shape == expected.shape == (8, 3, 224, 224)
    # Measured: one level apart on about a quarter of the pixels (torch's and OpenCV's integer kernels round
    # differently), never more. A geometric mistake (size rounding, crop offset, antialiasing) shows up as tens of
    # levels, and float frames resized without rounding as a mean of about 0.25 levels everywhere.
    apart = uint8_levels_apart(actual, expected)
    assert apart.max() <= ONE_LEVEL and 0.05 < apart.mean() < 0.35
    assert np.isin(np.round(apart, 3), [0.0, 1.0]).all()  # whole levels: the processor rounds as OpenCV does
    float_input = XCLIPVideoProcessor()(video.astype(np.float32), return_tensors="np").pixel_values[0]
    assert uint8_levels_apart(float_input, expected).max() < 1.0  # unrounded, within a level


def test_uint8_frames_take_the_float_kernel_for_bicubic_resizing():
    """torch's integer bicubic kernel is tens of levels from OpenCV's and from its own float kernel."""
    video = random_video(8, 272, 360, seed=9)
    processor = XCLIPVideoProcessor(resample=PILImageResampling.BICUBIC, num_frames=8)
    from_uint8 = processor(video, return_tensors="np").pixel_values[0]
    from_float = processor(video.astype(np.float32), return_tensors="np").pixel_values[0]
    assert uint8_levels_apart(from_uint8, from_float).max() < 1e-3


def test_336_model_resizes_to_384_then_crops_336():
    video = random_video(12, 300, 400, seed=3)
    processor = XCLIPVideoProcessor.for_image_size(336, num_frames=8)
    assert short_side_for_crop(336) == 384 and short_side_for_crop(224) == 256
    actual = processor(video, return_tensors="np").pixel_values[0]
    expected = original_test_pipeline(video, crop=336, short_side=384)
    assert actual.shape == (8, 3, 336, 336)
    assert uint8_levels_apart(actual, expected).max() <= ONE_LEVEL


def test_antialias_false_is_the_opencv_choice():
    """PIL's (antialiased) bilinear would be far from what the original computed; ours is within a level."""
    cv2 = pytest.importorskip("cv2")
    frame = random_video(1, 720, 1280, seed=5)[0]
    reference = cv2.resize(frame, (455, 256), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    pil = np.asarray(Image.fromarray(frame).resize((455, 256), Image.BILINEAR)).astype(np.float32)
    processor = XCLIPVideoProcessor(do_center_crop=False, do_normalize=False, do_rescale=False, num_frames=1)
    ours = processor(frame[None], return_tensors="np").pixel_values[0, 0].transpose(1, 2, 0)
    assert np.abs(ours - reference).max() <= 1.0
    assert np.abs(pil - reference).max() > 50


# ----------------------------------------------------------------------------------------------------------------
# Frame sampling


def test_longer_video_is_sampled_at_segment_centres():
    video = constant_frames_video(np.arange(40) * 5)
    pixel_values = XCLIPVideoProcessor(num_frames=8)(video).pixel_values
    assert sampled_values(pixel_values) == [5 * int(i * 5 + 2.5) for i in range(8)]


def test_shorter_video_repeats_frames_with_the_same_formula():
    video = constant_frames_video([10, 20, 30])
    pixel_values = XCLIPVideoProcessor(num_frames=8)(video).pixel_values
    average = 3 / 8
    assert sampled_values(pixel_values) == [[10, 20, 30][int(i * average + average / 2)] for i in range(8)]


def test_do_sample_frames_false_rejects_a_wrong_frame_count():
    video = random_video(num_frames=5, height=32, width=32)
    with pytest.raises(ValueError, match=r"has 5 frames.*num_frames=8.*do_sample_frames=False"):
        XCLIPVideoProcessor(num_frames=8)(video, do_sample_frames=False)


def test_do_sample_frames_false_keeps_frames_in_order():
    video = constant_frames_video([7, 3, 9, 1])
    pixel_values = XCLIPVideoProcessor(num_frames=4)(video, do_sample_frames=False).pixel_values
    assert sampled_values(pixel_values) == [7, 3, 9, 1]


# ----------------------------------------------------------------------------------------------------------------
# Multi-view testing


def test_multi_view_layout_is_crop_major_then_clip():
    """Three crops x two clips: view v is crop v // 2 of clip v % 2; crops are left, right, centre."""
    num_frames, num_clips, total = 4, 2, 24
    height, width = 224, 448  # short side already 224: three-crop needs no resize, so values stay exact
    video = np.zeros((total, height, width, 3), dtype=np.uint8)
    video[..., 0] = (np.arange(total) * 10)[:, None, None]  # red = frame index
    video[..., 1] = (np.arange(width) // 2)[None, None, :]  # green = column // 2
    pixel_values = XCLIPVideoProcessor(num_frames=num_frames)(video, num_clips=num_clips, num_crops=3).pixel_values
    assert pixel_values.shape == (1, 6, num_frames, 3, 224, 224)

    pixels = pixel_values[0] * torch.tensor(STD_255)[:, None, None] + torch.tensor(MEAN_255)[:, None, None]
    clips = sample_multi_clip_indices(total, num_frames, num_clips)
    for view in range(6):
        crop, clip = divmod(view, num_clips)
        frame_indices = (pixels[view, :, 0, 0, 0] / 10).round().long().tolist()
        assert frame_indices == clips[clip].tolist()
        left = int(pixels[view, 0, 1, 0, 0].round()) * 2
        assert left == [0, 224, 112][crop]


def test_three_crop_resizes_the_short_side_to_the_crop_size():
    video = random_video(8, 300, 500, seed=7)
    pixel_values = XCLIPVideoProcessor(num_frames=8, num_crops=3)(video).pixel_values
    assert pixel_values.shape == (1, 3, 8, 3, 224, 224)
    # The centre crop of the 3-crop views must equal a plain resize-to-224 + centre crop.
    centre = XCLIPVideoProcessor(num_frames=8, size={"shortest_edge": 224})(video).pixel_values[0]
    torch.testing.assert_close(pixel_values[0, 2], centre)


# ----------------------------------------------------------------------------------------------------------------
# Input kinds


@pytest.fixture
def video_file(tmp_path):
    frames = random_video(num_frames=12, height=48, width=64, seed=11)
    return write_video(tmp_path / "clip.mp4", frames, fps=12)


def test_every_input_kind_gives_the_same_pixel_values(video_file):
    video = read_frames(video_file, list(range(12)))  # [T, H, W, 3] uint8, exactly what the path decodes to
    processor = XCLIPVideoProcessor(num_frames=8)
    expected = processor(video).pixel_values
    assert expected.shape == (1, 8, 3, 224, 224)
    channels_first = video.transpose(0, 3, 1, 2)
    inputs = {
        "path str": str(video_file),
        "path Path": video_file,
        "numpy THWC": video,
        "numpy TCHW": channels_first,
        "torch THWC": torch.from_numpy(video),
        "torch TCHW": torch.from_numpy(channels_first),
        "5-D batch": video[None],
        "list of one video": [video],
        "list of PIL": [Image.fromarray(frame) for frame in video],
        "list of HWC arrays": list(video),
        "list of CHW tensors": list(torch.from_numpy(channels_first)),
        "BGR view reversed twice": video[..., ::-1][..., ::-1],
    }
    for name, value in inputs.items():
        torch.testing.assert_close(processor(value).pixel_values, expected, msg=name, rtol=0, atol=0)
    # Float frames are resized unrounded, uint8 ones to uint8 as OpenCV does: within a level of each other.
    float_0_255 = processor(video.astype(np.float32)).pixel_values
    unit = processor(torch.from_numpy(video).float() / 255, do_rescale=False).pixel_values
    for name, pixel_values in (("float 0-255", float_0_255), ("float [0, 1]", unit)):
        assert uint8_levels_apart(pixel_values[0].numpy(), expected[0].numpy()).max() < ONE_LEVEL, name
    torch.testing.assert_close(unit, float_0_255)


def test_uint8_frames_normalised_without_rescaling_warn(caplog, forget_warnings_given_once):
    """do_rescale=False is for float frames in [0, 1]: on uint8 frames it gives pixel values about 255 times too large.
    A deferred call (neither rescaled nor normalised, finished later) is not warned about."""
    video = random_video(8, 32, 32)
    with caplog.at_level(logging.WARNING, logger="xclip"):
        small_processor()(video, do_rescale=False, do_normalize=False)
        mmcv_scale = {"image_mean": [123.675, 116.28, 103.53], "image_std": [58.395, 57.12, 57.375]}
        small_processor()(video, do_rescale=False, **mmcv_scale)  # the original's constants, on the 0-255 scale
        assert not caplog.records
        assert small_processor()(video, do_rescale=False).pixel_values.abs().max() > 100
    assert "uint8 video frames hold 0-255 levels, but do_rescale=False normalises them" in caplog.text


def test_batches_of_mixed_kinds(video_file):
    other = random_video(num_frames=30, height=100, width=80, seed=12)
    processor = XCLIPVideoProcessor(num_frames=8)
    batch = processor([video_file, other]).pixel_values
    assert batch.shape == (2, 8, 3, 224, 224)
    torch.testing.assert_close(batch[0], processor(video_file).pixel_values[0])
    torch.testing.assert_close(batch[1], processor(other).pixel_values[0])


@pytest.mark.parametrize("num_crops", [1, 3])
def test_the_callers_frames_are_never_modified(num_crops):
    """Normalisation runs in place on the processor's own copies; frames passed in stay as they were, also when no
    resize or crop makes a copy first."""
    processor = XCLIPVideoProcessor(num_frames=4)
    as_float = torch.from_numpy(random_video(4, 224, 224)).permute(0, 3, 1, 2).float()
    as_uint8 = random_video(4, 224, 224)
    before = (as_float.clone(), as_uint8.copy())
    for frames in (as_float, as_uint8):
        processor(frames, num_crops=num_crops, do_resize=False, do_center_crop=False, do_sample_frames=False)
        processor(frames, num_crops=num_crops, do_sample_frames=False, do_normalize=False)
        deferred = processor(frames, num_crops=num_crops, do_resize=False, do_center_crop=False,
                             do_sample_frames=False, do_rescale=False, do_normalize=False, return_tensors="pt")
        deferred.pixel_values += 1
    assert torch.equal(as_float, before[0]) and np.array_equal(as_uint8, before[1])


def test_grayscale_and_rgba_frames_become_rgb():
    video = random_video(8, 32, 40, seed=13)
    processor = XCLIPVideoProcessor(num_frames=8, size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    gray = video[..., :1]
    torch.testing.assert_close(
        processor(gray).pixel_values, processor(np.repeat(gray, 3, axis=-1)).pixel_values
    )
    opaque = np.concatenate([video, np.full_like(video[..., :1], 255)], axis=-1)
    torch.testing.assert_close(processor(opaque).pixel_values, processor(video).pixel_values)
    with pytest.raises(ValueError, match="do_convert_rgb"):
        processor(gray, do_convert_rgb=False)


def test_a_single_pil_image_is_a_one_frame_video(tmp_path):
    frame = random_video(1, 64, 64, seed=14)[0]
    pixel_values = XCLIPVideoProcessor(num_frames=4)(Image.fromarray(frame)).pixel_values
    assert pixel_values.shape == (1, 4, 3, 224, 224)
    assert torch.equal(pixel_values[0, 0], pixel_values[0, 3])
    # So is an image file, which the video decoder refuses as a still image.
    Image.fromarray(frame).save(tmp_path / "frame.png")
    Image.fromarray(frame).convert("RGBA").save(tmp_path / "frame_rgba.png")
    for path in (tmp_path / "frame.png", str(tmp_path / "frame_rgba.png")):
        torch.testing.assert_close(XCLIPVideoProcessor(num_frames=4)(path).pixel_values, pixel_values, rtol=0, atol=0)


def test_return_tensors():
    video = random_video(8, 32, 32)
    processor = XCLIPVideoProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    assert isinstance(processor(video, return_tensors="np").pixel_values, np.ndarray)
    pixel_values = processor(video, return_tensors="pt").pixel_values
    assert isinstance(pixel_values, torch.Tensor) and pixel_values.dtype == torch.float32


@pytest.mark.parametrize("num_clips, num_crops", [(1, 1), (2, 3)])
def test_uint8_views_normalised_later_equal_the_normalised_call(num_clips, num_crops):
    videos = [random_video(16, 40, 56), random_video(12, 40, 56, seed=1)]
    processor = XCLIPVideoProcessor.for_image_size(32, 4, num_clips=num_clips, num_crops=num_crops)
    normalised = processor(videos, return_tensors="pt").pixel_values
    deferred = processor(videos, do_rescale=False, do_normalize=False, return_tensors="pt").pixel_values
    assert deferred.dtype == torch.uint8 and deferred.shape == normalised.shape
    assert torch.equal(processor.normalize_deferred(deferred), normalised)
    # Another dtype is computed video by video in float32, then cast: exactly the cast of the float32 result.
    assert torch.equal(processor.normalize_deferred(deferred, dtype=torch.bfloat16), normalised.to(torch.bfloat16))


def test_float_frames_stay_float_without_rescaling_or_normalisation_and_normalise_later_like_the_call():
    video = random_video(8, 32, 32).astype(np.float32)
    processor = XCLIPVideoProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    deferred = processor(video, do_rescale=False, do_normalize=False, return_tensors="pt").pixel_values
    assert deferred.dtype == torch.float32
    torch.testing.assert_close(deferred[0], torch.from_numpy(video).permute(0, 3, 1, 2), rtol=0, atol=1e-4)
    kept = deferred.clone()
    assert torch.equal(processor.normalize_deferred(deferred), processor(video, return_tensors="pt").pixel_values)
    assert torch.equal(deferred, kept)  # a new tensor: the deferred values stay as they were


# ----------------------------------------------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize(
    "videos, match",
    [
        (np.zeros((32, 32, 3), np.uint8), r"4-D array \[T, H, W, C\]"),
        (np.zeros((8, 32, 40), np.uint8), r"greyscale frames \[T, H, W\] a channel axis \(video\[\.\.\., None\]\)"),
        ([], "empty list"),
        (np.zeros((8, 3, 5, 3), np.uint8), "input_data_format"),
        (np.zeros((8, 32, 32, 5), np.uint8), "no channel axis"),
        ([np.zeros((32, 32, 3), np.uint8), np.zeros((16, 16, 3), np.uint8)], "differ in shape"),
        (np.zeros((0, 32, 32, 3), np.uint8), "no frames"),
    ],
    ids=["3-D array", "greyscale 3-D array", "empty", "ambiguous channels", "five channels", "ragged frames",
         "zero frames"],
)
def test_bad_inputs_raise_clear_errors(videos, match):
    with pytest.raises(ValueError, match=match):
        XCLIPVideoProcessor()(videos)


def test_ambiguous_channel_axis_is_resolved_by_input_data_format():
    video = np.random.default_rng(0).integers(0, 256, (8, 3, 5, 3), dtype=np.uint8)  # THWC with H=3 or TCHW?
    processor = XCLIPVideoProcessor(size={"shortest_edge": 3}, crop_size={"height": 3, "width": 3})
    last = processor(video, input_data_format="channels_last").pixel_values
    first = processor(video.transpose(0, 3, 1, 2), input_data_format="channels_first").pixel_values
    torch.testing.assert_close(last, first)


def test_missing_file_names_the_file(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(VideoDecodeError, match="nope.mp4"):
        XCLIPVideoProcessor()(missing)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_frame=16), TypeError, "num_frame"),
        (dict(fps=2), ValueError, "fps"),
        (dict(num_crops=2), ValueError, "num_crops"),
        (dict(num_clips=0), ValueError, "num_clips"),
        (dict(crop_size={"height": 512, "width": 512}), ValueError, "larger than the frames"),
        (dict(data_format="channels_last"), ValueError, "data_format"),
    ],
)
def test_bad_options_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        XCLIPVideoProcessor()(random_video(8, 32, 32), **kwargs)


@pytest.mark.parametrize(
    "settings, match",
    [
        (dict(num_frames=-2), "`num_frames` must be a positive integer, got -2"),
        (dict(num_clips=0), "`num_clips` must be a positive integer"),
        (dict(num_crops=2), "`num_crops` must be 1"),
        (dict(num_crops=3, crop_size={"height": 32, "width": 48}), "square crops"),
    ],
)
def test_bad_settings_fail_when_the_processor_is_built_or_loaded(tmp_path, settings, match):
    with pytest.raises(ValueError, match=match):
        XCLIPVideoProcessor(**settings)
    saved = XCLIPVideoProcessor().to_dict() | settings
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps(saved))
    with pytest.raises(ValueError, match=match):
        XCLIPVideoProcessor.from_pretrained(tmp_path)


# ----------------------------------------------------------------------------------------------------------------
# Configuration


def test_save_and_load_round_trip(tmp_path):
    processor = XCLIPVideoProcessor.for_image_size(112, num_frames=4, num_clips=2, num_crops=3)
    saved = processor.save_pretrained(tmp_path)
    assert [path.rsplit("/", 1)[-1] for path in saved] == ["video_preprocessor_config.json"]
    config = json.loads((tmp_path / "video_preprocessor_config.json").read_text())
    assert config["video_processor_type"] == "XCLIPVideoProcessor"
    assert (config["num_frames"], config["num_clips"], config["num_crops"]) == (4, 2, 3)
    assert config["size"] == {"shortest_edge": 128} and config["crop_size"] == {"height": 112, "width": 112}
    video = random_video(20, 140, 200, seed=21)
    for loaded in (XCLIPVideoProcessor.from_pretrained(tmp_path), AutoVideoProcessor.from_pretrained(tmp_path)):
        assert type(loaded) is XCLIPVideoProcessor
        torch.testing.assert_close(loaded(video).pixel_values, processor(video).pixel_values)


# What transformers' conversion wrote as the Hub checkpoints' `preprocessor_config.json` (a VideoMAE image processor).
HUB_IMAGE_PROCESSOR_FILE = {
    "crop_size": 224,
    "do_center_crop": True,
    "do_normalize": True,
    "do_resize": True,
    "feature_extractor_type": "VideoMAEFeatureExtractor",
    "image_mean": [0.485, 0.456, 0.406],
    "image_std": [0.229, 0.224, 0.225],
    "processor_class": "XCLIPProcessor",
    "resample": 2,
    "size": 224,
}


def write_hub_style_folder(folder, processor_file: dict, config: XCLIPConfig | None = None) -> None:
    if config is not None:
        config.save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps(processor_file))


def test_hub_image_processor_file_is_read_as_the_original_test_recipe(tmp_path):
    """A 16-frame Hub checkpoint: short side 256 (not the file's 224) for the 224 crop, and the model's 16 frames."""
    from xclip.processing import XCLIPProcessor, load_clip_tokenizer

    config = XCLIPConfig(vision_config=dict(num_frames=16))
    write_hub_style_folder(tmp_path, HUB_IMAGE_PROCESSOR_FILE, config)
    load_clip_tokenizer().save_pretrained(tmp_path)
    expected = XCLIPVideoProcessor.for_model(config)
    video = random_video(40, 240, 320, seed=5)
    loaded = [
        XCLIPVideoProcessor.from_pretrained(tmp_path),
        AutoVideoProcessor.from_pretrained(tmp_path),
        XCLIPProcessor.from_pretrained(tmp_path).video_processor,
    ]
    for processor in loaded:
        assert type(processor) is XCLIPVideoProcessor
        assert (processor.size.shortest_edge, processor.crop_size.height, processor.num_frames) == (256, 224, 16)
        assert list(processor.image_mean) == HUB_IMAGE_PROCESSOR_FILE["image_mean"]
    torch.testing.assert_close(loaded[0](video).pixel_values, expected(video).pixel_values, rtol=0, atol=0)


@pytest.mark.parametrize(
    "processor_file, crop, short_side, mean",
    [
        # The oldest VideoMAE files crop to `size` and have no `crop_size`: a 336-pixel model's file.
        ({"feature_extractor_type": "VideoMAEFeatureExtractor", "size": 336}, 336, 384, [0.485, 0.456, 0.406]),
        (
            {"image_processor_type": "VideoMAEImageProcessor", "size": {"shortest_edge": 224},
             "crop_size": {"height": 224, "width": 224}, "image_mean": [0.5] * 3, "image_std": [0.5] * 3},
            224, 256, [0.5] * 3,
        ),
    ],
)
def test_image_processor_file_without_a_model_config_keeps_its_crop(tmp_path, processor_file, crop, short_side, mean):
    write_hub_style_folder(tmp_path, processor_file)
    processor = XCLIPVideoProcessor.from_pretrained(tmp_path)
    assert (processor.crop_size.height, processor.size.shortest_edge, processor.num_frames) == (crop, short_side, 8)
    assert list(processor.image_mean) == mean


def test_an_image_processor_file_that_normalises_otherwise_than_the_original_warns(
    tmp_path, caplog, forget_warnings_given_once
):
    """Followed, since a fine-tuned model may need it, but not silently: the original normalised with ImageNet's."""
    half = HUB_IMAGE_PROCESSOR_FILE | {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    for name, processor_file in (("hub", HUB_IMAGE_PROCESSOR_FILE), ("half", half)):
        (tmp_path / name).mkdir()
        write_hub_style_folder(tmp_path / name, processor_file)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="xclip"):
        XCLIPVideoProcessor.from_pretrained(tmp_path / "hub")
        assert not caplog.records
        original = {key: HUB_IMAGE_PROCESSOR_FILE[key] for key in ("image_mean", "image_std")}
        chosen = XCLIPVideoProcessor.from_pretrained(tmp_path / "half", **original)
        assert list(chosen.image_mean) == original["image_mean"] and not caplog.records  # the caller chose
        assert list(XCLIPVideoProcessor.from_pretrained(tmp_path / "half").image_mean) == [0.5] * 3
    assert len(caplog.records) == 1
    assert f"{tmp_path / 'half'} normalises with mean [0.5, 0.5, 0.5] and std [0.5, 0.5, 0.5]" in caplog.text
    assert "pass image_mean=IMAGENET_DEFAULT_MEAN, image_std=IMAGENET_DEFAULT_STD" in caplog.text


def test_an_unreadable_model_config_is_reported_not_hidden(tmp_path, caplog):
    write_hub_style_folder(tmp_path, HUB_IMAGE_PROCESSOR_FILE)
    (tmp_path / "config.json").write_text('{"model_type": "xclip", ')
    with caplog.at_level(logging.WARNING):
        processor = XCLIPVideoProcessor.from_pretrained(tmp_path)
    assert (processor.crop_size.height, processor.num_frames) == (224, 8)
    assert "Could not read the model config" in caplog.text and str(tmp_path) in caplog.text


def test_a_malformed_model_config_is_named(tmp_path):
    write_hub_style_folder(tmp_path, HUB_IMAGE_PROCESSOR_FILE)
    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "xclip", "projection_dim": 512, "vision_config": {"mit_hidden_size": 256}}))
    with pytest.raises(ValueError, match=rf"{tmp_path}.*config.json.*malformed.*mit_hidden_size"):
        XCLIPVideoProcessor.from_pretrained(tmp_path)


def test_a_saved_video_processor_keeps_its_own_sizes(tmp_path):
    """Only image-processor files are reinterpreted: a video processor saved with short side = crop stays so."""
    XCLIPVideoProcessor(size={"shortest_edge": 224}, num_frames=16).save_pretrained(tmp_path)
    XCLIPConfig(vision_config=dict(num_frames=8)).save_pretrained(tmp_path)
    processor = XCLIPVideoProcessor.from_pretrained(tmp_path)
    assert (processor.size.shortest_edge, processor.crop_size.height, processor.num_frames) == (224, 224, 16)


def test_for_model_reads_image_size_and_frames_from_the_config():
    config = XCLIPConfig(vision_config=dict(image_size=336, patch_size=14, num_frames=16))
    processor = XCLIPVideoProcessor.for_model(config)
    assert processor.num_frames == 16
    assert processor.crop_size.height == processor.crop_size.width == 336
    assert processor.size.shortest_edge == 384


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device_matches_cpu():
    video = random_video(16, 360, 480, seed=31)
    processor = XCLIPVideoProcessor(num_frames=8)
    on_gpu = processor(video, device="cuda", num_clips=2, num_crops=3).pixel_values
    assert on_gpu.device.type == "cuda"
    on_cpu = processor(video, num_clips=2, num_crops=3).pixel_values
    # uint8 frames are resized to uint8 on both devices, by torch's integer kernel on the CPU and by its float kernel
    # rounded on the GPU: at most one level apart.
    assert uint8_levels_apart(on_gpu.cpu().numpy(), on_cpu.numpy()).max() <= ONE_LEVEL


# ----------------------------------------------------------------------------------------------------------------
# Frame dtypes and transparency


def random_rgba_video(num_frames=8, height=40, width=48, seed=41) -> np.ndarray:
    """RGBA frames whose alpha spans 0-255: opaque, transparent and partly transparent pixels."""
    return np.random.default_rng(seed).integers(0, 256, (num_frames, height, width, 4), dtype=np.uint8)


def small_processor(**kwargs) -> XCLIPVideoProcessor:
    return XCLIPVideoProcessor(num_frames=8, size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                               **kwargs)


def test_transparent_frames_give_the_same_pixel_values_in_every_form():
    """PIL images with alpha were converted with `convert("RGB")`, which drops it, while RGBA arrays are composited
    onto white: up to 4.0 apart in pixel_values for the same frames."""
    rgba = random_rgba_video()
    processor = small_processor()
    expected = processor(rgba).pixel_values
    inputs = {
        "torch THWC": torch.from_numpy(rgba),
        "numpy TCHW": rgba.transpose(0, 3, 1, 2),
        "list of PIL RGBA": [Image.fromarray(frame, "RGBA") for frame in rgba],
        "list of HWC arrays": list(rgba),
        "5-D batch": rgba[None],
    }
    for name, value in inputs.items():
        torch.testing.assert_close(processor(value).pixel_values, expected, msg=name, rtol=0, atol=0)
    # Onto white, as transformers' convert_to_rgb composites: a fully transparent video is a white one.
    transparent = [Image.fromarray(frame, "RGBA") for frame in np.zeros_like(rgba)]
    white = np.full(rgba.shape[:-1] + (3,), 255, np.uint8)
    torch.testing.assert_close(processor(transparent).pixel_values, processor(white).pixel_values, rtol=0, atol=0)


def test_float_rgba_frames_in_0_1_are_composited_on_their_own_scale():
    """With do_rescale=False, transformers' compositing read their alpha as 0-255 levels: nearly transparent, so the
    frames came out white at 255, far outside the [0, 1] they are on."""
    rgba = random_rgba_video()
    processor = XCLIPVideoProcessor.for_image_size(32, 8)
    expected = processor(rgba).pixel_values
    in_0_1 = processor(rgba.astype(np.float32) / 255, do_rescale=False).pixel_values
    torch.testing.assert_close(in_0_1, expected, rtol=0, atol=1e-5)


def test_la_and_palette_images_with_transparency_match_their_rgba_arrays():
    processor = small_processor()
    grey_alpha = random_rgba_video(seed=42)[..., 2:]
    as_rgba = np.concatenate([np.repeat(grey_alpha[..., :1], 3, axis=-1), grey_alpha[..., 1:]], axis=-1)
    la = [Image.fromarray(frame, "LA") for frame in grey_alpha]
    torch.testing.assert_close(processor(la).pixel_values, processor(as_rgba).pixel_values, rtol=0, atol=0)
    palette = [Image.fromarray(frame).quantize(16) for frame in random_video(8, 40, 48, seed=43)]
    for image in palette:
        image.info["transparency"] = 3  # palette entry 3 is transparent
    as_rgba = np.stack([np.asarray(image.convert("RGBA")) for image in palette])
    assert (as_rgba[..., 3] == 0).any()
    torch.testing.assert_close(processor(palette).pixel_values, processor(as_rgba).pixel_values, rtol=0, atol=0)


def test_opaque_and_transparent_images_mix_in_one_video():
    """An RGB frame among RGBA ones is an opaque RGBA frame, not a shape error."""
    rgba = random_rgba_video(seed=44)
    rgba[::2, ..., 3] = 255
    frames = [Image.fromarray(frame[..., :3]) if index % 2 == 0 else Image.fromarray(frame, "RGBA")
              for index, frame in enumerate(rgba)]
    processor = small_processor()
    torch.testing.assert_close(processor(frames).pixel_values, processor(rgba).pixel_values, rtol=0, atol=0)


def test_the_pipeline_path_composites_transparent_images_as_the_processor_does():
    from xclip.pipelines.video_inputs import video_to_pixel_values

    rgba = random_rgba_video(seed=45)
    processor = small_processor()
    deferred = video_to_pixel_values(processor, [Image.fromarray(frame, "RGBA") for frame in rgba], num_frames=8)
    torch.testing.assert_close(processor.normalize_deferred(deferred), processor(rgba).pixel_values)


def test_float_pil_images_are_read_as_their_float_values():
    """PIL's RGB rendering of mode `F` clips to 0-255 levels: a [0, 1] image came out black, with no error."""
    grey = np.random.default_rng(47).random((8, 32, 40), dtype=np.float32)
    for values, do_rescale in ((grey, False), (grey * 255, True)):
        images = [Image.fromarray(frame, "F") for frame in values]
        expected = small_processor()(list(values), do_rescale=do_rescale).pixel_values
        torch.testing.assert_close(small_processor()(images, do_rescale=do_rescale).pixel_values, expected)
        assert expected.std() > 0.1  # not black


INTEGER_FRAMES = random_video(8, 32, 40, seed=46)


@pytest.mark.parametrize(
    "videos, match",
    [
        (INTEGER_FRAMES.astype(np.uint16) * 257, r"has dtype uint16.*\(frames // 257\)\.astype\(np\.uint8\)"),
        (INTEGER_FRAMES.astype(np.int16), r"\(array of shape \(8, 32, 40, 3\)\) has dtype int16"),
        (INTEGER_FRAMES.astype(np.int32), "has dtype int32"),
        (INTEGER_FRAMES.astype(np.int64), r"has dtype int64.*`frames\.astype\(np\.uint8\)`"),
        (torch.from_numpy(INTEGER_FRAMES).long(), r"has dtype int64.*`frames\.to\(torch\.uint8\)`"),
        (torch.from_numpy(INTEGER_FRAMES.astype(np.int32)).permute(0, 3, 1, 2), "has dtype int32"),
        (INTEGER_FRAMES > 127, r"has dtype bool.*`mask\.astype\(np\.uint8\) \* 255`"),
        (torch.from_numpy(INTEGER_FRAMES > 127), r"has dtype bool.*`mask\.to\(torch\.uint8\) \* 255`"),
        (INTEGER_FRAMES[None].astype(np.int64).repeat(2, axis=0), "video 0 of the batch .* has dtype int64"),
        ([INTEGER_FRAMES, INTEGER_FRAMES.astype(np.uint16)], "video 1 of the batch .* has dtype uint16"),
        (list(INTEGER_FRAMES.astype(np.int32)), "frame 0 of the video has dtype int32"),
        ([Image.fromarray(INTEGER_FRAMES[0, ..., 0].astype(np.uint16) * 257)],
         r"frame 0 of the video \(PIL image in mode I;16\) has dtype uint16"),
    ],
    ids=["uint16", "int16", "int32", "int64", "torch int64", "torch int32 TCHW", "bool", "torch bool", "5-D int64",
         "batch with uint16", "list of int32 frames", "PIL I;16"],
)
def test_frames_of_another_integer_dtype_than_uint8_are_refused(videos, match):
    """They were read as 0-255 levels: 16-bit frames scaled to 65535 gave pixel_values up to about 1110."""
    from xclip.pipelines.video_inputs import video_to_pixel_values

    with pytest.raises(TypeError, match=match):
        small_processor()(videos)
    with pytest.raises(TypeError, match=match):  # the pipelines read their inputs before the processor does
        video_to_pixel_values(small_processor(), videos, num_frames=8)


def test_bools_are_not_frame_or_view_counts(tmp_path):
    """bool is an int subclass: num_frames=True ran one frame, num_crops=True one crop."""
    with pytest.raises(ValueError, match="`num_frames` must be a positive integer, got True"):
        XCLIPVideoProcessor(num_frames=True)
    (tmp_path / "video_preprocessor_config.json").write_text(json.dumps(XCLIPVideoProcessor().to_dict() | {
        "num_frames": True}))
    with pytest.raises(ValueError, match="`num_frames` must be a positive integer, got True"):
        XCLIPVideoProcessor.from_pretrained(tmp_path)
    video = random_video(8, 32, 32)
    for name, match in (("num_frames", "positive integer"), ("num_clips", "positive integer"), ("num_crops", "1 ")):
        for flag in (True, np.True_):
            with pytest.raises(ValueError, match=rf"`{name}` must be .*{match}.*got (np\.)?True"):
                small_processor()(video, **{name: flag})
