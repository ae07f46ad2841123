"""Fine-tune X-CLIP with the original recipe, or evaluate a model, on one CPU, one GPU or many, through Accelerate.

`main` reads the arguments and config, builds the Accelerator and runs `train` (or `evaluate_only` for
`--only_test`). `train` reads top to bottom like Accelerate's examples: the model, the data, the optimizer, one
`prepare`, resuming, then the epochs (`run_epoch`: train, evaluate single-view, export the best model, log, save the
training state) and the final multi-view test. When a run may use, continue or replace its output folder is decided
in `xclip.training.output_folder`. `scripts/train.py` and `xclip train` both call `main`; the launch commands are
in `scripts/train.py`.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from accelerate import Accelerator, DataLoaderConfiguration
from accelerate.utils import DistributedDataParallelKwargs, is_tensorboard_available, set_seed
from safetensors.torch import load_file
from torch import nn
from torch.utils.data import DataLoader

from ..cli import subcommand_parser
from ..data import (
    VideoClipDataset,
    VideoRecord,
    ZeroShotSplit,
    kinetics600_zero_shot_splits,
    read_video_list,
    zero_shot_splits_from_lists,
)
from ..evaluation import load_video_accuracy, zero_shot_summary
from ..files import folder_problem
from ..model_source import BEST_MODEL_FOLDER, check_safetensors_file
from .blending import MixupCutmix
from .checkpointing import TrainerState, check_same_model, load_training_state, save_training_state
from .config import ConfigError, ExperimentConfig, changed_settings, load_config
from .data import (
    build_eval_dataset,
    build_train_dataset,
    eval_dataloader,
    finishes_on_device,
    read_class_names,
    train_dataloader,
    training_records,
)
from .engine import predict, train_one_epoch
from .export import export_model
from .lora import add_lora_adapters
from .model_setup import build_model, enable_gradient_checkpointing
from .optimization import (
    IterationLRSchedule,
    build_lr_scheduler,
    build_optimizer,
    freeze_text_tower,
    text_tower_trains,
)
from .output_folder import (
    check_config_file_is_kept,
    earlier_run_outputs,
    evaluation_replaces,
    interrupt_advice,
    resume_folder,
    run_config_of,
    start_output_folder,
)
from .reporting import METRICS_FILE, StepLog, evaluation_report, plot_training_curves, tracker_hparams, write_json
from .text import ClassTexts

if TYPE_CHECKING:
    from evaluate import EvaluationModule  # imported where used: an optional extra

__all__ = ["TrainingRun", "add_runtime_arguments", "evaluate_only", "main", "parse_args", "run", "run_epoch", "train"]

logger = logging.getLogger(__name__)

# An epoch that waits for batches longer than this share of its time is limited by decoding and augmentation.
INPUT_BOUND_WAIT_FRACTION = 0.3


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The original's flags, plus Accelerate's runtime switches (`--mixed_precision`, `--cpu`, `--log_with`)."""
    parser = subcommand_parser("train", "Fine-tune or evaluate X-CLIP with the original recipe.")
    parser.add_argument("-cfg", "--config", required=True, help="YAML config in the original's format.")
    parser.add_argument("--output", help="Output folder (OUTPUT): checkpoints, best model, logs, metrics.json.")
    parser.add_argument("--opts", nargs="+", default=[], metavar="KEY VALUE", help="Overrides: TRAIN.LR 1e-5 ...")
    parser.add_argument(
        "--pretrained", help="A transformers CLIP folder, OpenAI's CLIP file, or an X-CLIP folder (MODEL.PRETRAINED)."
    )
    parser.add_argument(
        "--resume", help="A checkpoint folder (OUTPUT/checkpoints/epoch_N), or an output folder for its latest one."
    )
    parser.add_argument("--only_test", action="store_true", help="Evaluate only (TEST.ONLY_TEST).")
    parser.add_argument(
        "--overwrite_output", action="store_true",
        help="Replace an earlier training run's outputs in --output instead of refusing it (OVERWRITE_OUTPUT).",
    )
    parser.add_argument("--batch-size", type=int, help="Videos per process and step (TRAIN.BATCH_SIZE).")
    parser.add_argument("--accumulation-steps", type=int, help="Gradient accumulation (TRAIN.ACCUMULATION_STEPS).")
    add_runtime_arguments(parser, default_tracker="tensorboard" if is_tensorboard_available() else "none")
    return parser.parse_args(argv)


def add_runtime_arguments(parser: argparse.ArgumentParser, default_tracker: str) -> None:
    """Accelerate's runtime switches, which `run` reads: `--mixed_precision`, `--cpu`, `--log_with`."""
    parser.add_argument(
        "--mixed_precision", choices=["no", "fp16", "bf16"], help="Overrides TRAIN.OPT_LEVEL (O0 -> no, O1/O2 -> fp16)."
    )
    parser.add_argument(
        "--cpu", action="store_true", help="Run on the CPU even with a GPU; under torchrun, CPU processes over gloo."
    )
    parser.add_argument(
        "--log_with", default=default_tracker, help="An Accelerate tracker (tensorboard, wandb, ...) or 'none'."
    )
    parser.add_argument("--local_rank", type=int, default=0, help=argparse.SUPPRESS)  # torch.distributed.launch


def config_from_args(args: argparse.Namespace) -> ExperimentConfig:
    """The YAML config, then `--opts`, then the dedicated flags, as the original merges them."""
    flags = {
        "TRAIN.BATCH_SIZE": args.batch_size,
        "TRAIN.ACCUMULATION_STEPS": args.accumulation_steps,
        "MODEL.PRETRAINED": args.pretrained,
        "MODEL.RESUME": args.resume,
        "OUTPUT": args.output,
        "TEST.ONLY_TEST": True if args.only_test else None,
        "OVERWRITE_OUTPUT": True if args.overwrite_output else None,
    }
    config = load_config(args.config, args.opts, **{key: value for key, value in flags.items() if value is not None})
    check_output_folder(config)
    check_config_file_is_kept(Path(args.config), config)
    return config


def check_output_folder(config: ExperimentConfig) -> None:
    """Refuses a config without `OUTPUT`, or whose `OUTPUT` cannot be a folder (a file, say), before anything runs.

    Raises:
        ConfigError: naming the folder and the problem.
    """
    if not config.OUTPUT:
        raise ConfigError("No output folder: pass --output DIR (or set OUTPUT in the config).")
    problem = folder_problem(config.OUTPUT)
    if problem is not None:
        raise ConfigError(f"The output folder (--output) {config.OUTPUT!r} {problem}.")


def check_training_extras() -> None:
    """Names the missing packages of the `train` extras that a run needs: peft for LoRA, evaluate for the metrics,
    matplotlib for the plots, which are first drawn after an epoch (tensorboard is optional, and datasets only reads
    Hugging Face datasets). They are imported where they are used, so `xclip.training`'s pieces import without them."""
    missing = [name for name in ("peft", "evaluate", "matplotlib") if find_spec(name) is None]
    if missing:
        raise ImportError(
            f"xclip.training needs {', '.join(missing)} from the package's training extras: "
            "pip install 'xclip[train]' (from a checkout: pip install -e '.[train]')."
        )


def build_accelerator(config: ExperimentConfig, args: argparse.Namespace) -> Accelerator:
    """The Accelerator: precision from `--mixed_precision` or `TRAIN.OPT_LEVEL`, gradient accumulation, trackers,
    seeded shuffling, optional compilation, and DDP as the original configures it."""
    mixed_precision = args.mixed_precision or config.mixed_precision
    on_cpu = args.cpu or not torch.cuda.is_available()
    if args.mixed_precision is None and mixed_precision == "fp16" and on_cpu:
        mixed_precision = "no"  # TRAIN.OPT_LEVEL O1 is the default; fp16 autocast only pays off on a GPU
    return Accelerator(
        cpu=args.cpu,
        mixed_precision=mixed_precision,
        gradient_accumulation_steps=config.TRAIN.ACCUMULATION_STEPS,
        log_with=None if args.log_with == "none" else args.log_with,
        project_dir=config.OUTPUT,
        # The shuffle order depends on (SEED, epoch) only: the same on 1 or N processes and after resuming. Batches
        # come from pinned memory (see xclip.training.data), so their copy to the GPU need not block the step.
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.SEED, non_blocking=True),
        dynamo_backend="inductor" if config.TRAIN.COMPILE else None,
        kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)],  # as the original's DDP
    )


# Loggers whose warnings are about what one process reads (an unreadable video, damaged data): every process keeps
# them. The package's other warnings (a list, a label file, a config) would be the same in every process.
_PER_PROCESS_LOGGERS = ("xclip.data.dataset", "xclip.video")


def setup_logging(accelerator: Accelerator, output_dir: Path) -> logging.FileHandler | None:
    """Console logging (local main process at INFO; the others show only their own videos' warnings, and errors),
    and `OUTPUT/log.txt` on the main process."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    package_logger = logging.getLogger("xclip")
    package_logger.setLevel(logging.INFO if accelerator.is_local_main_process else logging.ERROR)
    for name in _PER_PROCESS_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if accelerator.is_local_main_process else logging.WARNING)
    if not accelerator.is_main_process:
        return None
    output_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(output_dir / "log.txt", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    package_logger.addHandler(handler)
    return handler


def prepare_model_for_training(model: nn.Module, config: ExperimentConfig) -> nn.Module:
    """LoRA adapters (`MODEL.LORA.ENABLE`) or the original's text freezing (`MODEL.FIX_TEXT`), and activation
    checkpointing (`TRAIN.USE_CHECKPOINT`)."""
    if config.TRAIN.USE_CHECKPOINT:
        enable_gradient_checkpointing(model)
    if config.MODEL.LORA.ENABLE:
        return add_lora_adapters(model, config.MODEL.LORA)
    if config.MODEL.FIX_TEXT:
        freeze_text_tower(model)
    return model


def build_run(
    accelerator: Accelerator, config: ExperimentConfig
) -> tuple[nn.Module, list[str], EvaluationModule | None]:
    """What training and evaluation share: the seeded model, the class names and the accuracy metric."""
    logger.info("%d process(es), device %s, mixed precision %s", accelerator.num_processes, accelerator.device,
                accelerator.mixed_precision)
    # Seed before building the model so that its random parts are reproducible; every process gets its own seed as
    # in the original (SEED + rank), and DDP starts every process from rank 0's weights.
    set_seed(config.SEED + accelerator.process_index)
    class_names = read_class_names(config)
    model = prepare_model_for_training(build_model(config), config)
    metric = load_video_accuracy(keep_in_memory=True) if accelerator.is_main_process else None
    return model, class_names, metric


def evaluation_sets(config: ExperimentConfig, class_names: list[str]) -> list[ZeroShotSplit]:
    """What `--only_test` evaluates: `DATA.VAL_FILE`, or the zero-shot protocol's splits (`TEST.ZERO_SHOT.*`)."""
    zero_shot = config.TEST.ZERO_SHOT
    if zero_shot.SPLIT_FILES:
        return zero_shot_splits_from_lists(zero_shot.SPLIT_FILES, config.DATA.LABEL_LIST, config.DATA.ROOT)
    if zero_shot.NOVEL_CLASSES_OF:
        return kinetics600_zero_shot_splits(
            zero_shot.NOVEL_CLASSES_OF,
            config.DATA.LABEL_LIST,
            config.DATA.VAL_FILE,
            config.DATA.ROOT,
            num_splits=zero_shot.NUM_SUBSETS,
            split_size=zero_shot.SUBSET_SIZE,
            seed=zero_shot.SUBSET_SEED,
        )
    return [ZeroShotSplit("val", class_names, validation_records(config))]


def validation_records(config: ExperimentConfig) -> list[VideoRecord]:
    if not config.DATA.VAL_FILE:
        raise ConfigError("DATA.VAL_FILE is not set: the validation videos are needed to evaluate.")
    return read_video_list(config.DATA.VAL_FILE, config.DATA.ROOT, config.DATA.NUM_CLASSES)


def evaluate_splits(
    accelerator: Accelerator,
    model: nn.Module,
    config: ExperimentConfig,
    splits: list[ZeroShotSplit],
    views: tuple[int, int],
    metric: EvaluationModule | None,
) -> dict[str, Any]:
    """Evaluates `model` on each split with `views` = (clips, crops) per video, writing each split's per-class
    accuracy and confusion matrix to `OUTPUT/<split>_per_class.csv` and `OUTPUT/<split>_confusion.png`; returns the
    metrics report (main process; an empty dict elsewhere). Several splits give their mean and std (`top1` etc. are
    then the means)."""
    output_dir = Path(config.OUTPUT)
    unwrapped = accelerator.unwrap_model(model)
    on_device = finishes_on_device(accelerator.device)
    reports = {}
    for split in splits:
        dataset = build_eval_dataset(config, split.records, *views, finish_on_device=on_device)
        dataloader = accelerator.prepare(eval_dataloader(dataset, config))
        text_embeds = ClassTexts(split.class_names, frozen=True).encode(unwrapped)
        predictions = predict(
            accelerator, model, dataloader, text_embeds, desc=f"test {split.name}", finish=dataset.finish
        )
        if accelerator.is_main_process:
            reports[split.name] = evaluation_report(
                predictions, split.class_names, metric, views[0] * views[1], files=(output_dir, split.name),
                source=f"the evaluation set {split.name!r}",
            )
            logger.info("Test %s (%dx%d views): top-1 %.2f%%, top-5 %.2f%%", split.name, *views,
                        reports[split.name]["top1"], reports[split.name]["top5"])
    if not accelerator.is_main_process:
        return {}
    if len(reports) == 1:
        return next(iter(reports.values()))
    summary = zero_shot_summary(reports)
    for key in ("top1", "top5", "mean_class_accuracy"):
        summary[key] = summary[f"{key}_mean"]
    logger.info("Over %d splits: top-1 %.2f +- %.2f, top-5 %.2f +- %.2f", len(reports), summary["top1_mean"],
                summary["top1_std"], summary["top5_mean"], summary["top5_std"])
    return summary


def evaluate_only(accelerator: Accelerator, config: ExperimentConfig) -> dict[str, Any]:
    """`--only_test`: the model of `--pretrained`, or the weights of the `--resume` checkpoint, on `DATA.VAL_FILE`
    or on the zero-shot protocol's splits, with `TEST.NUM_CLIP` x `TEST.NUM_CROP` views."""
    output_dir = Path(config.OUTPUT)
    training_outputs = evaluation_replaces(config)
    model, class_names, metric = build_run(accelerator, config)
    model = accelerator.prepare(model)
    splits = evaluation_sets(config, class_names)
    if config.MODEL.RESUME:  # loaded before anything is written: a checkpoint of another model is refused
        checkpoint = resume_folder(config, output_dir)
        check_safetensors_file(checkpoint / "model.safetensors")
        check_same_model(checkpoint / "model.safetensors", accelerator.unwrap_model(model))
        accelerator.unwrap_model(model).load_state_dict(load_file(checkpoint / "model.safetensors"))
        logger.info("Evaluating the weights of %s", checkpoint)
    start_output_folder(accelerator, config, replaced=training_outputs)
    views = (config.TEST.NUM_CLIP, config.TEST.NUM_CROP)
    report = evaluate_splits(accelerator, model, config, splits, views, metric)
    if accelerator.is_main_process:
        write_json(output_dir / METRICS_FILE, report)
    return report


@dataclass
class TrainingRun:
    """What every epoch of `train` works with: the prepared model, optimizer and loaders, the LR schedule, the class
    texts and names, the accuracy metric (main process) and the step log."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    train_set: VideoClipDataset
    train_loader: DataLoader
    val_set: VideoClipDataset
    val_loader: DataLoader
    lr_schedule: IterationLRSchedule
    texts: ClassTexts
    class_names: list[str]
    metric: EvaluationModule | None  # the main process's; None elsewhere
    step_log: StepLog
    warned_input_bound: bool = False  # the input-pipeline advice is given once per run


def mixup_for_epoch(config: ExperimentConfig, epoch: int, process_index: int) -> MixupCutmix | None:
    """The original's Mixup/CutMix with label smoothing, or None when `AUG.MIXUP` is 0; its draws depend only on
    (SEED, process, epoch), so a resumed run blends exactly as an uninterrupted one."""
    if config.AUG.MIXUP <= 0:
        return None
    return MixupCutmix(
        num_classes=config.DATA.NUM_CLASSES,
        smoothing=config.AUG.LABEL_SMOOTH,
        mixup_alpha=config.AUG.MIXUP,
        cutmix_alpha=config.AUG.CUTMIX,
        switch_prob=config.AUG.MIXUP_SWITCH_PROB,
        rng=np.random.default_rng([config.SEED, process_index, epoch]),
    )


def input_pipeline_advice(data_wait_fraction: float, device: torch.device) -> str | None:
    """What to do when an epoch on a GPU waited for batches more than `INPUT_BOUND_WAIT_FRACTION` of its time, else
    None. On a CPU the loader and the model share the cores, so waiting says little about what would help."""
    if device.type == "cpu" or data_wait_fraction <= INPUT_BOUND_WAIT_FRACTION:
        return None
    return (
        f"waited for videos {data_wait_fraction:.0%} of the time: decoding and augmentation limit the training speed. "
        "More loader workers (DATA.NUM_WORKERS), videos re-encoded by `xclip prepare` or NVDEC decoding "
        "(DATA.HWACCEL cuda) help; see the README, 'Preparing the videos'."
    )


def format_entry(entry: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}"
                     for key, value in entry.items() if key != "epoch")


def run_epoch(
    accelerator: Accelerator, config: ExperimentConfig, run: TrainingRun, state: TrainerState, epoch: int
) -> None:
    """Epoch `epoch` of `train`: trains, evaluates a single view of the validation videos, exports the model to
    `OUTPUT/best_model` when it is the best so far, logs the epoch and saves the training state every `SAVE_FREQ`
    epochs and after the last; `state` records the epoch."""
    output_dir = Path(config.OUTPUT)
    run.train_loader.set_epoch(epoch)
    run.train_set.set_epoch(epoch)
    summary = train_one_epoch(
        accelerator=accelerator,
        model=run.model,
        dataloader=run.train_loader,
        optimizer=run.optimizer,
        lr_schedule=run.lr_schedule,
        texts=run.texts,
        blending=mixup_for_epoch(config, epoch, accelerator.process_index),
        label_smoothing=config.AUG.LABEL_SMOOTH,
        max_grad_norm=config.TRAIN.MAX_GRAD_NORM,
        epoch=epoch,
        on_step=run.step_log.write,
        finish=run.train_set.finish,
    )
    text_embeds = run.texts.evaluation_embeds(accelerator.unwrap_model(run.model))
    predictions = predict(accelerator, run.model, run.val_loader, text_embeds, finish=run.val_set.finish)
    number = epoch + 1  # epochs are numbered from 1 wherever they are shown or stored (epoch_N: after N epochs)
    entry = {"epoch": number, **summary.as_log(), "val_unreadable_videos": predictions.num_unreadable}
    if accelerator.is_main_process:
        report = evaluation_report(predictions, run.class_names, run.metric, num_views=1,
                                   source=f"DATA.VAL_FILE {config.DATA.VAL_FILE}")
        entry.update(val_top1=report["top1"], val_top5=report["top5"],
                     val_mean_class_accuracy=report["mean_class_accuracy"])
        logger.info("Epoch %d/%d: %s", number, config.TRAIN.EPOCHS, format_entry(entry))
        advice = input_pipeline_advice(summary.data_wait_fraction, accelerator.device)
        if advice and not run.warned_input_bound:
            run.warned_input_bound = True
            logger.warning("Epoch %d: %s", number, advice)
        if report["top1"] > state.best_top1:
            state.best_top1, state.best_epoch = report["top1"], number
            export_model(accelerator.unwrap_model(run.model, keep_torch_compile=False), output_dir / "best_model",
                         run.class_names, config, {"epoch": number, "top1": report["top1"], "top5": report["top5"]})
        plot_training_curves(output_dir, [*state.history, entry])
    # At the epoch's last iteration: trackers such as wandb take only steps that never decrease, and the per-iteration
    # metrics count iterations.
    accelerator.log({f"epoch/{key}": value for key, value in entry.items()}, step=run.step_log.last_iteration)
    state.epoch = number
    state.history.append(entry)
    if state.epoch % config.SAVE_FREQ == 0 or state.epoch == config.TRAIN.EPOCHS:
        save_training_state(accelerator, output_dir, state, config.SAVE_TOTAL_LIMIT, config_yaml=config.to_yaml())


def check_batches_per_epoch(config: ExperimentConfig, num_videos: int, num_processes: int) -> None:
    """Stops a run whose training list gives no full batch per process, or fewer batches than one accumulation cycle
    (no optimizer step would run: an epoch's incomplete accumulation is dropped, as in the original).

    Raises:
        ConfigError: naming the list, the numbers and the setting to lower.
    """
    batches_per_epoch = num_videos // (config.TRAIN.BATCH_SIZE * num_processes)  # an incomplete batch is dropped
    if batches_per_epoch == 0:
        raise ConfigError(
            f"The training list ({config.DATA.TRAIN_FILE}) has {num_videos} video(s): no full batch of "
            f"TRAIN.BATCH_SIZE {config.TRAIN.BATCH_SIZE} on each of {num_processes} process(es). Use a smaller batch "
            "or more videos."
        )
    if batches_per_epoch < config.TRAIN.ACCUMULATION_STEPS:
        raise ConfigError(
            f"The training list ({config.DATA.TRAIN_FILE}) gives {batches_per_epoch} batch(es) per epoch on each of "
            f"{num_processes} process(es), fewer than TRAIN.ACCUMULATION_STEPS {config.TRAIN.ACCUMULATION_STEPS}: "
            "no optimizer step would run (an epoch's incomplete accumulation is dropped, as in the original). Lower "
            "TRAIN.ACCUMULATION_STEPS or TRAIN.BATCH_SIZE."
        )


def log_optimizer_steps(config: ExperimentConfig, batches_per_epoch: int, num_processes: int) -> None:
    """What an optimizer step averages over, and the batches an epoch drops: the shipped configs' batch sizes assume
    the original's 8 GPUs."""
    accumulation = config.TRAIN.ACCUMULATION_STEPS
    logger.info(
        "%d videos per optimizer step: %d per process x %d accumulation step(s) x %d process(es)",
        config.TRAIN.BATCH_SIZE * accumulation * num_processes, config.TRAIN.BATCH_SIZE, accumulation, num_processes,
    )
    dropped = batches_per_epoch % accumulation
    if dropped:
        logger.info(
            "%d optimizer step(s) per epoch; the gradients of each epoch's last %d batch(es), short of a full "
            "accumulation, are dropped as in the original", batches_per_epoch // accumulation, dropped,
        )


def resume_training_state(
    accelerator: Accelerator, config: ExperimentConfig, checkpoint: Path, model: nn.Module
) -> TrainerState:
    """Loads `checkpoint` into the prepared objects (`model` among them) and returns its `TrainerState`; warns about
    settings that differ from the run that saved it. A checkpoint of another folder leaves its best model there: this
    folder's `best_model` and best score then start from this run's next evaluation, so that they always describe
    each other."""
    output_dir = Path(config.OUTPUT)
    state = load_training_state(accelerator, checkpoint, model)
    resumed_recipe = run_config_of(checkpoint)
    changes = changed_settings(resumed_recipe, config) if resumed_recipe is not None else []
    if changes and accelerator.is_main_process:
        logger.warning(
            "Resuming with other settings than the run of %s: %s. From epoch %d on, training follows the new "
            "settings (the LR schedule included).", checkpoint, "; ".join(changes), state.epoch + 1,
        )
    if not checkpoint.resolve().is_relative_to(output_dir.resolve()):
        earlier_best = checkpoint.parent.parent / BEST_MODEL_FOLDER  # OUTPUT/checkpoints/epoch_N -> OUTPUT/best_model
        where = f"; the earlier run's is in {earlier_best}" if checkpoint.parent.name == "checkpoints" and \
            earlier_best.is_dir() else ""
        logger.info("Resumed into %s from another folder's checkpoint: this folder's best_model comes from this run's "
                    "evaluations (the checkpoint's best so far: epoch %d%s)", output_dir, state.best_epoch, where)
        state.forget_best()
    return state


def train(accelerator: Accelerator, config: ExperimentConfig) -> dict[str, Any]:
    """Fine-tuning: every epoch (`run_epoch`) trains, evaluates a single view, exports the best model and saves the
    training state; the final model then gets the multi-view test."""
    output_dir = Path(config.OUTPUT)
    checkpoint = resume_folder(config, output_dir, training=True)
    replaced = earlier_run_outputs(config, checkpoint)
    model, class_names, metric = build_run(accelerator, config)

    # Every process draws the same K-shot list (if any) and writes it atomically into OUTPUT; the main process, which
    # created OUTPUT, goes first.
    with accelerator.main_process_first():
        train_records = training_records(config, output_dir)
    on_device = finishes_on_device(accelerator.device)
    train_set = build_train_dataset(config, train_records, finish_on_device=on_device)
    val_records = validation_records(config)
    train_loader = train_dataloader(train_set, config)
    val_set = build_eval_dataset(config, val_records, finish_on_device=on_device)
    val_loader = eval_dataloader(val_set, config)
    check_batches_per_epoch(config, len(train_set), accelerator.num_processes)
    start_output_folder(accelerator, config, replaced)

    optimizer = build_optimizer(model, config.TRAIN.LR, config.TRAIN.WEIGHT_DECAY)
    model, optimizer, train_loader, val_loader = accelerator.prepare(model, optimizer, train_loader, val_loader)
    log_optimizer_steps(config, len(train_loader), accelerator.num_processes)
    # Not passed to `prepare`: Accelerate would step it once per process per step; the original's schedule counts
    # per-process mini-batches and is independent of the number of processes.
    lr_schedule = build_lr_scheduler(
        optimizer, config.TRAIN.LR, len(train_loader), config.TRAIN.EPOCHS, config.TRAIN.WARMUP_EPOCHS
    )
    # Frozen text (MODEL.FIX_TEXT, or LoRA adapters elsewhere) is encoded once; trained text at every step.
    texts = ClassTexts(class_names, frozen=not text_tower_trains(accelerator.unwrap_model(model)))
    state = TrainerState() if checkpoint is None else resume_training_state(accelerator, config, checkpoint, model)
    step_log = StepLog(accelerator, output_dir, config.PRINT_FREQ, resumed_epochs=state.epoch)
    accelerator.init_trackers("xclip", config=tracker_hparams(config))

    run = TrainingRun(
        model=model,
        optimizer=optimizer,
        train_set=train_set,
        train_loader=train_loader,
        val_set=val_set,
        val_loader=val_loader,
        lr_schedule=lr_schedule,
        texts=texts,
        class_names=class_names,
        metric=metric,
        step_log=step_log,
    )
    for epoch in range(state.epoch, config.TRAIN.EPOCHS):
        run_epoch(accelerator, config, run, state, epoch)
    step_log.close()

    # The original ends every run with a 4-clip x 3-crop test of the final model.
    views = (config.TEST.FINAL_NUM_CLIP, config.TEST.FINAL_NUM_CROP) if config.TEST.MULTI_VIEW_AT_END else (1, 1)
    final = [ZeroShotSplit("final", class_names, val_records)]
    report = evaluate_splits(accelerator, model, config, final, views, metric)
    if accelerator.is_main_process:
        report.update(best_single_view={"top1": state.best_top1, "epoch": state.best_epoch}, history=state.history)
        write_json(output_dir / METRICS_FILE, report)
    return report


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs `scripts/train.py` with `argv` (the command line when None); returns what it writes to metrics.json.

    Raises:
        ImportError: a package of the `train` extras is missing (named, with the command that installs them).
    """
    check_training_extras()
    args = parse_args(argv)
    return run(config_from_args(args), args)


def run(config: ExperimentConfig, args: argparse.Namespace) -> dict[str, Any]:
    """Trains as `config` says, or evaluates with `TEST.ONLY_TEST`, with the runtime switches of `args` (see
    `add_runtime_arguments`); returns what it writes to metrics.json."""
    accelerator = build_accelerator(config, args)
    log_file = setup_logging(accelerator, Path(config.OUTPUT))
    try:
        return evaluate_only(accelerator, config) if config.TEST.ONLY_TEST else train(accelerator, config)
    except KeyboardInterrupt:
        if not config.TEST.ONLY_TEST:
            logger.warning("Interrupted. %s", interrupt_advice(Path(config.OUTPUT)))
        raise
    finally:
        accelerator.end_training()
        if log_file is not None:
            logging.getLogger("xclip").removeHandler(log_file)
            log_file.close()
