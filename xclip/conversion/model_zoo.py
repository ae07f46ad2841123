"""The original X-CLIP model zoo as data: which file is which model, and what it scored.

Sources: the original README's model-zoo tables (https://github.com/microsoft/VideoX/tree/master/X-CLIP) and the
Hub names transformers' conversion gave the same weights (`microsoft/xclip-*`). Fully supervised results are
4 clips x 3 crops; few-shot and zero-shot results are a single view. Top-5 is given only where the README gives it.

The three ViT-L/14 checkpoints are distributed through Google Drive without a file name of their own; they are
keyed here by the names of their training logs (`k400_14_8`, `k400_14_16_336`, `k600_14_8`).
"""

from dataclasses import dataclass
from pathlib import Path

from .geometry import CLIP_ARCHITECTURES

__all__ = ["CLIP_BASE_MODELS", "MODEL_ZOO", "DatasetInfo", "ModelZooEntry", "PublishedResult", "find_model_zoo_entry"]


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset as the model card names it."""

    hub_id: str
    name: str
    labels_file: str  # the original repository's class list (`labels/<file>`)


KINETICS_400 = DatasetInfo("kinetics400", "Kinetics-400", "kinetics_400_labels.csv")
KINETICS_600 = DatasetInfo("kinetics600", "Kinetics-600", "kinetics_600_labels.csv")
HMDB_51 = DatasetInfo("hmdb51", "HMDB-51", "hmdb_51_labels.csv")
UCF_101 = DatasetInfo("ucf101", "UCF-101", "ucf_101_labels.csv")


@dataclass(frozen=True)
class PublishedResult:
    """One row of the original README: accuracy in percent on `dataset` under `protocol`; `top5_from_paper` when the
    README gives only the top-1 and the top-5 is the paper's."""

    dataset: DatasetInfo
    protocol: str
    top1: float
    top5: float | None = None
    top5_from_paper: bool = False


@dataclass(frozen=True)
class ModelZooEntry:
    """One released checkpoint of the original implementation."""

    file_stem: str
    hub_id: str
    architecture: str
    num_frames: int
    image_size: int
    setting: str
    trained_on: DatasetInfo
    results: tuple[PublishedResult, ...]


# The OpenAI CLIP every X-CLIP of an architecture starts from.
CLIP_BASE_MODELS = {name: arch.hub_id for name, arch in CLIP_ARCHITECTURES.items()}

_MULTI_VIEW = "4 clips x 3 crops"


def _fully_supervised(
    stem: str, hub_name: str, arch: str, frames: int, size: int, data: DatasetInfo, top1: float, top5: float
) -> ModelZooEntry:
    result = PublishedResult(data, _MULTI_VIEW, top1, top5)
    return ModelZooEntry(stem, f"microsoft/{hub_name}", arch, frames, size, "fully supervised", data, (result,))


def _few_shot(data: DatasetInfo, hub_key: str, shots: int, top1: float) -> ModelZooEntry:
    hub_id = f"microsoft/xclip-base-patch16-{hub_key}-{shots}-shot"
    result = PublishedResult(data, f"{shots}-shot, split 1, single view", top1)
    return ModelZooEntry(f"few_{hub_key}_{shots}", hub_id, "ViT-B/16", 32, 224, f"{shots}-shot", data, (result,))


_ENTRIES = (
    _fully_supervised("k400_32_8", "xclip-base-patch32", "ViT-B/32", 8, 224, KINETICS_400, 80.4, 95.0),
    _fully_supervised("k400_32_16", "xclip-base-patch32-16-frames", "ViT-B/32", 16, 224, KINETICS_400, 81.1, 95.5),
    _fully_supervised("k400_16_8", "xclip-base-patch16", "ViT-B/16", 8, 224, KINETICS_400, 83.8, 95.7),
    _fully_supervised("k400_16_16", "xclip-base-patch16-16-frames", "ViT-B/16", 16, 224, KINETICS_400, 84.7, 96.8),
    _fully_supervised("k400_14_8", "xclip-large-patch14", "ViT-L/14", 8, 224, KINETICS_400, 87.1, 97.6),
    _fully_supervised(
        "k400_14_16_336", "xclip-large-patch14-16-frames", "ViT-L/14@336px", 16, 336, KINETICS_400, 87.7, 97.4
    ),
    _fully_supervised("k600_16_8", "xclip-base-patch16-kinetics-600", "ViT-B/16", 8, 224, KINETICS_600, 85.3, 97.1),
    _fully_supervised(
        "k600_16_16", "xclip-base-patch16-kinetics-600-16-frames", "ViT-B/16", 16, 224, KINETICS_600, 85.8, 97.3
    ),
    _fully_supervised("k600_14_8", "xclip-large-patch14-kinetics-600", "ViT-L/14", 8, 224, KINETICS_600, 88.3, 97.7),
    _few_shot(HMDB_51, "hmdb", 2, 53.0),
    _few_shot(HMDB_51, "hmdb", 4, 57.3),
    _few_shot(HMDB_51, "hmdb", 8, 62.8),
    _few_shot(HMDB_51, "hmdb", 16, 64.0),
    _few_shot(UCF_101, "ucf", 2, 76.4),
    _few_shot(UCF_101, "ucf", 4, 83.4),
    _few_shot(UCF_101, "ucf", 8, 88.3),
    _few_shot(UCF_101, "ucf", 16, 91.4),
    ModelZooEntry(
        file_stem="zero",
        hub_id="microsoft/xclip-base-patch16-zero-shot",
        architecture="ViT-B/16",
        num_frames=32,
        image_size=224,
        setting="zero-shot",
        trained_on=KINETICS_400,
        results=(
            PublishedResult(HMDB_51, "zero-shot, mean of the 3 test splits, single view", 44.6),
            PublishedResult(UCF_101, "zero-shot, mean of the 3 test splits, single view", 72.0),
            PublishedResult(
                KINETICS_600, "zero-shot, 220 new classes, mean of 3 splits of 160", 65.2, 86.1, top5_from_paper=True
            ),
        ),
    ),
)

MODEL_ZOO: dict[str, ModelZooEntry] = {entry.file_stem: entry for entry in _ENTRIES}


def find_model_zoo_entry(checkpoint: str | Path) -> ModelZooEntry | None:
    """The model-zoo entry whose file name `checkpoint` carries (`k400_32_8.pth` -> `k400_32_8`), if any."""
    return MODEL_ZOO.get(Path(checkpoint).name.removesuffix(".pth").removesuffix(".pt"))
