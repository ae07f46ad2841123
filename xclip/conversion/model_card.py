"""The Hub model card (`README.md`) of a converted checkpoint; the metadata and usage snippet every card of this
package shares come from `xclip.model_cards`."""

import os
from pathlib import Path

from huggingface_hub import EvalResult, ModelCardData

from ..model_cards import ORIGINAL_CODE_URL, PAPER_URL, build_model_card, model_card_metadata, usage_snippet
from ..processing import short_side_for_crop
from .geometry import XCLIPGeometry
from .model_zoo import CLIP_BASE_MODELS, ModelZooEntry

__all__ = ["write_model_card"]


def write_model_card(
    path: str | os.PathLike,
    model_name: str,
    geometry: XCLIPGeometry,
    checkpoint_name: str,
    zoo_entry: ModelZooEntry | None = None,
    labels_name: str | None = None,
    num_labels: int = 0,
) -> None:
    """Writes the model card of a converted checkpoint to `path`.

    Args:
        path: where to write (the folder's `README.md`).
        model_name: the name users load it by (Hub id or folder).
        geometry: the converted model's sizes.
        checkpoint_name: file name of the original checkpoint.
        zoo_entry: the model-zoo entry the checkpoint matches, whose published results become the `model-index`.
        labels_name, num_labels: the class list stored in the config, if any.
    """
    metadata = _metadata(model_name, geometry, zoo_entry, classifier=labels_name is not None)
    body = _body(model_name, geometry, checkpoint_name, zoo_entry, labels_name, num_labels)
    build_model_card(metadata, body).save(Path(path))


def _metadata(
    model_name: str, geometry: XCLIPGeometry, zoo_entry: ModelZooEntry | None, classifier: bool
) -> ModelCardData:
    extra_tags, datasets, eval_results = [], [], None
    if zoo_entry is not None:
        datasets = [zoo_entry.trained_on.hub_id]  # what it was trained on; evaluation sets are in the model-index
        if zoo_entry.setting != "fully supervised":
            extra_tags.append(zoo_entry.setting)
        eval_results = [
            EvalResult(
                task_type="video-classification",
                task_name="Video classification",
                dataset_type=result.dataset.hub_id,
                dataset_name=result.dataset.name,
                metric_type=metric_type,
                metric_name=f"{metric_name} ({result.protocol})",
                metric_value=value,
                # One source per dataset in the model-index: the paper, which gives both figures, where the README
                # gives only the top-1.
                source_name="X-CLIP paper" if result.top5_from_paper else "X-CLIP model zoo (original README)",
                source_url=PAPER_URL if result.top5_from_paper else ORIGINAL_CODE_URL,
            )
            for result in zoo_entry.results
            for metric_type, metric_name, value in (
                ("accuracy", "top-1 accuracy", result.top1),
                ("top_5_accuracy", "top-5 accuracy", result.top5),
            )
            if value is not None
        ]
    return model_card_metadata(
        extra_tags,
        classifier=classifier,
        datasets=datasets or None,
        base_model=CLIP_BASE_MODELS.get(geometry.architecture or ""),
        model_name=model_name if eval_results else None,  # names the model-index
        eval_results=eval_results,
    )


def _body(
    model_name: str,
    geometry: XCLIPGeometry,
    checkpoint_name: str,
    zoo_entry: ModelZooEntry | None,
    labels_name: str | None,
    num_labels: int,
) -> str:
    size, frames = geometry.image_size, geometry.num_frames
    short_side = short_side_for_crop(size)
    origin = f"`{checkpoint_name}`"
    if zoo_entry is not None:
        origin += (
            f", the {zoo_entry.setting} model trained on {zoo_entry.trained_on.name} "
            f"(also published as [`{zoo_entry.hub_id}`](https://huggingface.co/{zoo_entry.hub_id}))"
        )
    sections = [
        f"# {model_name}\n",
        f"X-CLIP {geometry.architecture or '(custom geometry)'} for video recognition, {frames} frames of "
        f"{size}x{size} px: \"Expanding Language-Image Pretrained Models for General Video Recognition\" (Ni et al., "
        f"ECCV 2022, [paper]({PAPER_URL}), [original code]({ORIGINAL_CODE_URL})). It scores a video against any "
        "list of class names given as text. (Not the unrelated X-CLIP video-text retrieval model.)\n",
        f"Converted from the original checkpoint {origin} with the `xclip` package. The weights use transformers' "
        "`x_clip` layout, so the folder also loads with `transformers.XCLIPModel`.\n",
    ]
    if zoo_entry is not None:
        rows = "\n".join(
            f"| {result.dataset.name} | {result.protocol} | {result.top1} | "
            f"{result.top5 or '-'}{'*' if result.top5_from_paper else ''} |"
            for result in zoo_entry.results
        )
        from_paper = " (top-5 marked * from the paper)" if any(r.top5_from_paper for r in zoo_entry.results) else ""
        sections.append(
            f"## Published results\n\nFrom the original README{from_paper}, not re-measured here:\n\n"
            f"| dataset | protocol | top-1 | top-5 |\n|---|---|---|---|\n{rows}\n"
        )
    labels_line = (
        f"`config.json` holds the {num_labels} classes of `{labels_name}` (`id2label`)."
        if labels_name
        else "Pass your class names as text; no class list is stored."
    )
    sections += [
        "## Usage\n",
        usage_snippet(model_name, stored_class_names=labels_name is not None),
        f"{labels_line} Class names are used as is, without a prompt template, as in the original.\n",
        "## Preprocessing\n",
        f"As the original's single-view test: {frames} frames, one from the centre of each of {frames} equal "
        f"segments; short side resized to {short_side}, centre crop {size}x{size}; RGB scaled to [0, 1] and "
        "normalised with ImageNet's mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225), not CLIP's. "
        "`XCLIPProcessor` does all of this.\n",
        f"## Geometry\n\n{geometry.summary()}\n",
        "## License\n\nMIT, like the original X-CLIP code and checkpoints.\n",
    ]
    return "\n".join(sections)
