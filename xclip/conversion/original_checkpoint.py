"""Original model-zoo checkpoints -> `XCLIPModel`, and -> Hub-ready model folders."""

import logging
import os
from pathlib import Path
from typing import Any

from ..modeling import XCLIPModel
from ..modeling.modeling_xclip_classification import set_class_names
from ..processing import build_processor
from .checkpoint_loading import load_original_state_dict
from .errors import ConversionError
from .geometry import XCLIPGeometry, measure_geometry
from .key_mapping import empty_model, map_weights, weight_shapes
from ..data import AnnotationError, read_label_names
from .model_card import write_model_card
from .model_zoo import ModelZooEntry, find_model_zoo_entry
from .output_folder import check_output_folder, staged_output_folder

__all__ = ["convert_original_checkpoint", "xclip_from_original"]

logger = logging.getLogger(__name__)


def xclip_from_original(
    checkpoint: str | os.PathLike, trust_pickle: bool = False, **geometry_overrides: int
) -> XCLIPModel:
    """Loads an original X-CLIP checkpoint as an `XCLIPModel` (float32, eval mode), its geometry read from the
    weights' shapes.

    Args:
        checkpoint: the original `.pth` file.
        trust_pickle: see `load_original_state_dict`.
        geometry_overrides: `vision_heads`, `text_heads`, `mit_heads`, `prompt_heads` when not `width // 64`.

    Raises:
        ConversionError: naming the file and what does not fit.
    """
    model, _ = _load_original(Path(checkpoint), trust_pickle, geometry_overrides)
    return model


def convert_original_checkpoint(
    checkpoint: str | os.PathLike,
    output_dir: str | os.PathLike,
    labels_csv: str | os.PathLike | None = None,
    model_name: str | None = None,
    trust_pickle: bool = False,
    overwrite: bool = False,
    geometry_overrides: dict[str, int] | None = None,
) -> Path:
    """Converts an original checkpoint into a folder that `from_pretrained` loads offline.

    Writes `config.json` (with `id2label`/`label2id` from `labels_csv`), `model.safetensors`, the processor files
    (tokenizer and a video processor matching the original test preprocessing) and a model card `README.md`. The
    folder is built next to `output_dir` and renamed into place at the end, so a failure writes nothing.

    Args:
        checkpoint: the original `.pth` file; a model-zoo file name (`k400_32_8.pth`, ...) adds its published
            results to the model card.
        output_dir: the folder to create.
        labels_csv: class list in the original `id,name` format.
        model_name: the name the card's usage snippet loads; defaults to the model zoo's Hub id, else the folder name.
        trust_pickle: see `load_original_state_dict`.
        overwrite: replace an existing, non-empty `output_dir`; only a previous conversion is replaced, and never a
            folder holding `checkpoint` or `labels_csv`.
        geometry_overrides: see `xclip_from_original`.

    Returns:
        `output_dir`.

    Raises:
        ConversionError: a one-line message naming the file and the problem.
    """
    checkpoint, output_dir = Path(checkpoint), Path(output_dir)
    inputs = (("checkpoint", checkpoint), ("labels file", labels_csv))
    check_output_folder(output_dir, overwrite, inputs)
    try:
        labels = read_label_names(labels_csv) if labels_csv is not None else None
    except AnnotationError as error:
        raise ConversionError(str(error)) from None

    model, geometry = _load_original(checkpoint, trust_pickle, geometry_overrides or {})
    zoo_entry = _matching_zoo_entry(checkpoint, geometry)
    if labels is not None:
        set_class_names(model.config, labels)

    with staged_output_folder(output_dir, overwrite, inputs) as staging:
        model.save_pretrained(staging)
        build_processor(image_size=geometry.image_size, num_frames=geometry.num_frames).save_pretrained(staging)
        write_model_card(
            staging / "README.md",
            # Not the zoo entry's Hub id: the card would load Microsoft's model and credit its results to that name.
            model_name=model_name or output_dir.name,
            geometry=geometry,
            checkpoint_name=checkpoint.name,
            zoo_entry=zoo_entry,
            labels_name=Path(labels_csv).name if labels_csv is not None else None,
            num_labels=len(labels or ()),
        )
    logger.info("Wrote %s", output_dir)
    return output_dir


def _load_original(
    checkpoint: Path, trust_pickle: bool, geometry_overrides: dict[str, Any]
) -> tuple[XCLIPModel, XCLIPGeometry]:
    state_dict = load_original_state_dict(checkpoint, trust_pickle=trust_pickle)
    try:
        geometry = measure_geometry(state_dict, **geometry_overrides)
        logger.info("%s: %s", checkpoint, geometry.summary())
        config = geometry.to_config()
        model = empty_model(config)  # every weight comes from the checkpoint (assign=True below)
        weights = map_weights(state_dict, weight_shapes(model))
    except ConversionError as error:
        raise ConversionError(f"{checkpoint}: {error}") from error
    model.load_state_dict(weights, strict=True, assign=True)
    return model.eval(), geometry


def _matching_zoo_entry(checkpoint: Path, geometry: XCLIPGeometry) -> ModelZooEntry | None:
    entry = find_model_zoo_entry(checkpoint)
    if entry is None:
        return None
    found = (geometry.architecture, geometry.num_frames, geometry.image_size)
    if found != (entry.architecture, entry.num_frames, entry.image_size):
        logger.warning(
            "%s: the file name says %s, %d frames of %d px, but the weights are %s, %d frames of %d px; "
            "the model card leaves out the published results.",
            checkpoint,
            entry.architecture,
            entry.num_frames,
            entry.image_size,
            geometry.architecture or f"a custom ViT (width {geometry.vision_width}, patch {geometry.patch_size})",
            geometry.num_frames,
            geometry.image_size,
        )
        return None
    return entry
