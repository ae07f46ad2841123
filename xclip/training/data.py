"""Datasets and data loaders of a run, from the config's `DATA.*`, `AUG.*` and `TEST.*` keys."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..data import VideoClipDataset, VideoRecord, build_few_shot_list, read_label_names, read_video_list
from ..processing import XCLIPTrainTransform
from ..video.hardware import hardware_accelerator
from .config import ConfigError, ExperimentConfig

__all__ = [
    "build_eval_dataset",
    "build_train_dataset",
    "eval_dataloader",
    "finishes_on_device",
    "read_class_names",
    "train_dataloader",
    "training_records",
]

logger = logging.getLogger(__name__)


def read_class_names(config: ExperimentConfig) -> list[str]:
    """The class texts of `DATA.LABEL_LIST`, checked against `DATA.NUM_CLASSES`.

    Raises:
        AnnotationError: the CSV is missing or malformed.
        ConfigError: its row count differs from `DATA.NUM_CLASSES`.
    """
    names = read_label_names(config.DATA.LABEL_LIST)
    if len(names) != config.DATA.NUM_CLASSES:
        raise ConfigError(
            f"DATA.LABEL_LIST {config.DATA.LABEL_LIST!r} has {len(names)} classes but DATA.NUM_CLASSES is "
            f"{config.DATA.NUM_CLASSES}; set DATA.NUM_CLASSES {len(names)} (or use the matching labels file)."
        )
    return names


def training_records(config: ExperimentConfig, output_dir: Path) -> list[VideoRecord]:
    """The training videos: `DATA.TRAIN_FILE`, or a K-shot draw from it when `DATA.FEW_SHOT_K > 0` (seeded by
    `SEED`, written to `OUTPUT/train_<K>shot_seed<SEED>.txt` so that the run's videos are known and reusable)."""
    records = read_video_list(config.DATA.TRAIN_FILE, config.DATA.ROOT, config.DATA.NUM_CLASSES)
    shots = config.DATA.FEW_SHOT_K
    if shots == 0:
        return records
    few_shot_list = output_dir / f"train_{shots}shot_seed{config.SEED}.txt"
    return build_few_shot_list(records, shots, config.SEED, few_shot_list, num_classes=config.DATA.NUM_CLASSES)


def build_train_dataset(
    config: ExperimentConfig, records: Sequence[VideoRecord], finish_on_device: bool = False
) -> VideoClipDataset:
    """Training clips with the original augmentation (its probabilities from `AUG.*`). With `finish_on_device` (for
    a GPU) the workers resize, crop and flip uint8 clips and draw the colour augmentation, and `dataset.finish`
    applies it to each batch on the device; otherwise the workers do it all.

    The item seed is `SEED` on every process, so a video's augmentation depends only on the epoch and its index: the
    same run on 1 or N processes sees the same clips.
    """
    transform = XCLIPTrainTransform(
        image_size=config.DATA.INPUT_SIZE,
        flip_prob=config.AUG.FLIP,
        color_jitter_prob=config.AUG.COLOR_JITTER,
        grayscale_prob=config.AUG.GRAY_SCALE,
    )
    return VideoClipDataset(
        records,
        num_frames=config.DATA.NUM_FRAMES,
        training=True,
        transform=transform,
        seed=config.SEED,
        hwaccel=hardware_decoder(config),
        autorotate=config.DATA.AUTOROTATE,
        finish_on_device=finish_on_device,
    )


def build_eval_dataset(
    config: ExperimentConfig,
    records: Sequence[VideoRecord],
    num_clips: int = 1,
    num_crops: int = 1,
    finish_on_device: bool = False,
) -> VideoClipDataset:
    """Test views of `records`: `num_clips` x `num_crops` per video (1 x 1 is the original's single view); with
    `finish_on_device`, uint8 crops that `dataset.finish` normalises on the device."""
    return VideoClipDataset(
        records,
        num_frames=config.DATA.NUM_FRAMES,
        training=False,
        image_size=config.DATA.INPUT_SIZE,
        num_clips=num_clips,
        num_crops=num_crops,
        random_clips=config.TEST.RANDOM_CLIPS and num_clips > 1,  # the original's single clip is deterministic
        seed=config.SEED,
        hwaccel=hardware_decoder(config),
        autorotate=config.DATA.AUTOROTATE,
        finish_on_device=finish_on_device,
    )


def finishes_on_device(device: torch.device) -> bool:
    """Whether the loaders hand over uint8 clips for the training `device` to finish (colour augmentation,
    normalisation): on a GPU that work is nearly free and the workers send a quarter of the bytes; on a CPU-only run
    it would move from the parallel workers into the training process."""
    return device.type != "cpu"


def hardware_decoder(config: ExperimentConfig) -> str | None:
    """`DATA.HWACCEL`, checked here (the device opens, or a clear error) rather than in every loader worker."""
    if not config.DATA.HWACCEL:
        return None
    try:
        hardware_accelerator(config.DATA.HWACCEL)
    except (ValueError, RuntimeError) as error:  # no such device type in FFmpeg; no GPU or driver to open it
        raise ConfigError(f"DATA.HWACCEL: {error}") from error
    return config.DATA.HWACCEL


def _worker_start_method(dataset: VideoClipDataset, num_workers: int) -> str | None:
    return "spawn" if dataset.needs_spawned_workers and num_workers > 0 else None


def train_dataloader(dataset: VideoClipDataset, config: ExperimentConfig) -> DataLoader:
    """Shuffled batches of `TRAIN.BATCH_SIZE` per process; the last incomplete batch is dropped, as the original."""
    return DataLoader(
        dataset,
        batch_size=config.TRAIN.BATCH_SIZE,
        shuffle=True,
        drop_last=True,
        num_workers=config.DATA.NUM_WORKERS,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=config.DATA.NUM_WORKERS > 0,
        multiprocessing_context=_worker_start_method(dataset, config.DATA.NUM_WORKERS),
    )


def eval_dataloader(dataset: VideoClipDataset, config: ExperimentConfig) -> DataLoader:
    """Every video exactly once (no shuffling, no dropped batch: the original drops up to one video per process).

    A batch holds `TRAIN.BATCH_SIZE` videos for a single view; with V views, about twice as many clips as a training
    batch (no activations are kept for backward), i.e. `max(1, 2 * BATCH_SIZE // V)` videos.
    """
    views = dataset.num_clips * dataset.num_crops
    batch_size = config.TRAIN.BATCH_SIZE if views == 1 else max(1, 2 * config.TRAIN.BATCH_SIZE // views)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        drop_last=False,
        num_workers=config.DATA.NUM_WORKERS,
        pin_memory=torch.cuda.is_available(),
        multiprocessing_context=_worker_start_method(dataset, config.DATA.NUM_WORKERS),
    )
