"""X-CLIP configuration.

X-CLIP ("Expanding Language-Image Pretrained Models for General Video Recognition", ECCV 2022,
https://arxiv.org/abs/2208.02816, https://github.com/microsoft/VideoX/tree/master/X-CLIP) extends CLIP with
cross-frame message tokens, a multi-frame integration transformer (MIT) and a video-specific prompt generator.

Field names, defaults and `model_type` are those of transformers' built-in `x_clip` port, so a `config.json`
written by either package loads in the other. The defaults reproduce `microsoft/xclip-base-patch32`
(X-CLIP-B/32, 8 frames, 224 px). Unlike the built-in port, geometry, dropout probabilities and activation names
are validated at construction (in `__post_init__`, so the error is a plain `ValueError`): fields that disagree or are
out of range raise an error naming them instead of a shape error deep inside the forward pass, or none at all.
"""

from typing import Any

from huggingface_hub.dataclasses import strict
from huggingface_hub.errors import StrictDataclassError
from transformers import PretrainedConfig
from transformers.activations import ACT2FN
from transformers.utils import logging

logger = logging.get_logger(__name__)

__all__ = ["XCLIPConfig", "XCLIPTextConfig", "XCLIPVisionConfig"]


def _check_heads(owner: str, width_field: str, width: int, heads_field: str, heads: int) -> None:
    if heads <= 0 or width % heads != 0:
        raise ValueError(
            f"{owner}: `{width_field}` ({width}) must be divisible by `{heads_field}` ({heads}); "
            "attention splits the width evenly across heads."
        )


def _check_probability(owner: str, field: str, value: float, upper_inclusive: bool = True) -> None:
    # Written so that NaN fails too. Out of range, dropout fails at the first training step with an error naming
    # no field, or not at all (a negative drop_path_rate silently disables stochastic depth).
    if not (0 <= value <= 1 if upper_inclusive else 0 <= value < 1):
        interval = "[0, 1]" if upper_inclusive else "[0, 1)"
        raise ValueError(f"{owner}: `{field}` must be a probability in {interval}, got {value}.")


def _check_activation(owner: str, field: str, name: str) -> None:
    # Checked here because the model looks the name up only when it builds its layers, with a bare KeyError.
    if name not in ACT2FN:
        raise ValueError(
            f"{owner}: `{field}` is {name!r}, which transformers' ACT2FN does not know; use one of "
            "'quick_gelu' (CLIP's), 'gelu', 'gelu_new', 'relu', 'silu' (all: transformers.activations.ACT2FN)."
        )


def _as_config(config_class: type[PretrainedConfig], value: dict | PretrainedConfig | None) -> PretrainedConfig:
    """Builds a sub-config from a dict, None (defaults) or another package's config of the same fields."""
    if value is None:
        return config_class()
    if isinstance(value, config_class):
        return value
    if isinstance(value, PretrainedConfig):
        value = value.to_dict()
    return config_class(**value)


class XCLIPPretrainedConfig(PretrainedConfig):
    """Shared base of the X-CLIP configs: a `config.json` whose values have the wrong type raises a `ValueError`, as
    every other malformed value does, instead of huggingface_hub's validation error."""

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any) -> PretrainedConfig:
        try:
            return super().from_dict(config_dict, **kwargs)
        except StrictDataclassError as error:
            # The validator's own message spans lines; its cause is the one-line "Field 'x' expected int, got str".
            reason = error.__cause__ or error
            raise ValueError(f"malformed {cls.__name__} (config.json): {reason}") from error


@strict
class XCLIPTextConfig(XCLIPPretrainedConfig):
    r"""
    Configuration of the X-CLIP text encoder, which is the CLIP text transformer unchanged.

    Args:
        vocab_size (`int`, *optional*, defaults to 49408):
            Size of the CLIP BPE vocabulary.
        hidden_size (`int`, *optional*, defaults to 512):
            Width of the text transformer.
        intermediate_size (`int`, *optional*, defaults to 2048):
            Width of the feed-forward layers.
        num_hidden_layers (`int`, *optional*, defaults to 12):
            Number of transformer layers.
        num_attention_heads (`int`, *optional*, defaults to 8):
            Attention heads per layer (the original uses width // 64).
        max_position_embeddings (`int`, *optional*, defaults to 77):
            Context length of the text encoder.
        hidden_act (`str`, *optional*, defaults to `"quick_gelu"`):
            Activation of the feed-forward layers; CLIP uses `x * sigmoid(1.702 x)`.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of every LayerNorm.
        attention_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on attention probabilities.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated-normal initialiser.
        initializer_factor (`float`, *optional*, defaults to 1.0):
            Scale applied to every initialiser standard deviation.
        pad_token_id, bos_token_id, eos_token_id (`int`, *optional*):
            Kept for compatibility with transformers' config; pooling takes the end-of-text token, which is the
            largest id in each sequence, exactly as the original.
    """

    model_type = "xclip_text_model"
    base_config_key = "text_config"

    vocab_size: int = 49408
    hidden_size: int = 512
    intermediate_size: int = 2048
    num_hidden_layers: int = 12
    num_attention_heads: int = 8
    max_position_embeddings: int = 77
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    attention_dropout: float | int = 0.0
    initializer_range: float = 0.02
    initializer_factor: float = 1.0
    pad_token_id: int | None = 1
    bos_token_id: int | None = 0
    eos_token_id: int | list[int] | None = 2

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        _check_heads(
            "XCLIPTextConfig", "hidden_size", self.hidden_size, "num_attention_heads", self.num_attention_heads
        )
        _check_probability("XCLIPTextConfig", "attention_dropout", self.attention_dropout)
        _check_activation("XCLIPTextConfig", "hidden_act", self.hidden_act)


@strict
class XCLIPVisionConfig(XCLIPPretrainedConfig):
    r"""
    Configuration of the X-CLIP video encoder: the CLIP vision transformer with cross-frame message tokens
    (`CrossFrameCommunicationTransformer` in the original) and the multi-frame integration transformer (MIT).

    Args:
        hidden_size (`int`, *optional*, defaults to 768):
            Width of the frame encoder.
        intermediate_size (`int`, *optional*, defaults to 3072):
            Width of the frame encoder's feed-forward layers.
        num_hidden_layers (`int`, *optional*, defaults to 12):
            Number of frame-encoder layers.
        num_attention_heads (`int`, *optional*, defaults to 12):
            Attention heads of the frame encoder and of the cross-frame message attention.
        mit_hidden_size (`int`, *optional*, defaults to 512):
            Width of the MIT; it runs on projected frame features, so it must equal `XCLIPConfig.projection_dim`.
        mit_intermediate_size (`int`, *optional*, defaults to 2048):
            Width of the MIT feed-forward layers.
        mit_num_hidden_layers (`int`, *optional*, defaults to 1):
            Number of MIT layers (1 in every released model).
        mit_num_attention_heads (`int`, *optional*, defaults to 8):
            MIT attention heads (the original uses `mit_hidden_size // 64`).
        num_channels (`int`, *optional*, defaults to 3):
            Channels of the input frames.
        image_size (`int`, *optional*, defaults to 224):
            Frame resolution the position embeddings were trained for.
        patch_size (`int`, *optional*, defaults to 32):
            Side of the square patches.
        num_frames (`int`, *optional*, defaults to 8):
            Frames per video; the MIT's temporal position embedding has this length.
        hidden_act (`str`, *optional*, defaults to `"quick_gelu"`):
            Activation of the feed-forward layers.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of every LayerNorm.
        attention_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on attention probabilities.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated-normal initialiser.
        initializer_factor (`float`, *optional*, defaults to 1.0):
            Scale applied to every initialiser standard deviation.
        drop_path_rate (`float`, *optional*, defaults to 0.0):
            Stochastic depth of the frame encoder; layer i uses `drop_path_rate * i / (num_hidden_layers - 1)` as in
            the original's linear schedule.
    """

    model_type = "xclip_vision_model"
    base_config_key = "vision_config"

    hidden_size: int = 768
    intermediate_size: int = 3072
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    mit_hidden_size: int = 512
    mit_intermediate_size: int = 2048
    mit_num_hidden_layers: int = 1
    mit_num_attention_heads: int = 8
    num_channels: int = 3
    image_size: int | list[int] | tuple[int, int] = 224
    patch_size: int | list[int] | tuple[int, int] = 32
    num_frames: int = 8
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    attention_dropout: float | int = 0.0
    initializer_range: float = 0.02
    initializer_factor: float = 1.0
    drop_path_rate: float | int = 0.0

    def __post_init__(self, **kwargs: Any) -> None:
        super().__post_init__(**kwargs)
        _check_heads(
            "XCLIPVisionConfig", "hidden_size", self.hidden_size, "num_attention_heads", self.num_attention_heads
        )
        _check_heads(
            "XCLIPVisionConfig",
            "mit_hidden_size",
            self.mit_hidden_size,
            "mit_num_attention_heads",
            self.mit_num_attention_heads,
        )
        if not isinstance(self.image_size, int) or not isinstance(self.patch_size, int):
            raise ValueError(
                f"XCLIPVisionConfig: `image_size` ({self.image_size}) and `patch_size` ({self.patch_size}) must be "
                "integers (square frames and patches)."
            )
        if self.patch_size <= 0 or self.image_size % self.patch_size != 0:
            raise ValueError(
                f"XCLIPVisionConfig: `image_size` ({self.image_size}) must be a multiple of `patch_size` "
                f"({self.patch_size})."
            )
        if self.num_frames < 1:
            raise ValueError(f"XCLIPVisionConfig: `num_frames` must be at least 1, got {self.num_frames}.")
        _check_probability("XCLIPVisionConfig", "attention_dropout", self.attention_dropout)
        # The last layer's rate is drop_path_rate itself, and a rate of 1 divides by its keep probability, 0.
        _check_probability("XCLIPVisionConfig", "drop_path_rate", self.drop_path_rate, upper_inclusive=False)
        _check_activation("XCLIPVisionConfig", "hidden_act", self.hidden_act)


@strict
class XCLIPConfig(XCLIPPretrainedConfig):
    r"""
    Configuration of the full X-CLIP model: text encoder, video encoder, MIT and video-specific prompt generator.

    Args:
        text_config (`dict` or `XCLIPTextConfig`, *optional*):
            Text encoder configuration.
        vision_config (`dict` or `XCLIPVisionConfig`, *optional*):
            Video encoder configuration.
        projection_dim (`int`, *optional*, defaults to 512):
            Width of the joint video-text embedding space.
        prompt_layers (`int`, *optional*, defaults to 2):
            Layers of the video-specific prompt generator (2 in every released model).
        prompt_alpha (`float`, *optional*, defaults to 0.1):
            Initial value of the prompt generator's per-channel scale `alpha`.
        prompt_hidden_act (`str`, *optional*, defaults to `"quick_gelu"`):
            Activation of the prompt generator's feed-forward layers.
        prompt_num_attention_heads (`int`, *optional*, defaults to 8):
            Heads of the prompt generator's cross-attention (the original uses `projection_dim // 64`).
        prompt_attention_dropout (`float`, *optional*, defaults to 0.0):
            Dropout on the prompt cross-attention probabilities and inside its feed-forward layer.
        prompt_projection_dropout (`float`, *optional*, defaults to 0.0):
            Dropout after the prompt cross-attention output projection.
        logit_scale_init_value (`float`, *optional*, defaults to 2.6592):
            Initial log of the logit scale, ln(1/0.07) as in CLIP; released models carry ln(100).
        initializer_factor (`float`, *optional*, defaults to 1.0):
            Scale applied to every initialiser standard deviation.
    """

    model_type = "xclip"
    # transformers renamed the sub-config registry between 5.17 and 5.23; declare it under the name this version reads.
    if hasattr(PretrainedConfig, "sub_configs_defaults"):
        sub_configs_defaults = {"text_config": XCLIPTextConfig, "vision_config": XCLIPVisionConfig}
    else:
        sub_configs = {"text_config": XCLIPTextConfig, "vision_config": XCLIPVisionConfig}

    text_config: dict | PretrainedConfig | None = None
    vision_config: dict | PretrainedConfig | None = None
    projection_dim: int = 512
    prompt_layers: int = 2
    prompt_alpha: float = 0.1
    prompt_hidden_act: str = "quick_gelu"
    prompt_num_attention_heads: int = 8
    prompt_attention_dropout: float | int = 0.0
    prompt_projection_dropout: float | int = 0.0
    logit_scale_init_value: float = 2.6592
    initializer_factor: float = 1.0

    def __post_init__(self, **kwargs: Any) -> None:
        self.text_config = _as_config(XCLIPTextConfig, self.text_config)
        self.vision_config = _as_config(XCLIPVisionConfig, self.vision_config)
        super().__post_init__(**kwargs)
        if self.vision_config.mit_hidden_size != self.projection_dim:
            raise ValueError(
                f"XCLIPConfig: `vision_config.mit_hidden_size` ({self.vision_config.mit_hidden_size}) must equal "
                f"`projection_dim` ({self.projection_dim}); the MIT runs on projected frame features."
            )
        _check_heads(
            "XCLIPConfig",
            "projection_dim",
            self.projection_dim,
            "prompt_num_attention_heads",
            self.prompt_num_attention_heads,
        )
        if self.prompt_layers < 0:
            raise ValueError(f"XCLIPConfig: `prompt_layers` must be non-negative, got {self.prompt_layers}.")
        _check_probability("XCLIPConfig", "prompt_attention_dropout", self.prompt_attention_dropout)
        _check_probability("XCLIPConfig", "prompt_projection_dropout", self.prompt_projection_dropout)
        _check_activation("XCLIPConfig", "prompt_hidden_act", self.prompt_hidden_act)
        self._warn_if_heads_are_the_port_defaults()

    def _warn_if_heads_are_the_port_defaults(self) -> None:
        """The original gives the MIT and the prompt generator `projection_dim // 64` heads. transformers' conversion
        script leaves both at its default 8, which is right only for `projection_dim` 512: for the large models (768)
        the same weights would run another attention than the one they were trained with."""
        original_heads = self.projection_dim // 64
        heads = (self.vision_config.mit_num_attention_heads, self.prompt_num_attention_heads)
        if self.projection_dim >= 512 and self.projection_dim % 64 == 0 and heads == (8, 8) != (original_heads,) * 2:
            logger.warning_once(
                f"XCLIPConfig: projection_dim {self.projection_dim} with 8 MIT and 8 prompt attention heads, "
                f"transformers' defaults; the original X-CLIP uses projection_dim // 64 = {original_heads} in both. "
                "A config written by transformers' conversion script (the large Hub checkpoints') may carry the "
                "defaults. To run the original's attention: config = XCLIPConfig.from_pretrained(name); "
                f"config.vision_config.mit_num_attention_heads = config.prompt_num_attention_heads = {original_heads}; "
                "XCLIPModel.from_pretrained(name, config=config)."
            )
