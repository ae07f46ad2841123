"""A model named on a command line: a local folder or a Hub id, checked before anything is loaded or written."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

# The weight files transformers loads from a model folder (a sharded checkpoint has an index naming its shards).
from transformers.utils import SAFE_WEIGHTS_INDEX_NAME as SAFETENSORS_INDEX
from transformers.utils import SAFE_WEIGHTS_NAME as SAFETENSORS_WEIGHTS
from transformers.utils import WEIGHTS_INDEX_NAME as PYTORCH_INDEX
from transformers.utils import WEIGHTS_NAME as PYTORCH_WEIGHTS

from .text_utils import short_first_line

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

__all__ = [
    "ModelFolderError",
    "check_model_folder",
    "check_safetensors_file",
    "check_weights_match_config",
    "is_hub_id",
    "names_a_hub_model",
    "load_checked_config",
    "safetensors_shapes",
]

# A training run's output folder keeps its best model here (see xclip.training).
BEST_MODEL_FOLDER = "best_model"


class ModelFolderError(OSError):
    """A model folder (or name) that cannot hold a loadable model; the message says why, naming the file."""


def is_hub_id(name: str) -> bool:
    """Whether `name` has the form of a Hub repository id (`owner/name` or `name`); it may still be a local folder."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def names_a_hub_model(name: str | os.PathLike) -> bool:
    """Whether `name` is read from the Hub: no folder or file here (`~` expanded), and shaped like a Hub id."""
    return not Path(name).expanduser().exists() and is_hub_id(os.fspath(name))


def _cached_on_this_machine(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def check_safetensors_file(path: Path) -> None:
    """Raise a `ModelFolderError` naming `path` when its safetensors header is broken or the file is cut short."""
    from safetensors import SafetensorError, safe_open

    try:
        # Reads and checks the header only: its size, its JSON, and that the tensors exactly cover the file.
        with safe_open(path, framework="pt"):
            pass
    except SafetensorError as error:
        raise ModelFolderError(f"{path} is corrupt or truncated ({short_first_line(error)})") from None
    except OSError as error:
        raise ModelFolderError(f"{path}: unreadable ({error})") from None




def _safetensors_files(folder: Path) -> list[Path] | None:
    """The safetensors files holding a folder's weights (an index's shards, or the one file), None without any."""
    if (folder / SAFETENSORS_INDEX).is_file():
        return _safetensors_shards(folder / SAFETENSORS_INDEX)
    if (folder / SAFETENSORS_WEIGHTS).is_file():
        return [folder / SAFETENSORS_WEIGHTS]
    return None


def _safetensors_shards(index: Path) -> list[Path]:
    import json

    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        return [index.parent / name for name in sorted(set(weight_map.values()))]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ModelFolderError(f"{index} is not a readable safetensors index ({short_first_line(error)})") from None


def check_model_folder(model: str | os.PathLike) -> None:
    """Checks, before transformers loads it, what transformers would report obscurely or only with a traceback.

    A local folder must hold a `config.json` (a training output folder is pointed to its `best_model/`) and a weights
    file; safetensors weights must have a sound header and the file's full length. A name that is no folder must be a
    Hub id that can be reached: when offline (`HF_HUB_OFFLINE`), one already in the local Hub cache.

    Raises:
        ModelFolderError: naming the missing or broken file; the message does not repeat the model's name.
    """
    from huggingface_hub import is_offline_mode

    name = os.fspath(model)
    path = Path(name).expanduser()
    if not path.exists():
        if not is_hub_id(name):
            raise ModelFolderError("no such folder, and not a valid Hub id")
        if is_offline_mode() and not _cached_on_this_machine(name):
            raise ModelFolderError("no such folder, and not a Hub id available offline (HF_HUB_OFFLINE is set)")
        return
    if not path.is_dir():
        raise ModelFolderError("not a folder")
    if not (path / "config.json").is_file():
        hint = ""
        best = path / BEST_MODEL_FOLDER
        if (best / "config.json").is_file():
            hint = f"; it looks like a training output folder: pass its model, {best}"
        raise ModelFolderError(f"{name} has no config.json, so it is not a saved model folder{hint}")
    shards = _safetensors_files(path)
    if shards is None:
        if (path / PYTORCH_WEIGHTS).is_file() or (path / PYTORCH_INDEX).is_file():
            return
        raise ModelFolderError(f"{name} has no weights file ({SAFETENSORS_WEIGHTS} or {PYTORCH_WEIGHTS})")
    for shard in shards:
        if not shard.is_file():
            raise ModelFolderError(f"{shard}: no such weights file (listed in {path / SAFETENSORS_INDEX})")
        check_safetensors_file(shard)


def check_weights_match_config(
    model: str | os.PathLike, model_class: type[PreTrainedModel], config: PretrainedConfig
) -> None:
    """Checks that the safetensors weights of the local folder `model` have the shapes `model_class(config)` gives
    them, e.g. after its config.json was edited or copied from another model. transformers would print a table of
    every mismatching weight, then raise a RuntimeError that names none of them.

    Reads the weight files' headers only, and builds the model on the meta device (no memory, even for ViT-L). A Hub
    id, PyTorch weights and weights the model does not have are not checked. Call `check_model_folder` first.

    Raises:
        ModelFolderError: naming the first mismatching weight (in the model's order), its file and both shapes.
    """
    import torch

    path = Path(model).expanduser()
    saved = safetensors_shapes((_safetensors_files(path) if path.is_dir() else None) or ())
    if not saved:
        return
    with torch.device("meta"):
        expected = model_class(config).state_dict()
    for key, tensor in expected.items():
        shape, file = saved.get(key, (tuple(tensor.shape), None))
        if shape != tuple(tensor.shape):
            raise ModelFolderError(
                f"its weights do not match its config.json: {key} has shape {list(shape)} in {file.name} but "
                f"{list(tensor.shape)} by config.json. Use the config.json saved with these weights."
            )


def load_checked_config(
    model: str | os.PathLike, config_class: type[PretrainedConfig], model_class: type[PreTrainedModel]
) -> PretrainedConfig:
    """The config of the folder or Hub id `model`, once `check_model_folder` and, for a local folder,
    `check_weights_match_config` have passed: what every command runs before loading a model it was given.

    Raises:
        ModelFolderError: the folder is incomplete or broken, or its weights do not fit its config.json.
        ValueError: the config.json is malformed (`config_class` names the field).
        OSError: transformers cannot load the config (e.g. a Hub id that cannot be reached).
    """
    check_model_folder(model)
    config = config_class.from_pretrained(os.fspath(model))
    check_weights_match_config(model, model_class, config)
    return config


def safetensors_shapes(files: Iterable[Path]) -> dict[str, tuple[tuple[int, ...], Path]]:
    """Every tensor's shape in safetensors `files`, and the file holding it, read from the headers only."""
    from safetensors import safe_open

    shapes = {}
    for file in files:
        with safe_open(file, framework="pt") as weights:
            shapes.update({key: (tuple(weights.get_slice(key).get_shape()), file) for key in weights.keys()})
    return shapes


