"""Synthetic clips of one shape that moves, grows or shrinks over a noisy background, for demos and tests.

A clip's motion (`ShapeMotion`) is what a class is made of; its look (`ShapeStyle`: shape, colour, size, start
position, background noise) is drawn at random for every clip, so that classes differ in motion only.

`ShapeStyle.fade_in` exists for models trained from scratch. X-CLIP sees the order of frames only through the
temporal position embedding of its multi-frame integration transformer (MIT); its other cross-frame parts (message
attention, frame-averaged prompt tokens, the MIT's mean) do not depend on the order. A randomly initialised model
learns that embedding slowly: on the demo's six speed-and-direction sentences (`xclip.demo.motion_task`, 150 clips
each, 20 epochs) it reaches 69% top-1 with a constant colour, and 100% when the shape brightens over the clip
(`fade_in=0.7`): the order then shows in what those order-blind parts see, as the brightness rises along the path.
With `wrap=True` the positions are uniform on a torus at every frame, so a single frame says nothing about the
direction; without it the start is drawn so that the whole path stays inside the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SHAPES", "ShapeMotion", "ShapeStyle", "render_moving_shape"]

SHAPES = ("square", "disk", "diamond")


@dataclass(frozen=True)
class ShapeMotion:
    """How the shape changes from one frame to the next.

    Attributes:
        velocity: `(rows, columns)` in pixels per frame; rows grow downwards, so `(0, -2)` moves left and `(-2, 0)`
            moves up.
        growth: change of the shape's radius in pixels per frame; negative shrinks.
    """

    velocity: tuple[float, float] = (0.0, 0.0)
    growth: float = 0.0


@dataclass(frozen=True)
class ShapeStyle:
    """The random look of a clip, and how it is drawn.

    Attributes:
        shapes: drawn uniformly per clip, from `SHAPES`.
        radius: range of the radius at its smallest over the clip, in pixels (a square's half side).
        colour: range of each RGB channel of the shape's colour, `[low, high)`.
        noise: background pixels are uniform in `[0, noise)`, drawn per frame.
        fade_in: 0 keeps the colour constant; `f` scales it from `1 - f` on the first frame to 1 on the last.
        wrap: the frame is a torus (the shape starts anywhere and leaves one side to come back on the other);
            otherwise the start is drawn so that the shape stays inside the frame for the whole clip.
    """

    shapes: tuple[str, ...] = SHAPES
    radius: tuple[float, float] = (3.0, 5.0)
    colour: tuple[int, int] = (150, 256)
    noise: int = 40
    fade_in: float = 0.0
    wrap: bool = False

    def __post_init__(self):
        unknown = sorted(set(self.shapes) - set(SHAPES))
        if not self.shapes or unknown:
            raise ValueError(f"shapes must be a non-empty subset of {SHAPES}, got {self.shapes}.")
        if not 0 < self.radius[0] <= self.radius[1]:
            raise ValueError(f"radius must be a range (low, high) with 0 < low <= high, got {self.radius}.")
        if not 0 <= self.colour[0] < self.colour[1] <= 256:
            raise ValueError(f"colour must be a range [low, high) within [0, 256), got {self.colour}.")
        if not 1 <= self.noise <= 256:
            raise ValueError(f"noise must be in [1, 256], got {self.noise}.")
        if not 0 <= self.fade_in < 1:
            raise ValueError(f"fade_in must be in [0, 1), got {self.fade_in}.")


def render_moving_shape(
    motion: ShapeMotion,
    rng: np.random.Generator,
    *,
    num_frames: int = 8,
    size: int = 32,
    style: ShapeStyle = ShapeStyle(),
) -> np.ndarray:
    """One clip of `motion`, with its look drawn from `rng`.

    Args:
        num_frames: frames of the clip.
        size: frame side in pixels (even, for H.264's 4:2:0 chroma).

    Returns:
        uint8 RGB frames `(num_frames, size, size, 3)`.

    Raises:
        ValueError: `num_frames` is not positive, or the shape cannot stay inside the frame (`wrap=False`).
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be positive, got {num_frames}.")
    frames = rng.integers(0, style.noise, size=(num_frames, size, size, 3), dtype=np.uint8)
    shape = style.shapes[rng.integers(len(style.shapes))]
    colour = rng.integers(*style.colour, size=3)
    times = np.arange(num_frames)
    smallest = rng.uniform(*style.radius)
    radii = np.maximum(smallest + motion.growth * (times - (0 if motion.growth >= 0 else num_frames - 1)), 0.5)
    offsets = np.outer(times, motion.velocity)  # (T, 2)
    centres = _start(offsets, radii.max(), size, style.wrap, rng) + offsets
    brightness = 1 - style.fade_in + style.fade_in * times / max(num_frames - 1, 1)
    pixel_centres = np.arange(size) + 0.5
    for frame, (row, column), radius, level in zip(frames, centres, radii, brightness):
        rows, columns = pixel_centres[:, None] - row, pixel_centres[None, :] - column
        if style.wrap:  # the shortest signed distance on the torus
            rows, columns = (rows + size / 2) % size - size / 2, (columns + size / 2) % size - size / 2
        frame[_mask(shape, rows, columns, radius)] = (colour * level).astype(np.uint8)
    return frames


def _start(offsets: np.ndarray, radius: float, size: int, wrap: bool, rng: np.random.Generator) -> np.ndarray:
    """The centre on the first frame, `(row, column)`: anywhere on a torus, else where the path stays inside."""
    if wrap:
        return rng.uniform(0, size, size=2)
    low = radius - offsets.min(axis=0)
    high = size - radius - offsets.max(axis=0)
    if np.any(low > high):
        raise ValueError(
            f"A shape of radius up to {radius:.1f} moving {offsets[-1].round(1).tolist()} pixels cannot stay inside a "
            f"{size}x{size} frame; use a larger frame, a smaller motion or wrap=True."
        )
    return rng.uniform(low, high)


def _mask(shape: str, rows: np.ndarray, columns: np.ndarray, radius: float) -> np.ndarray:
    """`(size, size)` bool, the pixels inside `shape` given their offsets from its centre."""
    if shape == "square":
        return np.maximum(np.abs(rows), np.abs(columns)) <= radius
    if shape == "disk":
        return rows**2 + columns**2 <= radius**2
    return np.abs(rows) + np.abs(columns) <= 1.3 * radius  # a diamond of about a disk's area
