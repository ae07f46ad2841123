"""Reading weights from the original X-CLIP and OpenAI CLIP files, with errors that name the file.

Both formats are read safely by default (`torch.load(weights_only=True)`): the original training script also pickles
its yacs config into each checkpoint, which only a full unpickle can rebuild, so that needs an explicit
`trust_pickle=True`. OpenAI's CLIP files are TorchScript archives, which `torch.jit.load` reads without unpickling
arbitrary objects.
"""

import logging
import os
import pickle
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ..text_utils import format_names
from .errors import ConversionError, describe_error

__all__ = ["load_openai_clip_state_dict", "load_original_state_dict"]

logger = logging.getLogger(__name__)

# Saved through a DistributedDataParallel wrapper instead of its `.module`.
_WRAPPER_PREFIX = "module."

# Entries of OpenAI's TorchScript state dicts that are not weights: the resolution and vocabulary scalars OpenAI's
# `build_model` deletes, and open_clip's causal-mask buffer.
_OPENAI_NON_WEIGHTS = frozenset({"input_resolution", "context_length", "vocab_size", "attn_mask"})


def load_original_state_dict(checkpoint: str | os.PathLike, trust_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Reads the weights of an original X-CLIP checkpoint (`k400_32_8.pth` and the like).

    Accepts the training script's format, a dict whose `model` entry is the state dict (its optimizer, scheduler,
    epoch and config entries are ignored), or a bare state dict; keys may carry a `module.` prefix. Floating-point
    weights come back as float32, as the original runs them.

    Args:
        checkpoint: path of the `.pth` file.
        trust_pickle: unpickle the file fully when it holds Python objects besides tensors (the original pickles its
            yacs config). Only for files from a trusted source: unpickling can run arbitrary code.

    Returns:
        Original parameter names (e.g. `visual.conv1.weight`) to tensors.

    Raises:
        ConversionError: the file is missing, not a PyTorch checkpoint, truncated, or holds no state dict.
    """
    path = Path(checkpoint)
    contents = _torch_load(path, trust_pickle)
    return _normalise_state_dict(path, _find_state_dict(path, contents))


def load_openai_clip_state_dict(checkpoint: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Reads OpenAI's original CLIP weights (`ViT-B-32.pt` and the like): a TorchScript archive or a state dict.

    Returns:
        OpenAI parameter names (the original X-CLIP's names for its CLIP parts) to float32 tensors.
    """
    path = Path(checkpoint)
    if _is_torchscript_archive(path):
        try:
            with warnings.catch_warnings():
                # torch deprecates TorchScript, but OpenAI's CLIP files exist only in that format.
                warnings.filterwarnings("ignore", message=".*torch.jit.load.* is deprecated", category=FutureWarning)
                state_dict = torch.jit.load(path, map_location="cpu").state_dict()
        except Exception as error:  # TorchScript reports corrupt archives with several exception types
            raise ConversionError(f"{path}: unreadable TorchScript archive ({describe_error(error)})") from error
    else:
        state_dict = _find_state_dict(path, _torch_load(path, trust_pickle=False))
    weights = {name: value for name, value in state_dict.items() if name not in _OPENAI_NON_WEIGHTS}
    return _normalise_state_dict(path, weights)


def _torch_load(path: Path, trust_pickle: bool) -> Any:
    if not path.exists():
        raise ConversionError(f"{path}: no such file")
    if not path.is_file():
        raise ConversionError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise ConversionError(f"{path}: empty file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # Safe loading refuses classes outside its allowlist ("Unsupported global"); any other failure is a file
        # that is not a checkpoint at all.
        if not describe_error(error).startswith("Unsupported global"):
            raise ConversionError(f"{path}: not a readable PyTorch checkpoint ({describe_error(error)})") from error
        refusal = error
    except Exception as error:  # torch.load reports corrupt files with many exception types; all mean the same
        raise ConversionError(
            f"{path}: not a readable PyTorch checkpoint, or truncated ({describe_error(error)})"
        ) from error

    if not trust_pickle:
        raise ConversionError(
            f"{path}: holds pickled Python objects besides tensors, which safe loading (weights_only=True) refuses "
            f"({describe_error(refusal)}); if you trust the file's source, pass trust_pickle=True (--trust-pickle) to "
            "unpickle it fully"
        )
    logger.warning("%s: unpickling fully (trust_pickle=True); this can run code stored in the file.", path)
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except ModuleNotFoundError as error:
        raise ConversionError(
            f"{path}: unpickling needs the Python module {error.name!r} (pip install it), which the file's pickled "
            "objects come from"
        ) from error
    except Exception as error:  # as above: any failure here means an unreadable file
        raise ConversionError(f"{path}: not a readable PyTorch checkpoint ({describe_error(error)})") from error


def _find_state_dict(path: Path, contents: Any) -> Mapping[str, Any]:
    if isinstance(contents, Mapping):
        for entry in ("model", "state_dict"):
            if isinstance(contents.get(entry), Mapping):
                return contents[entry]
        if contents and all(isinstance(value, torch.Tensor) for value in contents.values()):
            return contents
        found = f"a dict with entries {format_names(map(str, contents))}" if contents else "an empty dict"
    else:
        found = f"a {type(contents).__name__}"
    raise ConversionError(
        f"{path}: no state dict found: expected a dict of tensors or a dict with a 'model' entry, got {found}"
    )


def _normalise_state_dict(path: Path, state_dict: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """Strips the `module.` prefix and casts floating-point weights to float32."""
    weights: dict[str, torch.Tensor] = {}
    half_precision = set()
    for name, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f"{path}: state dict entry {name!r} is a {type(value).__name__}, not a tensor")
        key = name.removeprefix(_WRAPPER_PREFIX)
        if key in weights:
            raise ConversionError(f"{path}: {key!r} appears both with and without the {_WRAPPER_PREFIX!r} prefix")
        if value.is_floating_point() and value.dtype != torch.float32:
            half_precision.add(str(value.dtype).removeprefix("torch."))
            value = value.float()
        weights[key] = value
    if half_precision:
        logger.info("%s: cast %s weights to float32.", path, "/".join(sorted(half_precision)))
    return weights


def _is_torchscript_archive(path: Path) -> bool:
    if not path.is_file() or not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except zipfile.BadZipFile:
        return False
    # TorchScript archives hold the module's code next to the pickled data; torch.save archives do not.
    return any(name.endswith("constants.pkl") or "/code/" in name for name in names)
