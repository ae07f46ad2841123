"""Frame sampling against the original X-CLIP's SampleFrames formulas, written out independently here."""

import math

import numpy as np
import pytest

from xclip.video import sample_dense_indices, sample_multi_clip_indices, sample_segment_indices


def reference_test_segments(total, segments):
    """Original test mode: the centre of each of `segments` equal segments."""
    step = total / segments
    return [int(i * step + step / 2) % total for i in range(segments)]


def reference_train_segments(total, segments, offsets):
    """Original training mode when every segment holds at least one frame; `offsets` are the random draws."""
    length = total // segments
    return [(i * length + int(offsets[i])) % total for i in range(segments)]


def round_half_even(value):
    floor = math.floor(value)
    if value - floor != 0.5:
        return floor + (value - floor > 0.5)
    return floor if floor % 2 == 0 else floor + 1


@pytest.mark.parametrize("total", [8, 9, 15, 16, 17, 250, 1000])
@pytest.mark.parametrize("segments", [8, 16, 32])
def test_test_mode_takes_segment_centres(total, segments):
    indices = sample_segment_indices(total, segments)
    assert indices.dtype == np.int64 and indices.shape == (segments,)
    assert indices.tolist() == reference_test_segments(total, segments)


def test_test_mode_known_values():
    # 250 frames / 8 segments: segment length 31.25, centres 15.6, 46.9, ...
    assert sample_segment_indices(250, 8).tolist() == [15, 46, 78, 109, 140, 171, 203, 234]
    assert sample_segment_indices(8, 8).tolist() == list(range(8))


@pytest.mark.parametrize("total, segments", [(8, 8), (9, 8), (17, 16), (32, 32), (250, 8), (250, 32), (1000, 16)])
def test_training_draws_one_frame_per_segment(total, segments):
    draws = np.random.default_rng(7).integers(total // segments, size=segments)
    indices = sample_segment_indices(total, segments, training=True, rng=np.random.default_rng(7))
    assert indices.tolist() == reference_train_segments(total, segments, draws)
    length = total // segments
    assert all(i * length <= index < (i + 1) * length for i, index in enumerate(indices))


def test_training_covers_every_offset_of_a_segment():
    rng = np.random.default_rng(0)
    samples = np.stack([sample_segment_indices(40, 8, training=True, rng=rng) for _ in range(200)])
    offsets = samples - np.arange(8) * 5
    assert set(np.unique(offsets)) == {0, 1, 2, 3, 4}


@pytest.mark.parametrize("total", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("segments", [8, 16])
def test_short_video_repeats_frames(total, segments):
    """Fewer frames than segments (a top user ask): the original's round(i * N / T) fallback, looped mod N."""
    expected = [round_half_even(i * total / segments) % total for i in range(segments)]
    training = sample_segment_indices(total, segments, training=True, rng=np.random.default_rng(0))
    assert training.tolist() == expected
    test = sample_segment_indices(total, segments)
    assert test.tolist() == reference_test_segments(total, segments)
    assert set(test.tolist()) == set(range(total))


def test_short_video_known_values():
    # Halves round to even as in numpy.around: 1.5 -> 2, 2.5 -> 2; 8 * 3/8 = 3 wraps to 0.
    assert sample_segment_indices(3, 8, training=True).tolist() == [0, 0, 1, 1, 2, 2, 2, 0]
    assert sample_segment_indices(4, 8, training=True).tolist() == [0, 0, 1, 2, 2, 2, 3, 0]
    assert sample_segment_indices(3, 8).tolist() == [0, 0, 0, 1, 1, 2, 2, 2]
    assert sample_segment_indices(1, 8, training=True).tolist() == [0] * 8


def test_equal_length_is_identity_in_both_modes():
    assert sample_segment_indices(16, 16, training=True).tolist() == list(range(16))
    assert sample_segment_indices(16, 16).tolist() == list(range(16))


def test_rng_makes_training_reproducible():
    first = sample_segment_indices(1000, 8, training=True, rng=np.random.default_rng(3))
    again = sample_segment_indices(1000, 8, training=True, rng=np.random.default_rng(3))
    other = sample_segment_indices(1000, 8, training=True, rng=np.random.default_rng(4))
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()


@pytest.mark.parametrize("bad", [dict(total_frames=0, num_segments=8), dict(total_frames=10, num_segments=0)])
def test_invalid_sizes_raise_value_error(bad):
    with pytest.raises(ValueError, match="positive"):
        sample_segment_indices(**bad)


def test_multi_clip_default_is_evenly_offset():
    total, segments, clips = 250, 8, 4
    indices = sample_multi_clip_indices(total, segments, clips)
    step = total / segments
    expected = [[int(i * step + (c + 0.5) / clips * step) for i in range(segments)] for c in range(clips)]
    assert indices.shape == (clips, segments) and indices.dtype == np.int64
    assert indices.tolist() == expected
    # The clips interleave: within each segment, clip c comes before clip c + 1.
    assert (np.diff(indices, axis=0) > 0).all()


def test_single_multi_clip_equals_single_clip_test():
    for total in (3, 8, 100, 251):
        assert sample_multi_clip_indices(total, 8, 1)[0].tolist() == sample_segment_indices(total, 8).tolist()


def test_multi_clip_short_video_stays_in_range():
    indices = sample_multi_clip_indices(5, 8, 4)
    assert indices.min() >= 0 and indices.max() < 5


def test_multi_clip_random_reproduces_original_independent_training_draws():
    indices = sample_multi_clip_indices(300, 8, 4, random=True, rng=np.random.default_rng(11))
    rng = np.random.default_rng(11)
    expected = [sample_segment_indices(300, 8, training=True, rng=rng).tolist() for _ in range(4)]
    assert indices.tolist() == expected
    assert len({tuple(row) for row in indices.tolist()}) > 1


def test_dense_test_mode_starts_centred():
    # X-CLIP's ablation: T=8 frames every 64 // 8 = 8 frames; start = int((N - 64 + 1) / 2).
    indices = sample_dense_indices(250, 8, 8)
    start = int((250 - 64 + 1) / 2)
    assert indices.tolist() == [[start + 8 * k for k in range(8)]]


def test_dense_training_start_is_uniform_over_valid_starts():
    rng = np.random.default_rng(5)
    starts = [sample_dense_indices(100, 8, 8, training=True, rng=rng)[0, 0] for _ in range(300)]
    assert min(starts) >= 0 and max(starts) <= 100 - 64
    assert len(set(starts)) > 20
    clip = sample_dense_indices(100, 8, 8, training=True, rng=np.random.default_rng(1))[0]
    assert np.diff(clip).tolist() == [8] * 7


@pytest.mark.parametrize("training", [False, True])
def test_dense_short_video_wraps_around(training):
    indices = sample_dense_indices(20, 8, 8, training=training, rng=np.random.default_rng(0))
    assert indices.tolist() == [[(8 * k) % 20 for k in range(8)]]


def test_dense_multi_clip_sorted_draw_fallback():
    """N just above the clip span with several clips: the original's sorted uniform draws over valid starts."""
    total, clip_len, interval, clips = 66, 8, 8, 4
    draws = np.sort(np.random.default_rng(2).integers(total - 64 + 1, size=clips))
    indices = sample_dense_indices(
        total, clip_len, interval, num_clips=clips, training=True, rng=np.random.default_rng(2)
    )
    expected = [[(start + interval * k) % total for k in range(clip_len)] for start in draws]
    assert indices.tolist() == expected


def test_dense_multi_clip_test_mode():
    indices = sample_dense_indices(200, 4, 2, num_clips=3)
    step = (200 - 8 + 1) / 3
    assert indices[:, 0].tolist() == [int(c * step + step / 2) for c in range(3)]
