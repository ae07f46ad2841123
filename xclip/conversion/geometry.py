"""Reading an X-CLIP's sizes from the shapes of its original weights alone.

The original checkpoints carry no config, so everything is measured the way the original's `build_model` measures a
CLIP state dict, extended to X-CLIP's own parts: the frame count is the length of the MIT's temporal position
embedding, layer counts are the numbers of residual blocks. Attention heads leave no trace in the shapes; the
original always uses `width // 64`, which is the default here, and each can be overridden for other models.

Only shapes are read, so a state dict of meta tensors or of `torch.Size`s works as well as real weights.
"""

import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ..modeling import XCLIPConfig
from ..processing.tokenization_xclip import CLIP_CONTEXT_LENGTH, CLIP_VOCAB_SIZE
from ..text_utils import format_names
from .errors import ConversionError

__all__ = [
    "CLIP_ARCHITECTURES",
    "CLIPArchitecture",
    "XCLIPGeometry",
    "clip_architecture_name",
    "detect_geometry",
    "measure_clip_geometry",
    "measure_geometry",
    "original_xclip_parts",
]

logger = logging.getLogger(__name__)

# X-CLIP's own parts in every released model: the original's `load()` passes no sizes, so its defaults hold there
# (they differ from `build_model`'s and the constructor's).
ORIGINAL_MIT_LAYERS = 1
ORIGINAL_PROMPT_LAYERS = 2

# Layer-stack prefixes of the original state dict; a block's index follows the prefix.
_VISION_BLOCKS = "visual.transformer.resblocks."
_TEXT_BLOCKS = "transformer.resblocks."
_MIT_BLOCKS = "mit.resblocks."
_PROMPT_BLOCKS = "prompts_generator.decoder."

ShapeLike = torch.Tensor | torch.Size | tuple[int, ...]


@dataclass(frozen=True)
class XCLIPGeometry:
    """Every size of an X-CLIP model, in the original implementation's terms.

    `embed_dim` is the joint video-text space, which is also the width of the MIT and of the prompt generator.
    """

    image_size: int
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    vision_intermediate_size: int
    text_width: int
    text_layers: int
    text_heads: int
    text_intermediate_size: int
    vocab_size: int
    context_length: int
    embed_dim: int
    num_frames: int
    mit_layers: int
    mit_heads: int
    mit_intermediate_size: int
    prompt_layers: int
    prompt_heads: int

    def __post_init__(self) -> None:
        for width_field, heads_field in (
            ("vision_width", "vision_heads"),
            ("text_width", "text_heads"),
            ("embed_dim", "mit_heads"),
            ("embed_dim", "prompt_heads"),
        ):
            width, heads = getattr(self, width_field), getattr(self, heads_field)
            if heads < 1 or width % heads:
                raise ConversionError(
                    f"{heads_field}={heads} does not divide {width_field}={width}; pass another {heads_field}"
                )

    @property
    def architecture(self) -> str | None:
        """OpenAI's name of the CLIP image tower (`"ViT-B/32"`, ...), or None for another geometry."""
        return clip_architecture_name(self.vision_width, self.vision_layers, self.patch_size, self.image_size)

    def summary(self) -> str:
        """One line that says what was found."""
        name = self.architecture or "custom ViT"
        return (
            f"X-CLIP {name}: {self.num_frames} frames of {self.image_size}x{self.image_size} px (patch "
            f"{self.patch_size}) | vision: width {self.vision_width}, {self.vision_layers} layers, "
            f"{self.vision_heads} heads | text: width {self.text_width}, {self.text_layers} layers, "
            f"{self.text_heads} heads, vocabulary {self.vocab_size}, context {self.context_length} | "
            f"embedding {self.embed_dim} | MIT: {_count(self.mit_layers, 'layer')}, {self.mit_heads} heads | "
            f"prompt generator: {self.prompt_layers} layers, {self.prompt_heads} heads"
        )

    def to_config(
        self,
        text_config: Mapping[str, Any] | None = None,
        vision_config: Mapping[str, Any] | None = None,
        **config_fields: Any,
    ) -> XCLIPConfig:
        """The `XCLIPConfig` of this geometry with the original's activation (QuickGELU) and LayerNorm epsilon.

        Args:
            text_config, vision_config: further `XCLIPTextConfig`/`XCLIPVisionConfig` fields, or replacements.
            config_fields: further `XCLIPConfig` fields, or replacements.
        """
        common = {"hidden_act": "quick_gelu", "layer_norm_eps": 1e-5}
        text = {
            "vocab_size": self.vocab_size,
            "hidden_size": self.text_width,
            "intermediate_size": self.text_intermediate_size,
            "num_hidden_layers": self.text_layers,
            "num_attention_heads": self.text_heads,
            "max_position_embeddings": self.context_length,
            **common,
            **(text_config or {}),
        }
        vision = {
            "hidden_size": self.vision_width,
            "intermediate_size": self.vision_intermediate_size,
            "num_hidden_layers": self.vision_layers,
            "num_attention_heads": self.vision_heads,
            "mit_hidden_size": self.embed_dim,
            "mit_intermediate_size": self.mit_intermediate_size,
            "mit_num_hidden_layers": self.mit_layers,
            "mit_num_attention_heads": self.mit_heads,
            "image_size": self.image_size,
            "patch_size": self.patch_size,
            "num_frames": self.num_frames,
            **common,
            **(vision_config or {}),
        }
        fields = {
            "projection_dim": self.embed_dim,
            "prompt_layers": self.prompt_layers,
            "prompt_num_attention_heads": self.prompt_heads,
            "prompt_hidden_act": "quick_gelu",
            **config_fields,
        }
        try:
            return XCLIPConfig(text_config=text, vision_config=vision, **fields)
        except (TypeError, ValueError) as error:
            raise ConversionError(f"invalid X-CLIP configuration: {error}") from error


@dataclass(frozen=True)
class CLIPArchitecture:
    """The sizes of a CLIP an X-CLIP is built on; X-CLIP's own parts follow the original (see `original_xclip_parts`).

    `image_size` None: any frame size that is a multiple of the patch (toy models). `xclip_heads` None: the original's
    `embed_dim // 64` heads in the MIT and the prompt generator.
    """

    image_size: int | None
    patch_size: int
    vision_width: int
    vision_layers: int
    vision_heads: int
    text_width: int
    text_layers: int
    text_heads: int
    embed_dim: int
    hub_id: str | None = None  # OpenAI's weights in transformers' format
    xclip_heads: int | None = None

    @property
    def image_tower(self) -> tuple[int, int, int, int | None]:
        """(vision width, vision layers, patch size, image size): what tells OpenAI's ViTs apart."""
        return self.vision_width, self.vision_layers, self.patch_size, self.image_size

    def xclip_geometry(self, num_frames: int, image_size: int | None = None) -> XCLIPGeometry:
        """The X-CLIP of this CLIP with `num_frames` frames (of `image_size` pixels where the CLIP fixes none)."""
        parts = original_xclip_parts(self.embed_dim, num_frames)
        if self.xclip_heads is not None:
            parts.update(mit_heads=self.xclip_heads, prompt_heads=self.xclip_heads)
        return XCLIPGeometry(
            image_size=self.image_size or image_size,
            patch_size=self.patch_size,
            vision_width=self.vision_width,
            vision_layers=self.vision_layers,
            vision_heads=self.vision_heads,
            vision_intermediate_size=4 * self.vision_width,
            text_width=self.text_width,
            text_layers=self.text_layers,
            text_heads=self.text_heads,
            text_intermediate_size=4 * self.text_width,
            vocab_size=CLIP_VOCAB_SIZE,
            context_length=CLIP_CONTEXT_LENGTH,
            embed_dim=self.embed_dim,
            **parts,
        )


# OpenAI's released ViTs, by OpenAI's names (the original's `MODEL.ARCH`).
CLIP_ARCHITECTURES = {
    "ViT-B/32": CLIPArchitecture(224, 32, 768, 12, 12, 512, 12, 8, 512, "openai/clip-vit-base-patch32"),
    "ViT-B/16": CLIPArchitecture(224, 16, 768, 12, 12, 512, 12, 8, 512, "openai/clip-vit-base-patch16"),
    "ViT-L/14": CLIPArchitecture(224, 14, 1024, 24, 16, 768, 12, 12, 768, "openai/clip-vit-large-patch14"),
    "ViT-L/14@336px": CLIPArchitecture(336, 14, 1024, 24, 16, 768, 12, 12, 768, "openai/clip-vit-large-patch14-336"),
}


def clip_architecture_name(vision_width: int, vision_layers: int, patch_size: int, image_size: int) -> str | None:
    """OpenAI's name of the CLIP image tower of these sizes (`"ViT-B/32"`, ...), or None for another geometry."""
    image_tower = (vision_width, vision_layers, patch_size, image_size)
    return next((name for name, arch in CLIP_ARCHITECTURES.items() if arch.image_tower == image_tower), None)


def detect_geometry(
    state_dict: Mapping[str, ShapeLike],
    *,
    vision_heads: int | None = None,
    text_heads: int | None = None,
    mit_heads: int | None = None,
    prompt_heads: int | None = None,
) -> XCLIPConfig:
    """The `XCLIPConfig` of an original X-CLIP state dict, read from its shapes; logs a one-line summary.

    Args:
        state_dict: original names to tensors (meta tensors are enough) or to shapes.
        vision_heads, text_heads, mit_heads, prompt_heads: attention heads, when not the original's `width // 64`.

    Raises:
        ConversionError: the state dict is not an X-CLIP one, or a defining tensor has an impossible shape.
    """
    geometry = measure_geometry(
        state_dict, vision_heads=vision_heads, text_heads=text_heads, mit_heads=mit_heads, prompt_heads=prompt_heads
    )
    logger.info("Detected %s", geometry.summary())
    return geometry.to_config()


def measure_geometry(
    state_dict: Mapping[str, ShapeLike],
    *,
    vision_heads: int | None = None,
    text_heads: int | None = None,
    mit_heads: int | None = None,
    prompt_heads: int | None = None,
) -> XCLIPGeometry:
    """Like `detect_geometry`, but returns the `XCLIPGeometry` (original terms, with a `summary()`)."""
    shapes = _shapes_of(state_dict)
    _require_xclip(shapes)
    clip_sizes = _measure_clip_parts(shapes, vision_heads=vision_heads, text_heads=text_heads)
    embed_dim = clip_sizes["embed_dim"]

    _, num_frames, mit_width = _dims(shapes, "mit.positional_embedding", "[1, num_frames, embed_dim]")
    if mit_width != embed_dim:
        raise ConversionError(
            f"'mit.positional_embedding' is {mit_width} wide but 'text_projection' projects to {embed_dim}; "
            "the MIT runs in the joint embedding space, so they must agree"
        )
    mit_layers = _count_layers(shapes, _MIT_BLOCKS)
    if mit_layers == 0:
        raise ConversionError(f"no MIT layers ('{_MIT_BLOCKS}N.*') found")
    mit_intermediate, _ = _dims(shapes, f"{_MIT_BLOCKS}0.mlp.c_fc.weight", "[intermediate, embed_dim]")
    return XCLIPGeometry(
        **clip_sizes,
        num_frames=num_frames,
        mit_layers=mit_layers,
        mit_heads=mit_heads or _default_heads(embed_dim),
        mit_intermediate_size=mit_intermediate,
        prompt_layers=_count_layers(shapes, _PROMPT_BLOCKS),
        prompt_heads=prompt_heads or _default_heads(embed_dim),
    )


def measure_clip_geometry(state_dict: Mapping[str, ShapeLike], num_frames: int) -> XCLIPGeometry:
    """The X-CLIP geometry built on an OpenAI CLIP state dict: CLIP sizes from its shapes (heads `width // 64`,
    as OpenAI's ViTs have), X-CLIP's own parts as the original trains them (see `original_xclip_parts`)."""
    shapes = _shapes_of(state_dict)
    if "visual.conv1.weight" not in shapes or "token_embedding.weight" not in shapes:
        raise ConversionError(
            "not an OpenAI CLIP ViT state dict: expected names such as 'visual.conv1.weight' and "
            f"'token_embedding.weight', found {_found(shapes)}"
        )
    clip_sizes = _measure_clip_parts(shapes)
    return XCLIPGeometry(**clip_sizes, **original_xclip_parts(clip_sizes["embed_dim"], num_frames))


def original_xclip_parts(embed_dim: int, num_frames: int) -> dict[str, int]:
    """The sizes of X-CLIP's own parts in every released model (the original's `load()`): an MIT of 1 layer and
    a prompt generator of 2, both `embed_dim` wide with `embed_dim // 64` heads."""
    return {
        "num_frames": num_frames,
        "mit_layers": ORIGINAL_MIT_LAYERS,
        "mit_heads": _default_heads(embed_dim),
        "mit_intermediate_size": 4 * embed_dim,
        "prompt_layers": ORIGINAL_PROMPT_LAYERS,
        "prompt_heads": _default_heads(embed_dim),
    }


def _measure_clip_parts(
    shapes: Mapping[str, tuple[int, ...]], vision_heads: int | None = None, text_heads: int | None = None
) -> dict[str, int]:
    vision_width, _, patch_size, _ = _dims(shapes, "visual.conv1.weight", "[width, channels, patch, patch]")
    num_positions, _ = _dims(shapes, "visual.positional_embedding", "[1 + grid * grid, width]")
    grid = math.isqrt(num_positions - 1) if num_positions > 1 else 0
    if grid == 0 or grid * grid != num_positions - 1:
        raise ConversionError(
            f"'visual.positional_embedding' has {num_positions} positions; a square grid of patches plus the class "
            "token needs 1 + n*n"
        )
    vision_layers = _count_layers(shapes, _VISION_BLOCKS)
    text_layers = _count_layers(shapes, _TEXT_BLOCKS)
    if vision_layers == 0 or text_layers == 0:
        raise ConversionError(f"no vision ('{_VISION_BLOCKS}N.*') or text ('{_TEXT_BLOCKS}N.*') layers found")
    vision_intermediate, _ = _dims(shapes, f"{_VISION_BLOCKS}0.mlp.c_fc.weight", "[intermediate, width]")
    text_intermediate, _ = _dims(shapes, f"{_TEXT_BLOCKS}0.mlp.c_fc.weight", "[intermediate, width]")
    (text_width,) = _dims(shapes, "ln_final.weight", "[width]")
    vocab_size, _ = _dims(shapes, "token_embedding.weight", "[vocab_size, width]")
    context_length, _ = _dims(shapes, "positional_embedding", "[context_length, width]")
    _, embed_dim = _dims(shapes, "text_projection", "[width, embed_dim]")
    return {
        "image_size": grid * patch_size,
        "patch_size": patch_size,
        "vision_width": vision_width,
        "vision_layers": vision_layers,
        "vision_heads": vision_heads or _default_heads(vision_width),
        "vision_intermediate_size": vision_intermediate,
        "text_width": text_width,
        "text_layers": text_layers,
        "text_heads": text_heads or _default_heads(text_width),
        "text_intermediate_size": text_intermediate,
        "vocab_size": vocab_size,
        "context_length": context_length,
        "embed_dim": embed_dim,
    }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _default_heads(width: int) -> int:
    # The original's rule; widths under 64 (toy models only) get one head instead of none.
    return max(1, width // 64)


def _require_xclip(shapes: Mapping[str, tuple[int, ...]]) -> None:
    has_clip = "visual.conv1.weight" in shapes and "token_embedding.weight" in shapes
    has_xclip = any(name.startswith(("mit.", "prompts_generator.")) for name in shapes)
    if has_clip and not has_xclip:
        raise ConversionError(
            "a CLIP state dict without X-CLIP's own weights (no 'mit.*' or 'prompts_generator.*'); build an X-CLIP "
            "from CLIP weights with XCLIPModel.from_clip instead"
        )
    if not has_clip or not has_xclip:
        raise ConversionError(
            "not an X-CLIP state dict: expected names such as 'visual.conv1.weight', 'token_embedding.weight' and "
            f"'mit.positional_embedding', found {_found(shapes)}"
        )


def _shapes_of(state_dict: Mapping[str, ShapeLike]) -> dict[str, tuple[int, ...]]:
    return {
        name: tuple(value.shape if isinstance(value, torch.Tensor) else value) for name, value in state_dict.items()
    }


def _dims(shapes: Mapping[str, tuple[int, ...]], name: str, layout: str) -> tuple[int, ...]:
    """The shape of `name`, checked to have as many dimensions as `layout` (e.g. "[width, embed_dim]") names."""
    if name not in shapes:
        raise ConversionError(f"missing weight {name!r} ({layout})")
    shape = shapes[name]
    if len(shape) != layout.count(",") + 1 or not all(size > 0 for size in shape):
        raise ConversionError(f"{name!r} has shape {list(shape)}, expected {layout}")
    return shape


def _count_layers(shapes: Mapping[str, tuple[int, ...]], prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    indices = {int(match.group(1)) for name in shapes if (match := pattern.match(name))}
    if indices != set(range(len(indices))):
        missing = sorted(set(range(max(indices) + 1)) - indices)
        raise ConversionError(f"layers {missing} of '{prefix}N' are missing (found {sorted(indices)})")
    return len(indices)


def _found(shapes: Mapping[str, tuple[int, ...]]) -> str:
    return f"e.g. {format_names(shapes, limit=4)}" if shapes else "no weights at all"
