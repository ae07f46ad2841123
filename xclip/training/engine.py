"""The two loops of a run: one training epoch, and prediction over an evaluation set on every process."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..evaluation import aggregate_views
from ..modeling.modeling_xclip_classification import logits_per_view
from .blending import MixupCutmix, smoothed_one_hot, soft_target_cross_entropy
from .optimization import IterationLRSchedule
from .text import ClassTexts

__all__ = ["EpochSummary", "Predictions", "StepRecord", "batch_pixel_values", "predict", "train_one_epoch"]

logger = logging.getLogger(__name__)


@dataclass
class StepRecord:
    """One training iteration as logged: the loss is the mean over every process's mini-batch."""

    epoch: int  # numbered from 1, as everywhere a run shows or stores epochs
    iteration: int
    loss: float
    lr: float  # the LR that an optimizer step ending this mini-batch runs at


@dataclass
class EpochSummary:
    loss: float  # mean training loss of the epoch
    lr: float  # base-group LR after the epoch: the one the next epoch's first optimizer step runs at
    num_replaced: int  # unreadable training videos replaced by another, over all processes
    clips_per_second: float  # training clips over all processes per second of wall time
    # Share of the epoch (after the first batch, which also waits for the workers to start) that this process spent
    # waiting for the next batch: near 0 when the model is the bottleneck, near 1 when the input pipeline is.
    data_wait_fraction: float = 0.0

    def as_log(self) -> dict[str, float | int]:
        return {
            "train_loss": self.loss,
            "lr": self.lr,
            "train_clips_per_second": self.clips_per_second,
            "train_data_wait_fraction": self.data_wait_fraction,
            "train_replaced_videos": self.num_replaced,
        }


@dataclass
class Predictions:
    """Per-video results of an evaluation pass, gathered from every process, each video exactly once.

    Attributes:
        scores: `(N, K)` float64 (see `aggregate_views`), the per-view softmax probabilities summed over views.
        labels: `(N,)` int64 true classes.
        valid: `(N,)` bool, False for an unreadable video (its scores are meaningless and must be left out).
    """

    scores: torch.Tensor
    labels: torch.Tensor
    valid: torch.Tensor

    @property
    def num_unreadable(self) -> int:
        return int((~self.valid).sum())


class DataWait:
    """How long a loop waits for its batches: from asking for a batch to receiving it, from the second batch on (the
    first also waits for the loader workers to start)."""

    def __init__(self) -> None:
        self.waited = 0.0
        self.first_batch_at: float | None = None

    def batches(self, loader: Iterable[Any]) -> Iterator[Any]:
        """`loader`'s batches, timing each wait."""
        iterator = iter(loader)
        while True:
            asked_at = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                return
            received_at = time.perf_counter()
            if self.first_batch_at is None:
                self.first_batch_at = received_at
            else:
                self.waited += received_at - asked_at
            yield batch

    def fraction(self) -> float:
        """The share of the time since the first batch arrived spent waiting for the others: near 0 when the model is
        the bottleneck, near 1 when the input pipeline is."""
        elapsed = time.perf_counter() - self.first_batch_at if self.first_batch_at is not None else 0.0
        return self.waited / elapsed if elapsed > 0 else 0.0


def batch_pixel_values(batch: dict[str, Any]) -> torch.Tensor:
    """A batch's `pixel_values` as they are: the loops' `finish` for items finished by the loader workers."""
    return batch["pixel_values"]


def train_one_epoch(
    *,
    accelerator: Accelerator,
    model: nn.Module,
    dataloader: DataLoader,
    optimizer: torch.optim.Optimizer,
    lr_schedule: IterationLRSchedule,
    texts: ClassTexts,
    blending: MixupCutmix | None,
    label_smoothing: float,
    max_grad_norm: float,
    epoch: int,
    on_step: Callable[[StepRecord], None],
    finish: Callable[[dict[str, Any]], torch.Tensor] = batch_pixel_values,
) -> EpochSummary:
    """Trains for one pass over `dataloader` (prepared) with gradient accumulation through `accelerator`.

    As in the original, which zeroes the gradients when an epoch starts, the mini-batches after the epoch's last full
    accumulation cycle make no optimizer step: their gradients are dropped.

    Args:
        blending: Mixup/CutMix (with label smoothing inside), or None for plain label smoothing.
        max_grad_norm: > 0 clips the gradient norm before each optimizer step.
        on_step: called on every process after each iteration with its `StepRecord`.
        finish: turns each batch (on the device) into its `pixel_values`: `VideoClipDataset.finish` for a dataset
            built with `finish_on_device`; by default the batch's `pixel_values` as they are.
    """
    model.train()
    unwrapped = accelerator.unwrap_model(model)
    num_classes = len(texts)
    iterations = len(dataloader)
    accumulation_steps = accelerator.gradient_accumulation_steps
    stepping_iterations = iterations - iterations % accumulation_steps
    lr_schedule.set_iteration(lr_schedule.step_iteration_before(epoch, iterations, accumulation_steps))
    loss_sum = torch.zeros((), device=accelerator.device)
    replaced = torch.zeros((), dtype=torch.int64, device=accelerator.device)
    num_clips = 0
    started = time.perf_counter()
    data_wait = DataWait()
    progress = tqdm(data_wait.batches(dataloader), total=iterations, desc=f"epoch {epoch + 1}",
                    disable=not accelerator.is_local_main_process, leave=False)
    for batch_index, batch in enumerate(progress):
        iteration = epoch * iterations + batch_index
        lr = lr_schedule.get_last_lr()[0]  # the LR this mini-batch's step (if it ends a cycle) runs at
        videos, labels = finish(batch), batch["labels"]
        if blending is not None:
            videos, targets = blending(videos, labels)
        else:
            targets = smoothed_one_hot(labels, num_classes, label_smoothing)
        with accelerator.accumulate(model):
            logits = model(pixel_values=videos, **texts.training_inputs(unwrapped)).logits_per_video
            loss = soft_target_cross_entropy(logits, targets)
            accelerator.backward(loss)
            if batch_index < stepping_iterations:
                if max_grad_norm > 0 and accelerator.sync_gradients:
                    accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
                optimizer.step()
                if accelerator.sync_gradients:
                    lr_schedule.set_iteration(iteration)
            optimizer.zero_grad()  # only where gradients synchronise: after a step, and at the end of the epoch

        mean_loss = accelerator.reduce(loss.detach(), reduction="mean")
        loss_sum += mean_loss
        replaced += batch["replaced"].sum()
        num_clips += videos.shape[0] * accelerator.num_processes
        record = StepRecord(epoch + 1, iteration, float(mean_loss), lr)
        progress.set_postfix(loss=f"{record.loss:.4f}", lr=f"{record.lr:.2e}")
        on_step(record)  # its loss is a host value: the step's GPU work is done when the next batch is asked for
    return EpochSummary(
        loss=float(loss_sum) / iterations,
        lr=lr_schedule.get_last_lr()[0],
        num_replaced=int(accelerator.reduce(replaced, reduction="sum")),
        clips_per_second=num_clips / (time.perf_counter() - started),
        data_wait_fraction=data_wait.fraction(),
    )


@torch.no_grad()
def predict(
    accelerator: Accelerator,
    model: nn.Module,
    dataloader: DataLoader,
    text_embeds: torch.Tensor,
    desc: str = "eval",
    finish: Callable[[dict[str, Any]], torch.Tensor] = batch_pixel_values,
) -> Predictions:
    """Scores every video of a prepared evaluation `dataloader` against `text_embeds` `(K, E)`.

    Multi-view items (`pixel_values` `(B, V, T, 3, S, S)`) run as `B * V` clips whose softmax probabilities are
    summed per video. `gather_for_metrics` drops the samples Accelerate repeats to give every process an equal share,
    so each video is counted once. `finish` turns each batch (on the device) into its `pixel_values`, as in
    `train_one_epoch`.
    """
    was_training = model.training
    model.eval()
    scores, labels, valid = [], [], []
    for batch in tqdm(dataloader, desc=desc, disable=not accelerator.is_local_main_process, leave=False):
        view_logits, _ = logits_per_view(model, finish(batch), text_embeds)
        batch_scores = aggregate_views(view_logits)
        gathered = accelerator.gather_for_metrics(
            {"scores": batch_scores, "labels": batch["labels"], "valid": batch["valid"]}
        )
        scores.append(gathered["scores"].cpu())
        labels.append(gathered["labels"].cpu())
        valid.append(gathered["valid"].cpu().bool())
    model.train(was_training)
    return Predictions(torch.cat(scores), torch.cat(labels), torch.cat(valid))
