"""Datasets in the original X-CLIP's formats: labels CSV, `path label` video lists (folder or tar root), Hugging Face
datasets, the official HMDB-51 / UCF-101 splits, and the few-shot and zero-shot protocol sets."""

from .dataset import VideoClipDataset
from .errors import AnnotationError
from .few_shot import build_few_shot_list
from .hf_datasets import HFVideoRecords, from_hf_dataset, hf_label_names
from .kinetics import K400_TO_K600_RENAMES, kinetics600_novel_classes
from .labels import normalise_class_name, read_label_names, write_label_names
from .official_splits import hmdb51_split_lists, ucf101_split_lists, write_official_split_lists
from .synthetic import VideoSet, write_video_set
from .video_list import VideoRecord, check_video_root, parse_video_list, read_video_list, write_video_list
from .zero_shot import (
    ZeroShotSplit,
    kinetics600_zero_shot_splits,
    novel_class_splits,
    restrict_to_classes,
    write_zero_shot_split,
    zero_shot_splits_from_lists,
)


__all__ = [
    "AnnotationError",
    "HFVideoRecords",
    "K400_TO_K600_RENAMES",
    "VideoClipDataset",
    "VideoRecord",
    "VideoSet",
    "ZeroShotSplit",
    "build_few_shot_list",
    "check_video_root",
    "from_hf_dataset",
    "hf_label_names",
    "hmdb51_split_lists",
    "kinetics600_novel_classes",
    "kinetics600_zero_shot_splits",
    "normalise_class_name",
    "novel_class_splits",
    "parse_video_list",
    "read_label_names",
    "read_video_list",
    "restrict_to_classes",
    "ucf101_split_lists",
    "write_label_names",
    "write_official_split_lists",
    "write_video_list",
    "write_video_set",
    "write_zero_shot_split",
    "zero_shot_splits_from_lists",
]
