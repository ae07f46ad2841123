"""The training script on a CUDA device: fp16 (gradient scaling) and bf16 autocast, fused AdamW, activation
checkpointing, torch.compile and LoRA. Skipped without a GPU."""

import importlib
import math

import pytest
import torch
from accelerate.state import AcceleratorState, GradientState

from xclip.training import ClassTexts, build_optimizer, make_motion_dataset
from xclip.training.model_setup import enable_gradient_checkpointing
from xclip.training.reporting import StepLog
from test_train_script import run
from test_training_recipe import CLASSES, tiny_model

training_run = importlib.import_module("xclip.training.run")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
    pytest.mark.usefixtures("fresh_accelerate_state"),
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    make_motion_dataset(root, 4, split="train", seed=0)
    make_motion_dataset(root, 2, split="val", seed=1)
    return root


def losses(output):
    return [step.loss for step in StepLog.read(output)]


def test_fused_adamw_on_cuda():
    optimizer = build_optimizer(tiny_model().cuda(), 1e-3, 0.001)
    assert optimizer.defaults["fused"] is True


def test_trained_class_texts_reach_the_gpu_once():
    model = tiny_model().cuda()
    texts = ClassTexts(CLASSES, frozen=False)
    first = texts.training_inputs(model)
    assert first["input_ids"].is_cuda and first["attention_mask"].is_cuda
    assert texts.training_inputs(model)["input_ids"] is first["input_ids"]  # no host-to-device copy per step


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_mixed_precision_with_activation_checkpointing(tmp_path, toy, precision, monkeypatch):
    built = {}  # what the run really used: finite losses alone would not show that either switch was on
    build_accelerator = training_run.build_accelerator

    def recording_build_accelerator(*args):
        built["accelerator"] = build_accelerator(*args)
        return built["accelerator"]

    def recording_checkpointing(model):
        built["checkpointed"] = model
        enable_gradient_checkpointing(model)

    monkeypatch.setattr(training_run, "build_accelerator", recording_build_accelerator)
    monkeypatch.setattr(training_run, "enable_gradient_checkpointing", recording_checkpointing)
    report = run(tmp_path, toy, "TRAIN.EPOCHS", "3", "TRAIN.BATCH_SIZE", "4", "TRAIN.USE_CHECKPOINT", "True",
                 "AUG.MIXUP", "0.8", flags=("--log_with", "none", "--mixed_precision", precision))
    values = losses(tmp_path)
    assert len(values) == 12 and all(math.isfinite(value) for value in values)
    assert report["num_videos"] == 8
    accelerator = built["accelerator"]
    assert accelerator.mixed_precision == precision
    assert (accelerator.scaler is not None) == (precision == "fp16")  # fp16 scales its gradients, bf16 needs not
    assert built["checkpointed"].is_gradient_checkpointing


def test_compiled_model_trains_like_the_eager_one(tmp_path, toy):
    recipe = ("TRAIN.EPOCHS", "1", "TRAIN.BATCH_SIZE", "4", "TEST.MULTI_VIEW_AT_END", "False")
    run(tmp_path / "eager", toy, *recipe, flags=("--log_with", "none", "--mixed_precision", "no"))
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    run(tmp_path / "compiled", toy, *recipe, "TRAIN.COMPILE", "True",
        flags=("--log_with", "none", "--mixed_precision", "no"))
    eager, compiled = losses(tmp_path / "eager"), losses(tmp_path / "compiled")
    assert len(eager) == len(compiled) == 4
    assert max(abs(a - b) for a, b in zip(eager, compiled)) < 1e-2, (eager, compiled)


def test_lora_with_bf16(tmp_path, toy):
    report = run(tmp_path, toy, "TRAIN.EPOCHS", "2", "TRAIN.BATCH_SIZE", "4", "MODEL.LORA.ENABLE", "True",
                 "TRAIN.LR", "1e-3", flags=("--log_with", "none", "--mixed_precision", "bf16"))
    assert all(math.isfinite(value) for value in losses(tmp_path))
    assert (tmp_path / "best_model" / "model.safetensors").is_file() and report["num_videos"] == 8
