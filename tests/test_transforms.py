"""XCLIPTrainTransform: determinism, output contract, and that each stage does what the original's does."""

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as tvF

from xclip.processing import XCLIPTrainTransform
from xclip.processing import transforms

MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
ONLY_GEOMETRY = dict(flip_prob=0.0, color_jitter_prob=0.0, grayscale_prob=0.0)


def clip(num_frames=4, height=120, width=160, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (num_frames, height, width, 3), dtype=np.uint8)


def still_clip(num_frames=4, height=120, width=160, seed=0) -> np.ndarray:
    """Every frame identical: differences between output frames can only come from per-frame randomness."""
    return np.repeat(clip(1, height, width, seed), num_frames, axis=0)


def test_output_shape_dtype_and_range():
    out = XCLIPTrainTransform(image_size=64)(clip(), generator=np.random.default_rng(0))
    assert out.shape == (4, 3, 64, 64) and out.dtype == torch.float32
    lowest, highest = (0 - MEAN) / STD, (1 - MEAN) / STD
    assert torch.all(out >= lowest - 1e-5) and torch.all(out <= highest + 1e-5)


@pytest.mark.parametrize("make_generator", [np.random.default_rng, lambda seed: torch.Generator().manual_seed(seed)])
def test_a_seeded_generator_makes_it_deterministic(make_generator):
    transform = XCLIPTrainTransform(image_size=48)
    first = transform(clip(), generator=make_generator(7))
    assert torch.equal(first, transform(clip(), generator=make_generator(7)))
    assert not torch.equal(first, transform(clip(), generator=make_generator(8)))


def test_torch_input_equals_numpy_input():
    transform = XCLIPTrainTransform(image_size=48)
    frames = clip()
    assert torch.equal(
        transform(frames, generator=np.random.default_rng(1)),
        transform(torch.from_numpy(frames), generator=np.random.default_rng(1)),
    )


def test_geometry_is_the_originals_uint8_resize_multiscale_crop_resize():
    """Against OpenCV, as the original's mmcv resizes: uint8 in, uint8 out, twice."""
    cv2 = pytest.importorskip("cv2")
    transform = XCLIPTrainTransform(image_size=64, **ONLY_GEOMETRY)
    frames = clip(height=120, width=160)
    out = transform(frames, generator=np.random.default_rng(3))

    resized = [cv2.resize(frame, (97, 73), interpolation=cv2.INTER_LINEAR) for frame in frames]  # int(256 / 224 * 64)
    top, left, height, width = transform.sample_crop_box(73, 97, np.random.default_rng(3))
    assert (height, width) != (64, 64)  # the second resize does something
    cropped = [frame[top : top + height, left : left + width] for frame in resized]
    expected = np.stack([cv2.resize(frame, (64, 64), interpolation=cv2.INTER_LINEAR) for frame in cropped])
    expected = (torch.from_numpy(expected).permute(0, 3, 1, 2).float() / 255 - MEAN) / STD
    # torch's and OpenCV's integer kernels round differently: a level here and there, two where both resizes did.
    levels_apart = ((out - expected) * STD * 255).abs()
    assert levels_apart.max() <= 2 + 1e-3 and levels_apart.mean() < 0.5


def test_crop_boxes_follow_multiscale_crop():
    transform = XCLIPTrainTransform(image_size=224)
    height, width = 256, 341  # a 4:3 clip after the short-side resize to 256
    sides = [256, 224, 192, 168]  # int(256 * scale) for scales (1, .875, .75, .66)
    rng = np.random.default_rng(0)
    boxes = [transform.sample_crop_box(height, width, rng) for _ in range(400)]
    seen_positions = set()
    for top, left, crop_height, crop_width in boxes:
        assert abs(sides.index(crop_height) - sides.index(crop_width)) <= 1
        step_y, step_x = (height - crop_height) // 4, (width - crop_width) // 4
        position = (top, left)
        corners = [(0, 0), (0, 4 * step_x), (4 * step_y, 0), (4 * step_y, 4 * step_x), (2 * step_y, 2 * step_x)]
        assert position in corners
        seen_positions.add(corners.index(position))
    assert seen_positions == set(range(5))
    assert {(h, w) for _, _, h, w in boxes} == {
        (h, w) for i, h in enumerate(sides) for j, w in enumerate(sides) if abs(i - j) <= 1
    }


def test_crop_sides_within_three_pixels_snap_to_the_output_size():
    transform = XCLIPTrainTransform(image_size=170, scales=(0.66,))  # int(256 * 0.66) = 168, 2 px from 170
    assert transform.sample_crop_box(256, 300, np.random.default_rng(0))[2:] == (170, 170)
    transform = XCLIPTrainTransform(image_size=171, scales=(0.66,))  # 3 px away: kept
    assert transform.sample_crop_box(256, 300, np.random.default_rng(0))[2:] == (168, 168)


def test_flip_mirrors_every_frame():
    frames = clip()
    unflipped = XCLIPTrainTransform(image_size=48, **ONLY_GEOMETRY)(frames, generator=np.random.default_rng(4))
    flipped = XCLIPTrainTransform(image_size=48, **{**ONLY_GEOMETRY, "flip_prob": 1.0})(
        frames, generator=np.random.default_rng(4)
    )
    assert torch.equal(flipped, unflipped.flip(-1))


def test_grayscale_makes_channels_equal():
    transform = XCLIPTrainTransform(
        image_size=48, **{**ONLY_GEOMETRY, "grayscale_prob": 1.0}, image_mean=(0, 0, 0), image_std=(1, 1, 1)
    )
    out = transform(clip(), generator=np.random.default_rng(5))
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    assert out.std() > 0


def test_color_jitter_is_drawn_per_frame_by_default():
    still = still_clip()
    settings = {**ONLY_GEOMETRY, "color_jitter_prob": 1.0}
    per_frame = XCLIPTrainTransform(image_size=48, **settings)(still, generator=np.random.default_rng(6))
    assert all(not torch.allclose(per_frame[0], frame) for frame in per_frame[1:])
    per_clip = XCLIPTrainTransform(image_size=48, jitter_per_frame=False, **settings)(
        still, generator=np.random.default_rng(6)
    )
    assert all(torch.equal(per_clip[0], frame) for frame in per_clip[1:])
    plain = XCLIPTrainTransform(image_size=48, **ONLY_GEOMETRY)(still, generator=np.random.default_rng(6))
    assert not torch.allclose(per_clip, plain)


def hue_test_frames() -> torch.Tensor:
    """Random colours plus the pixels where HSV formulas branch: grey, black, white, pure primaries, ties for the
    largest channel."""
    frames = torch.rand(2, 3, 40, 40, generator=torch.Generator().manual_seed(0))
    frames[0, :, :4] = 0.5
    frames[0, :, 4:8] = 0.0
    frames[0, :, 8:12] = 1.0
    for row, primary in enumerate(torch.eye(3)):
        frames[1, :, row] = primary[:, None]
    frames[1, 0, 3:6] = frames[1, 1, 3:6]  # red == green
    frames[1, 2, 6:9] = frames[1, 1, 6:9]  # blue == green
    frames[1, :, 9:12] = torch.tensor([0.2, 0.9, 0.9])[:, None, None]
    return frames


@pytest.mark.parametrize("hue_factor", [-0.5, -0.1, -0.03, 0.0, 0.04, 0.1, 0.5])
def test_adjust_hue_equals_torchvision(hue_factor):
    frames = hue_test_frames()
    expected = torch.stack([tvF.adjust_hue(frame, hue_factor) for frame in frames])
    torch.testing.assert_close(transforms.adjust_hue(frames, hue_factor), expected, atol=2e-6, rtol=0)


def torchvision_jitter(frames: torch.Tensor, colour: dict) -> torch.Tensor:
    """Frame by frame with torchvision's own functions and Python-float factors, as the original's ColorJitter."""
    adjust = [tvF.adjust_brightness, tvF.adjust_contrast, tvF.adjust_saturation, tvF.adjust_hue]
    out = []
    for frame, factors, order in zip(frames, colour["factors"].tolist(), colour["order"].tolist()):
        for index in order:
            frame = adjust[index](frame, factors[index])
        out.append(frame)
    return torch.stack(out)


def test_color_jitter_equals_torchvisions_adjustments():
    transform = XCLIPTrainTransform(image_size=48, **{**ONLY_GEOMETRY, "color_jitter_prob": 1.0})
    frames, colour = transform.prepare(clip(num_frames=8), generator=np.random.default_rng(3))
    assert colour["jitter"] and len({tuple(order) for order in colour["order"].tolist()}) > 1
    expected = tvF.normalize(torchvision_jitter(frames.float() / 255, colour), mean=MEAN.flatten().tolist(),
                             std=STD.flatten().tolist())
    torch.testing.assert_close(transform.finish(frames, colour), expected, atol=2e-6 / 0.225, rtol=0)
    unjittered = XCLIPTrainTransform(image_size=48, **ONLY_GEOMETRY)(clip(num_frames=8), np.random.default_rng(3))
    assert not torch.allclose(transform.finish(frames, colour), unjittered)


def test_color_jitter_is_drawn_in_the_originals_ranges_for_80_percent_of_clips():
    """The original: torchvision `ColorJitter(0.4, 0.4, 0.2, 0.1)` with probability 0.8 (`AUG.COLOR_JITTER`), so
    brightness and contrast factors in [0.6, 1.4], saturation in [0.8, 1.2] and hue shifts in [-0.1, 0.1]."""
    frames = clip(num_frames=8, height=24, width=32)
    always = XCLIPTrainTransform(image_size=16, color_jitter_prob=1.0)
    factors = torch.cat([always.prepare(frames, generator=np.random.default_rng(seed))[1]["factors"]
                         for seed in range(100)])  # 800 frames, each with its own draws
    lowest, highest = factors.min(0).values, factors.max(0).values
    bounds = torch.tensor([[0.6, 1.4], [0.6, 1.4], [0.8, 1.2], [-0.1, 0.1]])
    assert (bounds[:, 0] <= lowest).all() and (highest <= bounds[:, 1]).all(), (lowest, highest)
    # 800 uniform draws come within 2 % of the range of either end (each end missed with probability 1e-7).
    margin = 0.02 * (bounds[:, 1] - bounds[:, 0])
    assert (lowest < bounds[:, 0] + margin).all() and (highest > bounds[:, 1] - margin).all(), (lowest, highest)

    default = XCLIPTrainTransform(image_size=16)
    jittered = [bool(default.prepare(frames, generator=np.random.default_rng(seed))[1]["jitter"])
                for seed in range(200)]
    assert 0.7 < np.mean(jittered) < 0.9


def test_a_batch_finishes_like_its_clips_one_by_one():
    """What a training loop does on the GPU: the colour half of a whole batch at once, every clip with its draws."""
    transform = XCLIPTrainTransform(image_size=48, color_jitter_prob=0.5, grayscale_prob=0.5)
    prepared = [transform.prepare(clip(seed=seed), generator=np.random.default_rng(seed)) for seed in range(6)]
    assert {bool(colour["jitter"]) for _, colour in prepared} == {True, False}
    assert {bool(colour["grayscale"]) for _, colour in prepared} == {True, False}
    frames = torch.stack([clip_frames for clip_frames, _ in prepared])
    colour = {key: torch.stack([draws[key] for _, draws in prepared]) for key in prepared[0][1]}
    batch = transform.finish(frames, colour)
    one_by_one = torch.stack([transform.finish(*item) for item in prepared])
    torch.testing.assert_close(batch, one_by_one, atol=1e-6, rtol=0)
    assert torch.equal(one_by_one[2], transform(clip(seed=2), generator=np.random.default_rng(2)))
    assert frames.dtype == torch.uint8 and batch.shape == (6, 4, 3, 48, 48)
    as_float = frames.float()
    transform.finish(as_float, colour)
    assert torch.equal(as_float, frames.float())  # float input is read, never written


def test_one_crop_per_clip():
    out = XCLIPTrainTransform(image_size=48, **ONLY_GEOMETRY)(still_clip(), generator=np.random.default_rng(9))
    assert all(torch.equal(out[0], frame) for frame in out[1:])


@pytest.mark.parametrize(
    "frames, error, match",
    [
        (np.zeros((4, 32, 32), np.uint8), ValueError, r"\[T, H, W, 3\]"),
        (np.zeros((4, 32, 32, 3), np.float32), ValueError, "uint8"),
        ([[0]], TypeError, "NumPy array or a torch tensor"),
    ],
)
def test_bad_clips_raise(frames, error, match):
    with pytest.raises(error, match=match):
        XCLIPTrainTransform()(frames)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="flip_prob"):
        XCLIPTrainTransform(flip_prob=1.5)
    with pytest.raises(TypeError, match="generator"):
        XCLIPTrainTransform(image_size=32)(clip(), generator=42)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_clip_matches_cpu():
    transform = XCLIPTrainTransform(image_size=64, color_jitter_prob=1.0, flip_prob=1.0)
    frames = torch.from_numpy(clip())
    on_gpu = transform(frames.cuda(), generator=np.random.default_rng(2))
    assert on_gpu.device.type == "cuda"
    on_cpu = transform(frames, generator=np.random.default_rng(2))
    # The same draws; uint8 frames are resized by torch's integer kernel on the CPU and by its float kernel, rounded,
    # on the GPU, which tips pixels by a level per resize, and the colour jitter amplifies that. Emulated on the CPU
    # (torchvision's cast path): at most 3.7 levels apart, 0.37 on average, for this clip.
    levels_apart = ((on_gpu.cpu() - on_cpu) * STD * 255).abs()
    assert levels_apart.max() <= 8 and levels_apart.mean() < 0.6
