"""Which frames to decode: the original X-CLIP's frame sampling (mmaction2's `SampleFrames`), index for index.

The original samples with `SampleFrames(clip_len, frame_interval, num_clips)`: it places `num_clips` clip starts
over the video, takes `clip_len` frames every `frame_interval` frames from each start, and wraps indices past the
end around (`index mod N`, "loop"). X-CLIP uses it two ways:

- segment (TSN) sampling, `clip_len=1, frame_interval=1, num_clips=T`: one frame from each of T equal segments,
  which is `sample_segment_indices` (and, for the multi-view test, `sample_multi_clip_indices`);
- dense sampling (paper ablation), `clip_len=T, frame_interval=64 // T, num_clips=1`: `sample_dense_indices`.

With N frames, `span = clip_len * frame_interval` and `C = num_clips`, the clip starts are:

- training: `avg = (N - span + 1) // C`; if `avg > 0`, start `c` is `c * avg + randint(avg)`; else if
  `N > max(C, span)`, C sorted uniform draws from `[0, N - span]` (with replacement); else if `avg == 0`,
  `round(c * (N - span + 1) / C)` (half to even); otherwise 0.
- test: `avg = (N - span + 1) / C` (a float); if `N >= span`, start `c` is `int(c * avg + avg / 2)`, the centre
  of its segment; otherwise 0.

Videos shorter than the clip therefore repeat frames instead of failing. The original draws from NumPy's global
generator; here `rng` (a `np.random.Generator`) makes draws reproducible, and a fresh one is used when omitted.
"""

from __future__ import annotations

import operator

import numpy as np


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if operator.index(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value}")


def _clip_starts(
    total_frames: int, clip_span: int, num_clips: int, training: bool, rng: np.random.Generator | None
) -> np.ndarray:
    """`(num_clips,)` int64 first-frame indices of the clips, before wrapping around (see the module docstring)."""
    clips = np.arange(num_clips)
    if not training:
        if total_frames < clip_span:
            return np.zeros(num_clips, dtype=np.int64)
        avg = (total_frames - clip_span + 1) / num_clips
        return (clips * avg + avg / 2.0).astype(np.int64)
    rng = rng if rng is not None else np.random.default_rng()
    avg = (total_frames - clip_span + 1) // num_clips
    if avg > 0:
        return clips * avg + rng.integers(avg, size=num_clips)
    if total_frames > max(num_clips, clip_span):
        return np.sort(rng.integers(total_frames - clip_span + 1, size=num_clips))
    if avg == 0:
        return np.round(clips * ((total_frames - clip_span + 1) / num_clips)).astype(np.int64)
    return np.zeros(num_clips, dtype=np.int64)


def sample_segment_indices(
    total_frames: int,
    num_segments: int,
    *,
    training: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """One frame from each of `num_segments` equal segments, as the original X-CLIP samples its T frames.

    Training picks a random frame in each segment (`i * (N // T) + randint(N // T)`); test picks each segment's
    centre (`int(i * N / T + N / (2 T))`), deterministically. A video with fewer than T frames repeats frames:
    training uses `round(i * N / T)`, test the same centre formula.

    Args:
        total_frames: Frames in the video (N), e.g. `probe(video).num_frames`.
        num_segments: Frames to sample (T), the model's frame count.
        training: Random offsets (training) instead of segment centres (test).
        rng: Generator for the training draws.

    Returns:
        `np.ndarray` of int64, shape `(num_segments,)`, indices in `[0, total_frames)`.
    """
    _check_positive(total_frames=total_frames, num_segments=num_segments)
    return _clip_starts(total_frames, 1, num_segments, training, rng) % total_frames


def sample_multi_clip_indices(
    total_frames: int,
    num_segments: int,
    num_clips: int,
    *,
    random: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """`num_clips` segment samplings of the same video, for multi-view testing (e.g. 4 clips x 3 crops).

    By default the clips are deterministic and evenly interleaved: with segment length `L = N / T`, clip `c` takes
    frame `int(i * L + (c + 0.5) / num_clips * L)` of segment `i`, i.e. the clips sit at the centres of
    `num_clips` equal sub-segments. One clip is exactly the single-clip test sampling.

    `random=True` reproduces the original instead: every clip is an independent training-style random sampling,
    which makes its published multi-view results vary by about 0.2 % from run to run.

    Args:
        total_frames: Frames in the video (N).
        num_segments: Frames per clip (T).
        num_clips: Clips (views) to sample.
        random: Sample like the original (random clips) instead of evenly offset clips.
        rng: Generator for `random=True`.

    Returns:
        `np.ndarray` of int64, shape `(num_clips, num_segments)`, indices in `[0, total_frames)`.
    """
    _check_positive(total_frames=total_frames, num_segments=num_segments, num_clips=num_clips)
    if random:
        rng = rng if rng is not None else np.random.default_rng()
        return np.stack(
            [sample_segment_indices(total_frames, num_segments, training=True, rng=rng) for _ in range(num_clips)]
        )
    segment_length = total_frames / num_segments
    offsets = (np.arange(num_clips)[:, None] + 0.5) / num_clips * segment_length
    return (np.arange(num_segments)[None, :] * segment_length + offsets).astype(np.int64) % total_frames


def sample_dense_indices(
    total_frames: int,
    clip_len: int,
    frame_interval: int,
    *,
    num_clips: int = 1,
    training: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Clips of `clip_len` frames taken every `frame_interval` frames (the paper's dense-sampling ablation).

    X-CLIP's ablation uses `clip_len=T, frame_interval=64 // T`. Each clip covers `span = clip_len *
    frame_interval` frames; with one clip, training starts it at `randint(N - span + 1)` and test at
    `int((N - span + 1) / 2)`, the centred start. Videos shorter than the span start at 0 and wrap around
    (`index mod N`). Several clips follow the general rules in the module docstring.

    Returns:
        `np.ndarray` of int64, shape `(num_clips, clip_len)`, indices in `[0, total_frames)`.
    """
    _check_positive(
        total_frames=total_frames, clip_len=clip_len, frame_interval=frame_interval, num_clips=num_clips
    )
    starts = _clip_starts(total_frames, clip_len * frame_interval, num_clips, training, rng)
    return (starts[:, None] + np.arange(clip_len)[None, :] * frame_interval) % total_frames
