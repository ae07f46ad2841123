"""The original recipe on a tiny model: trainable parameters, the eight AdamW groups, the LR schedule,
Mixup/CutMix with label smoothing, the text-feature cache, LoRA and gradient checkpointing;
what an epoch trains on (label-smoothed targets, clipped gradients) and reports."""

import math
import types

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from xclip.training import ClassTexts, MixupCutmix, build_model, engine, load_config, smoothed_one_hot
from xclip.training.blending import soft_target_cross_entropy
from xclip.training.config import LoraSettings
from xclip.training.lora import add_lora_adapters, merged_copy
from xclip.training.model_setup import enable_gradient_checkpointing
from xclip.training.optimization import (
    build_lr_scheduler,
    build_optimizer,
    freeze_text_tower,
    parameter_groups,
    text_tower_trains,
)
from xclip.training.run import input_pipeline_advice

LR, WEIGHT_DECAY = 1e-3, 0.001
CLASSES = ["staying still", "moving sideways", "moving up and down"]


def tiny_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_model(load_config(opts=["MODEL.ARCH", "tiny", "DATA.INPUT_SIZE", "32", "DATA.NUM_FRAMES", "4"]))


def tiny_videos(batch: int = 2, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, 4, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def group_of(groups: list[dict], model, name: str) -> str:
    parameter = dict(model.named_parameters())[name]
    (found,) = (group["name"] for group in groups if any(p is parameter for p in group["params"]))
    return found


def test_fix_text_freezes_the_text_tower_and_logit_scale():
    model = tiny_model()
    frozen = set(freeze_text_tower(model))
    names = {name for name, _ in model.named_parameters()}
    expected = {n for n in names if n.startswith(("text_model.", "text_projection.")) or n == "logit_scale"}
    assert frozen == expected
    trainable = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
    assert trainable == names - expected
    assert {"visual_projection.weight", "prompts_visual_projection", "mit.position_embedding"} <= trainable


def test_eight_groups_with_10x_lr_for_xclip_parts_and_no_decay_rules():
    model = tiny_model()
    freeze_text_tower(model)
    groups = parameter_groups(model, LR, WEIGHT_DECAY)
    assert [group["name"] for group in groups] == [
        f"{part}/{decay}" for part in ("clip", "mit", "prompts", "message") for decay in ("decay", "no_decay")
    ]
    for group in groups:
        assert group["lr"] == (LR if group["name"].startswith("clip") else 10 * LR)
        assert group["weight_decay"] == (0.0 if group["name"].endswith("no_decay") else WEIGHT_DECAY)
    grouped = [id(p) for group in groups for p in group["params"]]
    trainable = [id(p) for p in model.parameters() if p.requires_grad]
    assert sorted(grouped) == sorted(trainable)  # every trainable parameter exactly once, frozen ones never

    expected = {
        "vision_model.embeddings.patch_embedding.weight": "clip/decay",
        "vision_model.embeddings.class_embedding": "clip/no_decay",  # 1-D
        "vision_model.embeddings.position_embedding.weight": "clip/no_decay",  # 2-D, but a position embedding
        "vision_model.encoder.layers.0.self_attn.q_proj.bias": "clip/no_decay",
        "vision_model.encoder.layers.0.mlp.fc1.weight": "clip/decay",
        "visual_projection.weight": "clip/decay",
        "vision_model.encoder.layers.1.message_fc.weight": "message/decay",
        "vision_model.encoder.layers.1.message_ln.weight": "message/no_decay",
        "vision_model.encoder.layers.0.message_attn.k_proj.weight": "message/decay",
        "mit.position_embedding": "mit/no_decay",  # 3-D position embedding
        "mit.encoder.layers.0.mlp.fc2.weight": "mit/decay",
        "prompts_visual_projection": "prompts/decay",
        "prompts_visual_layernorm.bias": "prompts/no_decay",
        "prompts_generator.alpha": "prompts/no_decay",
        "prompts_generator.decoder.1.cross_attn.q_proj.weight": "prompts/decay",
    }
    assert {name: group_of(groups, model, name) for name in expected} == expected


def test_trainable_text_puts_logit_scale_in_a_decay_group_as_the_original():
    model = tiny_model()  # FIX_TEXT=False: nothing frozen
    groups = parameter_groups(model, LR, WEIGHT_DECAY)
    assert group_of(groups, model, "logit_scale") == "clip/decay"  # 0-D escapes the original's 1-D rule
    assert group_of(groups, model, "text_model.embeddings.position_embedding.weight") == "clip/no_decay"
    assert group_of(groups, model, "text_projection.weight") == "clip/decay"


def test_adamw_settings():
    model = tiny_model()
    freeze_text_tower(model)
    optimizer = build_optimizer(model, LR, WEIGHT_DECAY)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["betas"] == (0.9, 0.98) and optimizer.defaults["eps"] == 1e-8
    with pytest.raises(ValueError, match="Nothing to train"):
        build_optimizer(torch.nn.Linear(2, 2).requires_grad_(False), LR, WEIGHT_DECAY)


def test_warmup_cosine_schedule_per_iteration_over_all_groups():
    parameters = [torch.nn.Parameter(torch.zeros(1)) for _ in range(2)]
    optimizer = torch.optim.AdamW([{"params": [parameters[0]], "lr": LR}, {"params": [parameters[1]], "lr": 10 * LR}])
    schedule = build_lr_scheduler(optimizer, LR, iterations_per_epoch=10, epochs=5, warmup_epochs=1)
    lr_min = LR / 100

    def lrs(iteration):
        schedule.set_iteration(iteration)
        return schedule.get_last_lr()

    assert lrs(0) == [0.0, 0.0]  # warm-up starts from 0
    assert lrs(5) == pytest.approx([LR / 2, 10 * LR / 2])  # linear
    # After warm-up the cosine runs over the whole 50 iterations, warm-up included (timm, t_in_epochs=False).
    for iteration in (10, 25, 49):
        cosine = 0.5 * (1 + math.cos(math.pi * iteration / 50))
        assert lrs(iteration) == pytest.approx([lr_min + (base - lr_min) * cosine for base in (LR, 10 * LR)])
    assert lrs(50) == pytest.approx([lr_min, lr_min])  # the same floor for the 10x groups
    assert lrs(10)[0] < LR  # the cosine has already decayed when the warm-up ends
    with pytest.raises(ValueError, match="batches per epoch"):
        build_lr_scheduler(optimizer, LR, iterations_per_epoch=0, epochs=5, warmup_epochs=1)


def test_label_smoothing_targets_and_soft_target_loss():
    labels = torch.tensor([2, 0])
    targets = smoothed_one_hot(labels, num_classes=4, smoothing=0.1)
    torch.testing.assert_close(targets[0], torch.tensor([0.025, 0.025, 0.925, 0.025]))
    torch.testing.assert_close(targets.sum(1), torch.ones(2))
    logits = torch.randn(2, 4)
    plain = smoothed_one_hot(labels, 4, 0.0)
    expected = torch.nn.functional.cross_entropy(logits, labels)
    torch.testing.assert_close(soft_target_cross_entropy(logits, plain), expected)


def constant_videos(batch: int) -> torch.Tensor:
    """Video i is filled with the value i, so every pixel tells which video it comes from."""
    return torch.arange(batch, dtype=torch.float32).view(batch, 1, 1, 1, 1).expand(batch, 4, 3, 16, 20).clone()


def test_cutmix_pastes_one_box_through_all_frames_and_weights_labels_by_its_area():
    """Seeded: 9 of these 10 batches draw a box (the other an empty one), of areas from 1 % to 69 % of the frame."""
    blending = MixupCutmix(6, smoothing=0.0, mixup_alpha=0.0, cutmix_alpha=1.0, rng=np.random.default_rng(3))
    videos, labels = constant_videos(6), torch.arange(6)
    pasted_areas = []
    for _ in range(10):
        mixed, targets = blending(videos, labels)
        pasted = mixed != videos  # [B, T, C, H, W]
        assert (pasted == pasted[:, :1, :1]).all()  # the same box in every frame and channel
        torch.testing.assert_close(targets.sum(1), torch.ones(6))
        box = pasted[:, 0, 0].any(0)  # [H, W]: the batch's one box, seen in every video whose partner is another
        assert torch.equal(box, box.any(1)[:, None] & box.any(0)[None, :])  # a rectangle
        area = box.float().mean().item()  # lambda follows the box actually pasted (clipped at the borders)
        for sample in range(6):
            if not pasted[sample, 0, 0].any():  # its own partner, or an empty box: the label is unchanged
                assert targets[sample, sample] == 1.0
                continue
            assert torch.equal(pasted[sample, 0, 0], box)
            (partner,) = mixed[sample, 0, 0][box].unique().long().tolist()
            assert targets[sample, partner].item() == pytest.approx(area, abs=1e-6)
            assert targets[sample, sample].item() == pytest.approx(1 - area, abs=1e-6)
        if box.any():
            pasted_areas.append(area)
    assert len(pasted_areas) >= 8 and min(pasted_areas) < 0.05 and max(pasted_areas) > 0.5, pasted_areas


def test_mixup_blends_videos_and_targets_with_the_same_weight():
    blending = MixupCutmix(5, smoothing=0.1, mixup_alpha=0.8, cutmix_alpha=0.0, rng=np.random.default_rng(0))
    videos, labels = constant_videos(5), torch.arange(5)
    mixed, targets = blending(videos, labels)
    assert torch.equal(mixed, mixed[:, :1, :1, :1, :1].expand_as(mixed))  # whole videos are blended
    torch.testing.assert_close(targets.sum(1), torch.ones(5))
    weights = (targets - 0.1 / 5) / (1 - 0.1)  # the blend weight of each source video, smoothing undone
    torch.testing.assert_close(mixed[:, 0, 0, 0, 0], weights @ torch.arange(5.0), atol=1e-5, rtol=0)
    assert not torch.equal(targets, smoothed_one_hot(labels, 5, 0.1))


def test_switch_prob_chooses_between_cutmix_and_mixup():
    videos, labels = constant_videos(4), torch.arange(4)
    kinds = []
    blending = MixupCutmix(4, mixup_alpha=0.8, cutmix_alpha=1.0, switch_prob=0.5, rng=np.random.default_rng(1))
    for _ in range(200):
        mixed, _ = blending(videos, labels)
        is_integer = torch.equal(mixed, mixed.round())  # CutMix copies pixels, Mixup blends them
        kinds.append(is_integer)
    assert 60 < sum(kinds) < 140


def test_frozen_text_is_encoded_once_and_trainable_text_every_step(monkeypatch):
    model = tiny_model()
    calls = []
    original = model.get_text_features
    monkeypatch.setattr(model, "get_text_features", lambda *a, **k: calls.append(1) or original(*a, **k))
    frozen = ClassTexts(CLASSES, frozen=True)
    first = frozen.training_inputs(model)["text_embeds"]
    for _ in range(3):
        assert frozen.training_inputs(model)["text_embeds"] is first
    assert len(calls) == 1
    assert model.training  # encoding in eval mode does not leave the model there (the original's quirk)
    # The cached features give the logits the texts themselves give.
    tokens = ClassTexts(CLASSES, frozen=False).training_inputs(model)
    model.eval()
    with torch.no_grad():
        cached = model(pixel_values=tiny_videos(), text_embeds=first).logits_per_video
        encoded = model(pixel_values=tiny_videos(), **tokens).logits_per_video
    torch.testing.assert_close(cached, encoded)
    assert set(tokens) == {"input_ids", "attention_mask"}


def test_lora_adapters_train_take_effect_and_merge():
    model = tiny_model()
    peft_model = add_lora_adapters(model, LoraSettings(ENABLE=True, R=4))
    trainable = {name for name, parameter in peft_model.named_parameters() if parameter.requires_grad}
    assert any(".q_proj.lora_A." in name for name in trainable)  # the default targets include q/k/v
    assert any("mit." in name for name in trainable) and any("message_fc" in name for name in trainable)
    assert not any("text_model" in name for name in trainable)
    assert not any(name.endswith("q_proj.base_layer.weight") for name in trainable)
    videos, texts = tiny_videos(), ClassTexts(CLASSES, frozen=True)
    peft_model.eval()  # no LoRA dropout
    with torch.no_grad():
        before = peft_model(pixel_values=videos, **texts.training_inputs(peft_model)).logits_per_video
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name and ".q_proj." in name:  # LoRA starts with B = 0; make only q_proj's adapters act
                parameter.normal_(std=0.5)
        after = peft_model(pixel_values=videos, **texts.training_inputs(peft_model)).logits_per_video
        merged = merged_copy(peft_model).eval()
        merged_logits = merged(pixel_values=videos, **texts.training_inputs(merged)).logits_per_video
    assert (after - before).abs().max() > 1e-3  # the frame encoder's fused q/k/v does not bypass the adapters
    torch.testing.assert_close(merged_logits, after, atol=1e-4, rtol=0)
    assert type(merged).__name__ == "XCLIPModel"
    assert any("lora_A" in name for name, _ in peft_model.named_parameters())  # the training model keeps adapters
    with pytest.raises(ValueError, match="TARGET_MODULES"):
        add_lora_adapters(tiny_model(), LoraSettings(ENABLE=True, TARGET_MODULES=["no_such_layer"]))


def test_gradient_checkpointing_gives_the_same_loss_and_gradients():
    texts = ClassTexts(CLASSES, frozen=True)
    results = []
    for checkpointing in (False, True):
        model = tiny_model()
        if checkpointing:
            enable_gradient_checkpointing(model)
        # transformers' own test of whether checkpointing is on (under either name of the property)
        assert any(getattr(module, "gradient_checkpointing", False) for module in model.modules()) == checkpointing
        model.train()
        output = model(pixel_values=tiny_videos(), labels=torch.tensor([0, 2]), **texts.training_inputs(model))
        output.loss.backward()
        results.append((output.loss.detach(), model.vision_model.embeddings.patch_embedding.weight.grad.clone()))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])


def test_text_is_re_encoded_only_when_some_text_parameter_trains():
    frozen = tiny_model()
    freeze_text_tower(frozen)
    assert not text_tower_trains(frozen) and text_tower_trains(tiny_model())
    assert not text_tower_trains(add_lora_adapters(tiny_model(), LoraSettings(ENABLE=True)))
    text_adapters = LoraSettings(ENABLE=True, TARGET_MODULES=r".*text_model.*\.q_proj")
    assert text_tower_trains(add_lora_adapters(tiny_model(), text_adapters))


def tiny_batch(seed: int = 0) -> dict[str, torch.Tensor]:
    return {"pixel_values": tiny_videos(seed=seed), "labels": torch.tensor([0, 2]),
            "replaced": torch.zeros(2, dtype=torch.int64)}


def train_tiny_epoch(model, batches, optimizer, **options) -> engine.EpochSummary:
    """One `train_one_epoch` on the CPU over `batches` (anything with a length), at a constant LR, on the frozen class
    texts, without Mixup; `options` override the other arguments (label smoothing 0.1, no clipping)."""
    constant_lr = types.SimpleNamespace(
        set_iteration=lambda iteration: None, get_last_lr=lambda: [0.0], step_iteration_before=lambda *args: 0
    )
    arguments = dict(
        accelerator=Accelerator(cpu=True), model=model, dataloader=batches, optimizer=optimizer,
        lr_schedule=constant_lr, texts=ClassTexts(CLASSES, frozen=True), blending=None, label_smoothing=0.1,
        max_grad_norm=0.0, epoch=0, on_step=lambda record: None,
    )
    return engine.train_one_epoch(**{**arguments, **options})


def test_an_epoch_reports_the_share_of_time_spent_waiting_for_batches(monkeypatch, fresh_accelerate_state):
    """On a clock that only the loader (3 s per batch) and the step (1 s) move, the wait after the first batch is
    3 x 3 s of the 3 x 3 + 4 x 1 s that follow it."""
    clock = types.SimpleNamespace(now=0.0)
    monkeypatch.setattr(engine, "time", types.SimpleNamespace(perf_counter=lambda: clock.now))

    class SlowLoader:
        def __len__(self):
            return 4

        def __iter__(self):
            for _ in range(4):
                clock.now += 3.0
                yield tiny_batch()

    model = tiny_model()
    summary = train_tiny_epoch(
        model, SlowLoader(), torch.optim.SGD(model.parameters(), lr=0.0),
        on_step=lambda record: setattr(clock, "now", clock.now + 1.0),
    )
    assert summary.data_wait_fraction == pytest.approx(9 / 13)
    assert summary.clips_per_second == pytest.approx(8 / 16)
    assert summary.as_log()["train_data_wait_fraction"] == summary.data_wait_fraction


def test_an_epoch_trains_on_label_smoothed_targets_and_reports_their_mean_loss(fresh_accelerate_state):
    model = tiny_model()
    logits = []  # what the model gave the loop, whatever the loop then did with it
    model.register_forward_hook(lambda module, inputs, output: logits.append(output.logits_per_video.detach()))
    batches = [tiny_batch(seed) for seed in range(3)]
    summary = train_tiny_epoch(model, batches, torch.optim.SGD(model.parameters(), lr=0.0), label_smoothing=0.1)
    assert len(logits) == len(batches)

    def mean_soft_cross_entropy(smoothing: float) -> float:
        """The epoch's loss against targets of `smoothing / K` on every class plus `1 - smoothing` on the true one."""
        losses = []
        for batch_logits, batch in zip(logits, batches):
            targets = torch.full(batch_logits.shape, smoothing / len(CLASSES))
            targets[torch.arange(len(targets)), batch["labels"]] += 1 - smoothing
            losses.append(-(targets * batch_logits.log_softmax(1)).sum(1).mean())
        return torch.stack(losses).mean().item()

    assert summary.loss == pytest.approx(mean_soft_cross_entropy(0.1), rel=1e-5)
    assert abs(mean_soft_cross_entropy(0.1) - mean_soft_cross_entropy(0.0)) > 0.01  # the smoothing shows in the loss


def test_max_grad_norm_clips_the_gradients_the_optimizer_steps_with(fresh_accelerate_state):
    def gradients_at_the_step(max_grad_norm: float) -> torch.Tensor:
        """All gradients of the step of a one-batch epoch, as the optimizer saw them, flattened into one vector."""
        model = tiny_model()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # the model stays as it is for the next call
        seen = []
        inner_step = optimizer.step

        def recording_step(*args, **kwargs):
            seen.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))
            return inner_step(*args, **kwargs)

        optimizer.step = recording_step
        train_tiny_epoch(model, [tiny_batch()], optimizer, max_grad_norm=max_grad_norm)
        (gradients,) = seen
        return gradients

    unclipped = gradients_at_the_step(0.0)  # TRAIN.MAX_GRAD_NORM 0: no clipping
    norm = unclipped.norm().item()
    assert norm > 0
    torch.testing.assert_close(gradients_at_the_step(norm / 4), unclipped / 4, rtol=1e-4, atol=1e-9)
    torch.testing.assert_close(gradients_at_the_step(norm * 4), unclipped)  # under the bound: left as they are


def test_accumulation_and_lr_per_optimizer_step_as_in_the_original(fresh_accelerate_state):
    """5 mini-batches an epoch with 2 accumulation steps: 2 optimizer steps an epoch, after mini-batches 1 and 3. The
    5th mini-batch's gradients are dropped (the original zeroes the gradients when an epoch starts), not applied as a
    third, partial step. Each step runs at the LR timm's `step_update` set after the previous step: 0 (warm-up) for
    the first, then that of iterations 1, 3 (the last step of epoch 1) and 6."""
    accelerator = Accelerator(cpu=True, gradient_accumulation_steps=2)
    items = [
        {"pixel_values": tiny_videos(1, seed)[0], "labels": torch.tensor(seed % 3), "replaced": torch.tensor(0)}
        for seed in range(10)
    ]
    model = tiny_model()
    model, optimizer, loader = accelerator.prepare(
        model, torch.optim.AdamW(model.parameters(), lr=LR), torch.utils.data.DataLoader(items, batch_size=2)
    )
    lr_schedule = build_lr_scheduler(optimizer, LR, iterations_per_epoch=5, epochs=2, warmup_epochs=1)
    step_lrs = []
    inner_step = optimizer.optimizer.step

    def recording_step(*args, **kwargs):
        step_lrs.append(optimizer.optimizer.param_groups[0]["lr"])
        return inner_step(*args, **kwargs)

    optimizer.optimizer.step = recording_step
    for epoch in range(2):
        engine.train_one_epoch(
            accelerator=accelerator, model=model, dataloader=loader, optimizer=optimizer, lr_schedule=lr_schedule,
            texts=ClassTexts(CLASSES, frozen=True), blending=None, label_smoothing=0.1, max_grad_norm=1.0,
            epoch=epoch, on_step=lambda record: None,
        )
        assert all(parameter.grad is None or not parameter.grad.any() for parameter in model.parameters())
    lr_min = LR / 100
    cosine_at_6 = lr_min + (LR - lr_min) * 0.5 * (1 + math.cos(math.pi * 6 / 10))
    assert step_lrs == pytest.approx([0.0, LR / 5, 3 * LR / 5, cosine_at_6])
    assert {int(state["step"]) for state in optimizer.optimizer.state.values()} == {4}


def test_an_input_bound_epoch_on_a_gpu_gets_advice():
    advice = input_pipeline_advice(0.45, torch.device("cuda", 0))
    assert "45%" in advice and "xclip prepare" in advice and "DATA.NUM_WORKERS" in advice
    assert input_pipeline_advice(0.2, torch.device("cuda", 0)) is None
    assert input_pipeline_advice(0.45, torch.device("cpu")) is None  # the loader and the model share the cores
