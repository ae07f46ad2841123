"""The experiment configuration: the original X-CLIP's YAML keys and defaults, as typed dataclasses.

A user of the original brings their YAML files unchanged: the groups and keys are the original's (`DATA.*`,
`MODEL.*`, `TRAIN.*`, `AUG.*`, `TEST.*`, `OUTPUT`, `SAVE_FREQ`, `PRINT_FREQ`, `SEED`) with the original's defaults, a
file may inherit from others with `BASE: [relative paths]` (merged first, in order), and `--opts KEY VALUE ...`
overrides single keys. Field names stay upper case so that `config.TRAIN.LR` reads exactly like the original's
`config.TRAIN.LR` and the YAML key maps to the attribute one to one.

Keys added by this package (all optional; the defaults keep the original's behaviour, but for `DATA.AUTOROTATE` on
videos that store a display rotation):

- `DATA.NUM_WORKERS` (8): data-loading worker processes per training process (the original hard-codes 16).
- `DATA.FEW_SHOT_K` (0): when > 0, train on K videos per class drawn from `DATA.TRAIN_FILE` (seeded by `SEED`;
  the list is written to `OUTPUT`).
- `DATA.HWACCEL` (''): decode videos on this FFmpeg hardware device, e.g. `cuda` (NVDEC), instead of the CPU; the
  loader workers then start with `spawn`, and each holds a CUDA context.
- `DATA.AUTOROTATE` (True): turn frames upright by the display rotation a video stores, and mirror them if it
  mirrors, as players do (portrait phone videos); False decodes them as stored and sideways, as the original's decord
  did.
- `MODEL.RESIZE_FRAMES` (False): fine-tune an X-CLIP `MODEL.PRETRAINED` folder of another frame count at
  `DATA.NUM_FRAMES` frames: its MIT temporal position embedding is linearly interpolated to that count, as the model
  does at inference with `interpolate_pos_encoding=True`, and the exported model is a `DATA.NUM_FRAMES`-frame one.
  Without it, a frame-count mismatch is an error.
- `MODEL.LORA.ENABLE` (False): train LoRA adapters (peft) instead of the whole model; the best model is exported
  with the adapters merged. `MODEL.LORA.R` / `ALPHA` / `DROPOUT` (16 / 32 / 0.05): rank, scaling numerator, dropout.
  `MODEL.LORA.TARGET_MODULES` (the frame encoder's q/k/v/out projections and MLP): a regular expression, or a list
  of module-name suffixes. `MODEL.LORA.TRAIN_XCLIP_MODULES` (True): also train X-CLIP's own parts (message layers,
  MIT, prompt generator) fully, since training from CLIP they start random.
- `AUG.FLIP` (0.5): probability of a horizontal flip per training clip (0 for direction-sensitive classes).
- `TRAIN.COMPILE` (False): `torch.compile` the model. `TRAIN.MAX_GRAD_NORM` (0): when > 0, clip gradients to this
  norm (the original does not clip).
- `TEST.MULTI_VIEW_AT_END` (True): after the last epoch, test the final model with `TEST.FINAL_NUM_CLIP` x
  `TEST.FINAL_NUM_CROP` (4 x 3) views, as the original always does; False tests a single view.
- `TEST.RANDOM_CLIPS` (False): sample the clips of a multi-clip test at random, each like a training clip, as the
  original did (its 4 x 3 results vary by about 0.2% from run to run); by default they are evenly spaced and the same
  in every run. A single clip is always the segment centres, as in the original.
- `TEST.ZERO_SHOT.SPLIT_FILES` ([]): evaluate on each of these video lists in turn (e.g. HMDB-51's three test splits)
  and report the mean and std. `TEST.ZERO_SHOT.NOVEL_CLASSES_OF` (''): a labels CSV (Kinetics-400's); evaluate only
  the classes of `DATA.LABEL_LIST` missing from it, in `NUM_SUBSETS` random subsets of `SUBSET_SIZE` classes drawn
  with `SUBSET_SEED` (3 / 160 / 0: the Kinetics-600 new-class protocol).
- `SAVE_TOTAL_LIMIT` (2): training states kept in `OUTPUT/checkpoints`, oldest deleted first; 0 keeps all.
- `OVERWRITE_OUTPUT` (False, or `--overwrite_output`): let a new training run replace an earlier run's outputs in
  `OUTPUT` (its checkpoints, best model, metrics and step log are deleted first); without it such a folder is refused
  unless the run resumes it (`--resume`, `TRAIN.AUTO_RESUME`).

`MODEL.ARCH` also accepts `"tiny"`, a small random geometry for tests and demos. `TRAIN.OPT_LEVEL` (apex's
O0/O1/O2 in the original) selects Accelerate's mixed precision: O0 -> no, O1/O2 -> fp16; `"bf16"`, `"fp16"` and
`"no"` are accepted too.

This module does not import torch.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

__all__ = [
    "AugConfig",
    "ConfigError",
    "DataConfig",
    "ExperimentConfig",
    "LoraSettings",
    "ModelConfig",
    "TestConfig",
    "TrainConfig",
    "ZeroShotConfig",
    "apply_overrides",
    "load_config",
]

logger = logging.getLogger(__name__)

# Keys of earlier versions, still found in the config.yaml of older runs: accepted and ignored, with a warning.
_REMOVED_KEYS = {
    "AUG.DEVICE": "on a GPU, the colour augmentation now runs on each batch on the GPU, with no option",
}

# The frame encoder's attention projections and MLP: where LoRA adapts CLIP's image tower.
DEFAULT_LORA_TARGETS = (
    r"vision_model\.encoder\.layers\.\d+\.(self_attn\.(q_proj|k_proj|v_proj|out_proj)|mlp\.fc1|mlp\.fc2)"
)

MIXED_PRECISION_OF_OPT_LEVEL = {"O0": "no", "O1": "fp16", "O2": "fp16", "no": "no", "fp16": "fp16", "bf16": "bf16"}


class ConfigError(ValueError):
    """A malformed configuration: unknown key, wrong type, bad value or unreadable file."""


@dataclass
class DataConfig:
    ROOT: str = ""
    TRAIN_FILE: str = ""
    VAL_FILE: str = ""
    DATASET: str = "kinetics400"
    INPUT_SIZE: int = 224
    NUM_FRAMES: int = 8
    NUM_CLASSES: int = 400
    LABEL_LIST: str = "labels/kinetics_400_labels.csv"
    NUM_WORKERS: int = 8
    FEW_SHOT_K: int = 0
    HWACCEL: str = ""
    AUTOROTATE: bool = True


@dataclass
class LoraSettings:
    ENABLE: bool = False
    R: int = 16
    ALPHA: int = 32
    DROPOUT: float = 0.05
    TARGET_MODULES: str | list[str] = DEFAULT_LORA_TARGETS
    TRAIN_XCLIP_MODULES: bool = True


@dataclass
class ModelConfig:
    ARCH: str = "ViT-B/32"
    DROP_PATH_RATE: float = 0.0
    PRETRAINED: str | None = None
    RESUME: str | None = None
    FIX_TEXT: bool = True
    RESIZE_FRAMES: bool = False
    LORA: LoraSettings = field(default_factory=LoraSettings)


@dataclass
class TrainConfig:
    EPOCHS: int = 30
    WARMUP_EPOCHS: int = 5
    WEIGHT_DECAY: float = 0.001
    LR: float = 8e-6
    BATCH_SIZE: int = 8
    ACCUMULATION_STEPS: int = 1
    LR_SCHEDULER: str = "cosine"
    OPTIMIZER: str = "adamw"
    OPT_LEVEL: str = "O1"
    AUTO_RESUME: bool = False
    USE_CHECKPOINT: bool = False
    COMPILE: bool = False
    MAX_GRAD_NORM: float = 0.0


@dataclass
class AugConfig:
    LABEL_SMOOTH: float = 0.1
    COLOR_JITTER: float = 0.8
    GRAY_SCALE: float = 0.2
    MIXUP: float = 0.8
    CUTMIX: float = 1.0
    MIXUP_SWITCH_PROB: float = 0.5
    FLIP: float = 0.5


@dataclass
class ZeroShotConfig:
    SPLIT_FILES: list[str] = field(default_factory=list)
    NOVEL_CLASSES_OF: str = ""
    NUM_SUBSETS: int = 3
    SUBSET_SIZE: int = 160
    SUBSET_SEED: int = 0


@dataclass
class TestConfig:
    NUM_CLIP: int = 1
    NUM_CROP: int = 1
    ONLY_TEST: bool = False
    MULTI_VIEW_AT_END: bool = True
    FINAL_NUM_CLIP: int = 4
    FINAL_NUM_CROP: int = 3
    RANDOM_CLIPS: bool = False
    ZERO_SHOT: ZeroShotConfig = field(default_factory=ZeroShotConfig)


@dataclass
class ExperimentConfig:
    """Everything one run needs; `BASE` is consumed while loading and is not a field."""

    DATA: DataConfig = field(default_factory=DataConfig)
    MODEL: ModelConfig = field(default_factory=ModelConfig)
    TRAIN: TrainConfig = field(default_factory=TrainConfig)
    AUG: AugConfig = field(default_factory=AugConfig)
    TEST: TestConfig = field(default_factory=TestConfig)
    OUTPUT: str = ""
    SAVE_FREQ: int = 1
    SAVE_TOTAL_LIMIT: int = 2
    OVERWRITE_OUTPUT: bool = False
    PRINT_FREQ: int = 50
    SEED: int = 1024

    @property
    def mixed_precision(self) -> str:
        """Accelerate's `mixed_precision` for `TRAIN.OPT_LEVEL`."""
        return MIXED_PRECISION_OF_OPT_LEVEL[self.TRAIN.OPT_LEVEL]

    def flat(self) -> dict[str, Any]:
        """`{"TRAIN.LR": 8e-06, ...}` for every key: what trackers log as hyperparameters."""
        return dict(_flatten(self))

    def to_yaml(self) -> str:
        """The full configuration as YAML that `load_config` reads back to an equal object."""
        return yaml.safe_dump(asdict(self), sort_keys=False)

    def validate(self) -> None:
        """Checks values that every key's type alone does not catch.

        Raises:
            ConfigError: naming the key, the value and what is expected.
        """
        levels = sorted(MIXED_PRECISION_OF_OPT_LEVEL)
        checks = [
            ("TRAIN.OPT_LEVEL", self.TRAIN.OPT_LEVEL in MIXED_PRECISION_OF_OPT_LEVEL, f"one of {levels}"),
            ("TRAIN.OPTIMIZER", self.TRAIN.OPTIMIZER.lower() == "adamw", "'adamw' (the original's only optimizer)"),
            ("TRAIN.LR_SCHEDULER", self.TRAIN.LR_SCHEDULER.lower() == "cosine", "'cosine' (the original's only one)"),
            ("SEED", 0 <= self.SEED < 2**31, "between 0 and 2**31 - 1 (each process seeds with SEED + its rank)"),
            ("TRAIN.EPOCHS", self.TRAIN.EPOCHS >= 1, "at least 1"),
            ("TRAIN.WARMUP_EPOCHS", 0 <= self.TRAIN.WARMUP_EPOCHS <= self.TRAIN.EPOCHS, "between 0 and TRAIN.EPOCHS"),
            ("TRAIN.LR", self.TRAIN.LR > 0, "positive"),
            ("TRAIN.WEIGHT_DECAY", self.TRAIN.WEIGHT_DECAY >= 0, "non-negative"),
            ("TRAIN.BATCH_SIZE", self.TRAIN.BATCH_SIZE >= 1, "at least 1"),
            ("TRAIN.ACCUMULATION_STEPS", self.TRAIN.ACCUMULATION_STEPS >= 1, "at least 1"),
            ("TRAIN.MAX_GRAD_NORM", self.TRAIN.MAX_GRAD_NORM >= 0, "non-negative (0 disables clipping)"),
            ("DATA.NUM_FRAMES", self.DATA.NUM_FRAMES >= 1, "at least 1"),
            ("DATA.NUM_CLASSES", self.DATA.NUM_CLASSES >= 2, "at least 2"),
            ("DATA.INPUT_SIZE", self.DATA.INPUT_SIZE >= 1, "positive"),
            ("DATA.NUM_WORKERS", self.DATA.NUM_WORKERS >= 0, "non-negative"),
            ("DATA.FEW_SHOT_K", self.DATA.FEW_SHOT_K >= 0, "non-negative (0 trains on the full list)"),
            ("AUG.LABEL_SMOOTH", 0 <= self.AUG.LABEL_SMOOTH < 1, "in [0, 1)"),
            ("AUG.MIXUP", self.AUG.MIXUP >= 0, "non-negative (a Beta distribution's alpha; 0 disables)"),
            ("AUG.CUTMIX", self.AUG.CUTMIX >= 0, "non-negative (a Beta distribution's alpha; 0 disables)"),
            ("AUG.MIXUP_SWITCH_PROB", 0 <= self.AUG.MIXUP_SWITCH_PROB <= 1, "a probability"),
            ("AUG.COLOR_JITTER", 0 <= self.AUG.COLOR_JITTER <= 1, "a probability"),
            ("AUG.GRAY_SCALE", 0 <= self.AUG.GRAY_SCALE <= 1, "a probability"),
            ("AUG.FLIP", 0 <= self.AUG.FLIP <= 1, "a probability"),
            ("MODEL.DROP_PATH_RATE", 0 <= self.MODEL.DROP_PATH_RATE < 1, "in [0, 1)"),
            ("MODEL.LORA.R", self.MODEL.LORA.R >= 1, "at least 1"),
            ("MODEL.LORA.DROPOUT", 0 <= self.MODEL.LORA.DROPOUT < 1, "in [0, 1)"),
            ("TEST.NUM_CLIP", self.TEST.NUM_CLIP >= 1, "at least 1"),
            ("TEST.NUM_CROP", self.TEST.NUM_CROP in (1, 3), "1 (centre crop) or 3 (three crops)"),
            ("TEST.FINAL_NUM_CLIP", self.TEST.FINAL_NUM_CLIP >= 1, "at least 1"),
            ("TEST.FINAL_NUM_CROP", self.TEST.FINAL_NUM_CROP in (1, 3), "1 (centre crop) or 3 (three crops)"),
            ("TEST.ZERO_SHOT.NUM_SUBSETS", self.TEST.ZERO_SHOT.NUM_SUBSETS >= 1, "at least 1"),
            ("TEST.ZERO_SHOT.SUBSET_SIZE", self.TEST.ZERO_SHOT.SUBSET_SIZE >= 2, "at least 2"),
            ("SAVE_FREQ", self.SAVE_FREQ >= 1, "at least 1"),
            ("SAVE_TOTAL_LIMIT", self.SAVE_TOTAL_LIMIT >= 0, "non-negative (0 keeps every checkpoint)"),
            ("PRINT_FREQ", self.PRINT_FREQ >= 1, "at least 1"),
        ]
        for key, valid, expected in checks:
            if not valid:
                raise ConfigError(f"{key} = {_lookup(self, key)!r} is invalid: expected {expected}.")
        if self.TEST.ZERO_SHOT.SPLIT_FILES and self.TEST.ZERO_SHOT.NOVEL_CLASSES_OF:
            raise ConfigError(
                "TEST.ZERO_SHOT.SPLIT_FILES and TEST.ZERO_SHOT.NOVEL_CLASSES_OF are two different protocols; set one."
            )


# Keys that say where a run writes, how it starts, logs, saves or tests, not how it trains.
_NOT_TRAINING_KEYS = (
    "OUTPUT", "OVERWRITE_OUTPUT", "MODEL.RESUME", "TRAIN.AUTO_RESUME", "PRINT_FREQ", "SAVE_FREQ", "SAVE_TOTAL_LIMIT",
    "DATA.NUM_WORKERS",
)


def changed_settings(before: ExperimentConfig, after: ExperimentConfig) -> list[str]:
    """The training settings that differ between two configs, as `KEY old -> new`, in the config's order
    (`TEST.*` and the keys of `_NOT_TRAINING_KEYS` left out)."""
    old, new = before.flat(), after.flat()
    return [f"{key} {old.get(key)!r} -> {new[key]!r}" for key in new
            if key not in _NOT_TRAINING_KEYS and not key.startswith("TEST.") and old.get(key) != new[key]]


def load_config(
    path: str | os.PathLike | None = None, opts: Sequence[str] = (), **overrides: Any
) -> ExperimentConfig:
    """Reads a YAML config over the original's defaults, then applies `--opts` and keyword overrides.

    Args:
        path: a YAML file in the original's format; None for the defaults alone.
        opts: `["TRAIN.LR", "1e-5", "DATA.NUM_FRAMES", "16", ...]`, as given to `--opts`.
        overrides: `{"TRAIN.BATCH_SIZE": 4}`, applied last (the dedicated command-line flags).

    Raises:
        ConfigError: the file is missing or not a mapping, a key is unknown (the message lists the valid keys and
            close matches), a value has the wrong type, or a value is out of range.
    """
    config = ExperimentConfig()
    if path is not None:
        _merge_file(config, Path(path), chain=())
    apply_overrides(config, _pairs(opts), source="--opts")
    apply_overrides(config, overrides.items(), source="command line", from_text=False)
    config.validate()
    return config


def apply_overrides(
    config: ExperimentConfig, pairs: Iterable[tuple[str, Any]], source: str, from_text: bool = True
) -> None:
    """Sets dotted keys (`"TRAIN.LR"`) to values, checked against each key's type. With `from_text` (`--opts`), a
    string value is read as its key's type says (see `_read_text`); otherwise values are taken as they are."""
    for key, value in pairs:
        _set(config, key.split("."), value, source, from_text=from_text and isinstance(value, str))


def _merge_file(config: ExperimentConfig, path: Path, chain: tuple[Path, ...]) -> None:
    if path.resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain, path.resolve()))
        raise ConfigError(f"{path}: BASE files include each other ({cycle}).")
    try:
        with path.open(encoding="utf-8") as file:
            content = yaml.safe_load(file)
    except FileNotFoundError:
        included = f" (the BASE of {chain[-1]})" if chain else ""
        raise ConfigError(f"{path}: no such config file{included}.") from None
    except yaml.MarkedYAMLError as error:  # names the line and column; the message would repeat the whole context
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise ConfigError(f"{path}: not a readable YAML file ({where}{error.problem or error.context}).") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: not a readable YAML file ({error}).") from error
    content = {} if content is None else content
    if not isinstance(content, Mapping):
        raise ConfigError(
            f"{path}: expected a mapping of config groups (DATA:, MODEL:, ...), got {type(content).__name__}."
        )
    content = dict(content)
    bases = content.pop("BASE", None) or []
    bases = [bases] if isinstance(bases, str) else bases
    for base in bases:
        if base:  # the original's default is BASE: ['']
            _merge_file(config, path.parent / base, chain=(*chain, path.resolve()))
    for key, value in _flatten_mapping(content):
        _set(config, key.split("."), value, source=str(path))


def _set(node: Any, parts: list[str], value: Any, source: str, from_text: bool = False) -> None:
    """Assigns `value` to the field named by `parts` under `node`, checking the key and converting the type; a
    `from_text` value is first read from the command line's text."""
    key = ".".join(parts)
    if key in _REMOVED_KEYS:
        logger.warning("%s: %s is no longer used and is ignored: %s", source, key, _REMOVED_KEYS[key])
        return
    for depth, part in enumerate(parts):
        names = {item.name: item for item in fields(node)}
        if part not in names:
            prefix = ".".join(parts[:depth])
            raise ConfigError(f"{source}: unknown config key {key!r}. {_suggestions(prefix, part, list(names))}")
        if depth == len(parts) - 1:
            hint = get_type_hints(type(node))[part]
            if is_dataclass(getattr(node, part)):
                group_keys = ", ".join(_keys(getattr(node, part), key))
                raise ConfigError(f"{source}: {key!r} is a group; set its keys ({group_keys}).")
            setattr(node, part, _convert(_read_text(value, hint) if from_text else value, hint, key, source))
            return
        node = getattr(node, part)
        if not is_dataclass(node):
            raise ConfigError(f"{source}: {'.'.join(parts[: depth + 1])!r} is a value, not a group (in {key!r}).")


def _convert(value: Any, hint: Any, key: str, source: str) -> Any:
    """`value` as the type `hint` of a key: ints widen to floats, a single string becomes a one-item list."""
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if get_origin(option) is list:
            if isinstance(value, str) and str not in options:
                value = [value]
            if isinstance(value, list) and all(isinstance(item, str) for item in value):
                return list(value)
    expected = " or ".join(_type_name(option) for option in options)
    raise ConfigError(f"{source}: {key} must be {expected}, got {value!r} ({type(value).__name__}).")


def _type_name(option: Any) -> str:
    if option is type(None):
        return "null"
    if get_origin(option) is list:
        return "a list of strings"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(option, str(option))


_NULL_WORDS = ("null", "Null", "NULL", "~", "None")  # YAML's, and Python's


def _read_text(text: str, hint: Any) -> Any:
    """A command-line value for a key of type `hint`. A string key takes the text as written: a path or name may hold
    `#` (a YAML comment) or read as a number. YAML's null words give None where the key allows it. Other keys read the
    text as YAML (numbers, booleans, lists)."""
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    if str in options and not any(get_origin(option) is list for option in options):
        return None if type(None) in options and text in _NULL_WORDS else text
    return _parse_scalar(text)


def _parse_scalar(text: str) -> Any:
    """`--opts` values as YAML scalars ("1e-5" -> 1e-05, "True" -> True, "[a, b]" -> list), else the raw string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    # YAML 1.1 reads "1e-5" (no dot) as a string; numbers in scientific notation are what users mean.
    if isinstance(value, str):
        try:
            return float(value) if any(mark in value.lower() for mark in ("e", ".")) else value
        except ValueError:
            return value
    return value


def _pairs(opts: Sequence[str]) -> Iterator[tuple[str, str]]:
    if len(opts) % 2:
        raise ConfigError(f"--opts takes KEY VALUE pairs; got an odd number of items: {list(opts)}.")
    return zip(opts[::2], opts[1::2])


def _flatten_mapping(content: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in content.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten_mapping(value, f"{dotted}.")
        else:
            yield dotted, value


def _flatten(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for item in fields(node):
        value = getattr(node, item.name)
        if is_dataclass(value):
            yield from _flatten(value, f"{prefix}{item.name}.")
        else:
            yield f"{prefix}{item.name}", value


def _keys(node: Any, prefix: str) -> list[str]:
    return [f"{prefix}.{key}" for key, _ in _flatten(node)]


def _lookup(config: ExperimentConfig, key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        node = getattr(node, part)
    return node


def _suggestions(prefix: str, wrong: str, names: list[str]) -> str:
    qualified = [f"{prefix}.{name}" if prefix else name for name in names]
    close = difflib.get_close_matches(wrong.upper(), names, n=3, cutoff=0.5)
    close = [f"{prefix}.{name}" if prefix else name for name in close]
    hint = f"Did you mean {' or '.join(repr(name) for name in close)}? " if close else ""
    return f"{hint}Valid keys here: {', '.join(qualified)}."
