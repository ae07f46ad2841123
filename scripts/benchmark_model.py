"""Throughput and memory of xclip's X-CLIP against transformers' built-in port, in one run with the same weights.

Cases, per geometry (B/32 8f, B/16 8f, B/16 32f, L/14 8f; 224 px):
- zero-shot evaluation over N class texts: the peer runs its full forward as its documentation shows (texts
  padded to 77 tokens and re-encoded for every batch, bf16 autocast); xclip encodes the labels once and runs
  bf16 weights through `torch.compile` (several compile modes can be compared);
- the video path alone (`get_video_features`), for the peer also in the "savvy user" setting (bf16 weights +
  torch.compile);
- a training step: the peer with everything trainable and all class texts re-encoded each step; xclip with the
  original recipe (frozen text tower and logit scale, label features cached), both AdamW and bf16 autocast.

Reports clips/s, peak GPU memory and MFU (model FLOPs over the measured bf16 matrix-product rate of the same card),
writes JSON, and appends a markdown table with machine and versions to BENCHMARKS.md.

    python scripts/benchmark_model.py                       # GPU, all geometries and cases
    python scripts/benchmark_model.py --plan cpu            # CPU: B/32 and B/16 8f at small batches, fp32 and bf16
    python scripts/benchmark_model.py --tiny --device cpu   # smoke test with tiny shapes (CI)
"""

import argparse
import contextlib
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import transformers

import xclip

from xclip import XCLIPConfig, XCLIPModel
from xclip.training.model_setup import ARCHITECTURES
from xclip.training.optimization import build_optimizer, freeze_text_tower


@dataclass(frozen=True)
class Geometry:
    name: str
    arch: str  # MODEL.ARCH
    frames: int
    gmac_per_view: float  # the paper's figure, multiply-accumulates per 224 px view
    batch: dict = field(default_factory=dict)  # per case
    image_size: int = 224


GEOMETRIES = {
    "b32-8": Geometry("B/32 8f", "ViT-B/32", 8, 39, {"zero_shot": 64, "video": 64, "train": 32}),
    "b16-8": Geometry("B/16 8f", "ViT-B/16", 8, 145, {"zero_shot": 32, "video": 64, "train": 16}),
    "b16-32": Geometry("B/16 32f", "ViT-B/16", 32, 571, {"zero_shot": 8, "video": 8, "train": 4}),
    "l14-8": Geometry("L/14 8f", "ViT-L/14", 8, 658, {"zero_shot": 16, "video": 16, "train": 8}),
    "tiny": Geometry("tiny", "tiny", 4, 0.01, {"zero_shot": 2, "video": 2, "train": 2}, 32),
}


def build_config(geometry: Geometry) -> XCLIPConfig:
    return ARCHITECTURES[geometry.arch].xclip_geometry(geometry.frames, geometry.image_size).to_config()


def build_models(geometry: Geometry, device: torch.device) -> tuple[XCLIPModel, transformers.XCLIPModel]:
    """Ours with random weights, and transformers' port holding exactly the same weights (fp32, sdpa)."""
    torch.manual_seed(0)
    config = build_config(geometry)
    with device:  # initialise on the device: full-size random init on CPU takes longer than the measurement
        ours = XCLIPModel(config)
        theirs = transformers.XCLIPModel(transformers.XCLIPConfig.from_dict(config.to_dict()))
    missing, unexpected = theirs.load_state_dict(ours.state_dict(), strict=False)
    if [key for key in missing if not key.endswith("position_ids")] or unexpected:
        raise RuntimeError(f"weights do not transfer to transformers' port: {missing} {unexpected}")
    for model in (ours, theirs):
        model.set_attn_implementation("sdpa")
    return ours.to(device).eval(), theirs.to(device).eval()


def class_texts(num_classes: int, vocab_size: int, context: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Label-like token ids padded to `context` with zeros (the original tokenizer), 2-6 words each."""
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.zeros(num_classes, context, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    lengths = torch.randint(2, 7, (num_classes,), generator=generator)
    for row, length in enumerate(lengths.tolist()):
        words = torch.randint(1, vocab_size - 2, (length,), generator=generator)
        input_ids[row, : length + 2] = torch.cat(
            [torch.tensor([vocab_size - 2]), words, torch.tensor([vocab_size - 1])]
        )
        attention_mask[row, : length + 2] = 1
    return input_ids, attention_mask


def trim_padding(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    longest = int(attention_mask.sum(1).max())
    return input_ids[:, :longest], attention_mask[:, :longest]


class Timer:
    """Times a callable on the device: warm-ups, then the mean and spread of timed calls."""

    def __init__(self, device: torch.device, warmup: int, iters: int):
        self.device, self.warmup, self.iters = device, warmup, iters

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def __call__(self, fn) -> dict:
        first = time.perf_counter()
        fn()
        self.sync()
        first_call_s = time.perf_counter() - first
        for _ in range(self.warmup - 1):
            fn()
        self.sync()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(self.iters):
            start = time.perf_counter()
            fn()
            self.sync()
            times.append(time.perf_counter() - start)
        peak = torch.cuda.max_memory_allocated() / 2**30 if self.device.type == "cuda" else None
        return {"ms": 1e3 * statistics.mean(times), "ms_stdev": 1e3 * statistics.pstdev(times),
                "first_call_s": first_call_s, "peak_gib": peak}


def measure_matmul_tflops(device: torch.device) -> float:
    """The device's dense bf16 matrix-product rate on random data: the MFU denominator."""
    size = 8192 if device.type == "cuda" else 2048
    a, b = (torch.randn(size, size, device=device, dtype=torch.bfloat16) for _ in range(2))
    timing = Timer(device, warmup=3, iters=10)(lambda: a @ b)
    return 2 * size**3 / (timing["ms"] / 1e3) / 1e12


def autocast(device: torch.device):
    return torch.autocast(device.type, dtype=torch.bfloat16)


def compiled(fn, mode: str):
    """`fn` under torch.compile: `none`, `default`, a torch.compile mode, `gemm-autotune` (Triton GEMM templates
    with fused epilogues and CUDA graphs, without max-autotune's slower pointwise tuning) or `coordesc` (CUDA graphs
    and coordinate-descent tuning of the fused pointwise and normalisation kernels)."""
    if mode == "none":
        return fn
    if mode == "gemm-autotune":
        return torch.compile(fn, dynamic=False, options={"max_autotune_gemm": True, "triton.cudagraphs": True})
    if mode == "coordesc":
        return torch.compile(fn, dynamic=False, options={"coordinate_descent_tuning": True, "triton.cudagraphs": True})
    return torch.compile(fn, dynamic=False, mode=None if mode == "default" else mode)


def attention_backend(name: str):
    """`default` leaves SDPA's own choice (flash attention on Hopper); `cudnn` prefers cuDNN's fused attention."""
    if name == "default":
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.CUDNN_ATTENTION, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION])


KERNEL_KINDS = (  # first match wins; names of cuBLAS, cuDNN, CUTLASS, flash attention and Inductor's Triton kernels
    ("attention", ("flash", "fmha", "attention", "attn")),
    ("convolution", ("conv", "fprop", "nchwtonhwc", "implicit")),
    ("matrix product", ("gemm", "nvjet", "xmma", "cutlass", "cublas", "matmul", "addmm", "aten::mm", "bmm", "sm90")),
    ("normalisation (fused)", ("red_fused", "per_fused", "layer_norm", "welford")),
    ("pointwise (fused)", ("poi_fused", "elementwise", "vectorized")),
    ("copy", ("copy", "memcpy", "memset", "cat")),
)


def kernel_kind(name: str) -> str:
    return next((kind for kind, marks in KERNEL_KINDS if any(mark in name.lower() for mark in marks)), "other")


def kernel_breakdown(fn, device: torch.device, calls: int = 5) -> dict:
    """Device time of one call by kernel kind, and its ten costliest kernels (profiler over `calls` calls; on CPU
    the operators take the kernels' place)."""
    from torch.profiler import ProfilerActivity, profile

    on_gpu = device.type == "cuda"
    with profile(activities=[ProfilerActivity.CUDA if on_gpu else ProfilerActivity.CPU]) as profiler:
        for _ in range(calls):
            fn()
        if on_gpu:
            torch.cuda.synchronize()
    self_time = (lambda event: event.self_device_time_total) if on_gpu else (lambda event: event.self_cpu_time_total)
    kernels = [(event.key, self_time(event) / calls / 1e3, event.count // calls)
               for event in profiler.key_averages() if self_time(event) > 0]
    by_kind = {}
    for name, ms, _ in kernels:
        by_kind[kernel_kind(name)] = by_kind.get(kernel_kind(name), 0.0) + ms
    top = sorted(kernels, key=lambda kernel: -kernel[1])[:10]
    return {"ms_per_call": sum(ms for _, ms, _ in kernels), "kernels_per_call": sum(n for *_, n in kernels),
            "ms_by_kind": dict(sorted(by_kind.items(), key=lambda item: -item[1])),
            "top_kernels": [{"name": name[:120], "ms": ms, "launches": n} for name, ms, n in top]}


@dataclass
class Bench:
    """What every case shares: where it runs, how it times, and the rows it reports."""

    device: torch.device
    num_classes: int
    timer: Timer
    tflops: float | None
    results: list[dict] = field(default_factory=list)

    def record(self, geometry: Geometry, case: str, variant: str, batch: int, timing: dict) -> None:
        clips_per_s = batch / (timing["ms"] / 1e3)
        mfu = clips_per_s * 2 * geometry.gmac_per_view * 1e9 / (self.tflops * 1e12) if self.tflops else None
        if case == "train" and mfu is not None:
            mfu *= 3  # forward + backward of the video path
        row = dict(geometry=geometry.name, case=case, variant=variant, batch=batch, clips_per_s=clips_per_s, mfu=mfu,
                   **timing)
        self.results.append(row)
        peak = f"{row['peak_gib']:.1f} GiB" if row["peak_gib"] is not None else "-"
        print(f"  {case:9s} {variant:42s} batch {batch:3d}  {clips_per_s:9.1f} clips/s  {timing['ms']:8.2f} ms  "
              f"{peak}", flush=True)
        if "profile" in timing:
            kinds = ", ".join(f"{kind} {ms:.2f}" for kind, ms in timing["profile"]["ms_by_kind"].items())
            count = timing["profile"]["kernels_per_call"]
            print(f"    device ms per call by kernel kind ({count} kernels): {kinds}", flush=True)


def zero_shot_case(bench: Bench, geometry: Geometry, ours: XCLIPModel, theirs: transformers.XCLIPModel, *,
                   modes: tuple[str, ...] = ("default",), peer: bool = True, batch_scales: tuple[int, ...] = (1,),
                   attention: str = "default", profile: bool = False, batch: int | None = None, fp32: bool = False,
                   **_) -> None:
    """`fp32` also runs xclip in float32 (uncompiled): on CPUs without fast bf16 it can be the faster choice."""
    batch = batch or geometry.batch["zero_shot"]
    vision = ours.config.vision_config
    videos = torch.randn(batch * max(batch_scales), geometry.frames, 3, vision.image_size, vision.image_size,
                         device=bench.device)
    ids77, mask77 = (t.to(bench.device) for t in class_texts(bench.num_classes, ours.config.text_config.vocab_size, 77))

    if peer:
        with torch.inference_mode(), autocast(bench.device):
            timing = bench.timer(lambda: theirs(input_ids=ids77, attention_mask=mask77, pixel_values=videos[:batch]))
        bench.record(geometry, "zero_shot", "transformers (bf16 autocast, texts each batch)", batch, timing)

    if fp32:
        with torch.inference_mode():
            text_embeds = ours.get_text_features(*trim_padding(ids77, mask77)).pooler_output
            timing = bench.timer(lambda: ours(pixel_values=videos[:batch], text_embeds=text_embeds))
        bench.record(geometry, "zero_shot", "xclip (fp32, labels cached)", batch, timing)

    ours_bf16 = ours.to(torch.bfloat16)
    videos_bf16 = videos.to(torch.bfloat16)
    with torch.inference_mode():
        text_timing = bench.timer(lambda: ours_bf16.get_text_features(*trim_padding(ids77, mask77)))
        text_embeds = ours_bf16.get_text_features(*trim_padding(ids77, mask77)).pooler_output
    bench.results.append(dict(geometry=geometry.name, case="text_encode",
                              variant=f"xclip, {bench.num_classes} labels once", **text_timing))
    attention_note = "" if attention == "default" else f", {attention} attention"
    for mode in modes:
        torch._dynamo.reset()
        forward = compiled(ours_bf16, mode)
        for scale in batch_scales:
            inputs = videos_bf16[: batch * scale]
            call = lambda: forward(pixel_values=inputs, text_embeds=text_embeds)  # noqa: E731
            with torch.inference_mode(), attention_backend(attention):
                timing = bench.timer(call)
                if profile:
                    timing["profile"] = kernel_breakdown(call, bench.device)
            bench.record(geometry, "zero_shot", f"xclip (bf16, labels cached, compile={mode}{attention_note})",
                         batch * scale, timing)
    ours.float()


def video_case(bench: Bench, geometry: Geometry, ours: XCLIPModel, theirs: transformers.XCLIPModel, *,
               savvy_peer: bool = False, mode: str = "default", batch: int | None = None,
               fp32: bool = False, **_) -> None:
    """`fp32` also runs both models in float32, uncompiled."""
    batch = batch or geometry.batch["video"]
    vision = ours.config.vision_config
    videos = torch.randn(batch, geometry.frames, 3, vision.image_size, vision.image_size, device=bench.device)
    with torch.inference_mode(), autocast(bench.device):
        timing = bench.timer(lambda: theirs.get_video_features(pixel_values=videos))
    bench.record(geometry, "video", "transformers (bf16 autocast)", batch, timing)
    if fp32:
        with torch.inference_mode():
            for label, model in (("transformers", theirs), ("xclip", ours)):
                timing = bench.timer(lambda: model.get_video_features(pixel_values=videos))
                bench.record(geometry, "video", f"{label} (fp32)", batch, timing)

    videos_bf16 = videos.to(torch.bfloat16)
    for label, model in (("transformers", theirs), ("xclip", ours)):
        if label == "transformers" and not savvy_peer:
            continue
        model.to(torch.bfloat16)
        torch._dynamo.reset()
        features = compiled(model.get_video_features, mode)
        with torch.inference_mode():
            timing = bench.timer(lambda: features(pixel_values=videos_bf16))
        bench.record(geometry, "video", f"{label} (bf16 weights, compile={mode})", batch, timing)
        model.float()


def train_case(bench: Bench, geometry: Geometry, ours: XCLIPModel, theirs: transformers.XCLIPModel, *,
               mode: str = "default", batch: int | None = None, **_) -> None:
    batch = batch or geometry.batch["train"]
    vision = ours.config.vision_config
    videos = torch.randn(batch, geometry.frames, 3, vision.image_size, vision.image_size, device=bench.device)
    labels = torch.randint(0, bench.num_classes, (batch,), device=bench.device)
    ids77, mask77 = (t.to(bench.device) for t in class_texts(bench.num_classes, ours.config.text_config.vocab_size, 77))

    def step_fn(model, optimizer, **inputs):
        def step():
            with autocast(bench.device):
                logits = model(pixel_values=videos, **inputs).logits_per_video
                loss = torch.nn.functional.cross_entropy(logits.float(), labels)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        return step

    theirs.train()
    optimizer = torch.optim.AdamW(theirs.parameters(), lr=1e-6, betas=(0.9, 0.98))
    timing = bench.timer(step_fn(theirs, optimizer, input_ids=ids77, attention_mask=mask77))
    bench.record(geometry, "train", "transformers (all trainable, texts each step)", batch, timing)
    del optimizer
    theirs.eval()

    # The original recipe: text tower and logit scale frozen, label features computed once.
    with torch.no_grad():
        text_embeds = ours.get_text_features(*trim_padding(ids77, mask77)).pooler_output
    freeze_text_tower(ours)
    ours.train()
    optimizer = build_optimizer(ours, lr=1e-6, weight_decay=1e-3)  # the training script's 8 groups, fused on CUDA
    torch._dynamo.reset()
    timing = bench.timer(step_fn(compiled(ours, mode), optimizer, text_embeds=text_embeds))
    bench.record(geometry, "train", f"xclip (frozen text, cached labels, compile={mode})", batch, timing)
    ours.eval()
    ours.requires_grad_(True)


def check_parity(geometry: Geometry, ours: XCLIPModel, theirs: transformers.XCLIPModel, device: torch.device) -> dict:
    """fp32 logits of both implementations on this device, and ours in bf16 against fp32."""
    vision = ours.config.vision_config
    videos = torch.randn(2, geometry.frames, 3, vision.image_size, vision.image_size, device=device)
    ids, mask = (t.to(device) for t in class_texts(8, ours.config.text_config.vocab_size, 77))
    with torch.inference_mode():
        reference = theirs(input_ids=ids, attention_mask=mask, pixel_values=videos).logits_per_video.float()
        fp32 = ours(input_ids=ids, attention_mask=mask, pixel_values=videos).logits_per_video.float()
        low = ours.to(torch.bfloat16)(input_ids=ids, attention_mask=mask, pixel_values=videos.bfloat16())
    ours.float()
    return {"max_abs_diff_fp32": (fp32 - reference).abs().max().item(),
            "max_abs_diff_bf16_vs_fp32": (low.logits_per_video.float() - reference).abs().max().item()}


def environment(device: torch.device, tflops: float | None) -> dict:
    env = {"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
           "xclip": xclip.__version__, "platform": platform.platform(),
           "cpu": platform.processor() or platform.machine(), "device": str(device), "bf16_matmul_tflops": tflops}
    if device.type == "cuda":
        env["gpu"] = torch.cuda.get_device_name(device)
        env["cuda"] = torch.version.cuda
    return env


def markdown_table(env: dict, results: list, command: str) -> str:
    machine = env.get("gpu", env["cpu"])
    lines = [
        f"### {machine}, {time.strftime('%Y-%m-%d')}",
        "",
        f"torch {env['torch']}, transformers {env['transformers']}, xclip {env['xclip']}, Python {env['python']}; "
        f"measured bf16 matmul: {env['bf16_matmul_tflops'] or 0:.3g} TFLOP/s. Command: `{command}`",
        "",
        "| geometry | case | variant | batch | clips/s | vs peer | ms/batch | peak GiB | MFU | first call s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    peer = {}  # the peer's fastest setting without torch.compile, per geometry and case
    for r in results:
        if "clips_per_s" in r and r["variant"].startswith("transformers (") and "compile" not in r["variant"]:
            key = (r["geometry"], r["case"])
            peer[key] = max(peer.get(key, 0.0), r["clips_per_s"])
    for r in results:
        if "clips_per_s" not in r:
            continue
        base = peer.get((r["geometry"], r["case"]))
        ratio = f"{r['clips_per_s'] / base:.2f}x" if base else "-"
        peak = f"{r['peak_gib']:.1f}" if r.get("peak_gib") is not None else "-"
        mfu = f"{100 * r['mfu']:.0f}%" if r.get("mfu") is not None else "-"
        rate = f"{r['clips_per_s']:,.0f}" if r["clips_per_s"] >= 100 else f"{r['clips_per_s']:.3g}"
        lines.append(f"| {r['geometry']} | {r['case']} | {r['variant']} | {r['batch']} | {rate} | "
                     f"{ratio} | {r['ms']:.1f} | {peak} | {mfu} | {r['first_call_s']:.1f} |")
    return "\n".join(lines) + "\n"


# The GPU plan, most important first: a time-limited lease skips whatever is left when --time-budget runs out.
GPU_PLAN = [
    ("b16-8", "zero_shot", {"modes": ("default",)}),
    ("b16-8", "train", {}),
    ("b32-8", "zero_shot", {"modes": ("default",)}),
    ("b16-8", "zero_shot", {"modes": ("gemm-autotune",), "peer": False}),
    ("b32-8", "zero_shot", {"modes": ("gemm-autotune",), "peer": False}),
    ("b16-8", "video", {"savvy_peer": True}),
    ("b32-8", "train", {}),
    ("b16-32", "zero_shot", {}),
    ("l14-8", "zero_shot", {}),
    ("b32-8", "video", {"savvy_peer": True}),
    ("l14-8", "train", {}),
    ("b16-32", "video", {}),
    ("l14-8", "video", {}),
]
# The third lease's (2026-11-27): the zero-shot and video paths after the patch embedding became a matrix product (the
# second lease measured them before, and found CUDA graphs +1%, cuDNN attention +0% and batches past 64 (B/16) or
# 128 (B/32) +1%), then the B/16 training step, all against the peer in the same run.
FOLLOWUP_PLAN = [
    ("b32-8", "zero_shot", {"modes": ("reduce-overhead",), "batch_scales": (1, 2, 4), "profile": True}),
    ("b16-8", "zero_shot", {"modes": ("reduce-overhead",), "batch_scales": (1, 2), "profile": True}),
    ("b16-8", "video", {"savvy_peer": True}),
    ("b32-8", "video", {"savvy_peer": True}),
    ("b16-8", "train", {}),
    ("b16-32", "zero_shot", {}),
    ("l14-8", "zero_shot", {}),
    ("b16-32", "train", {}),
]
# A CPU's plan: the two cheapest geometries at batches that take seconds, and both precisions (bf16 is only fast on
# CPUs with bf16 matrix instructions). No training step: the peer's re-encodes 400 texts forward and backward, minutes
# a step on a few cores.
CPU_PLAN = [
    ("b32-8", "zero_shot", {"batch": 8, "modes": ("none",), "fp32": True}),
    ("b32-8", "video", {"batch": 8, "mode": "none", "fp32": True, "savvy_peer": True}),
    ("b16-8", "zero_shot", {"batch": 4, "modes": ("none",), "fp32": True}),
]
PLANS = {"gpu": GPU_PLAN, "followup": FOLLOWUP_PLAN, "cpu": CPU_PLAN}
CASES = {"zero_shot": zero_shot_case, "video": video_case, "train": train_case}
# `--tiny` without a plan: every case with every option, so that CI reaches each code path.
SMOKE_PLAN = [("tiny", case, {"savvy_peer": True, "attention": "cudnn", "profile": True, "fp32": True})
              for case in CASES]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--only", nargs="+", metavar="GEOMETRY:CASE",
                        help=f"run these instead of the GPU plan; geometries {sorted(GEOMETRIES)}, "
                        f"cases {sorted(CASES)}")
    parser.add_argument("--plan", choices=sorted(PLANS),
                        help="which list of cases to run (default gpu; with --tiny, every case and option)")
    parser.add_argument("--num-classes", type=int, default=400)
    parser.add_argument("--warmup", type=int, help="untimed calls, the first included (default 3; 1 for --plan cpu)")
    parser.add_argument("--iters", type=int, help="timed calls (default 10; 3 for --plan cpu)")
    parser.add_argument("--time-budget", type=float, default=float("inf"),
                        help="seconds; cases not started by then are skipped (for time-limited GPU leases)")
    parser.add_argument("--tiny", action="store_true",
                        help="the plan's cases and options at tiny random shapes without compilation: a smoke "
                             "test that runs on CPU")
    parser.add_argument("--output", type=Path, default=Path("outputs/benchmark_model.json"))
    parser.add_argument("--markdown", default="BENCHMARKS.md", help="append the results table here ('' to skip)")
    args = parser.parse_args(argv)
    args.device = torch.device(args.device)
    slow = args.plan == "cpu"
    if args.only:
        plan = []
        for item in args.only:
            geometry, _, case = item.partition(":")
            if geometry not in GEOMETRIES or case not in CASES:
                parser.error(f"--only {item!r}: expected GEOMETRY:CASE with GEOMETRY in {sorted(GEOMETRIES)} and "
                             f"CASE in {sorted(CASES)}")
            plan.append((geometry, case, {}))
    elif args.plan:
        plan = PLANS[args.plan]
    else:
        plan = SMOKE_PLAN if args.tiny else GPU_PLAN
    if args.tiny:
        args.num_classes, args.warmup, args.iters = 5, 1, 2
        plan = [("tiny", case, {**options, "modes": ("none",), "mode": "none", "batch": None})
                for _, case, options in plan]
    args.plan = plan
    args.warmup = args.warmup or (1 if slow else 3)
    args.iters = args.iters or (3 if slow else 10)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    start = time.monotonic()
    torch.backends.cuda.matmul.allow_tf32 = True
    tflops = measure_matmul_tflops(args.device)
    env = environment(args.device, tflops)
    print(f"{env.get('gpu', env['cpu'])}: bf16 matmul {tflops or 0:.3g} TFLOP/s", flush=True)
    bench = Bench(args.device, args.num_classes, Timer(args.device, args.warmup, args.iters), tflops)
    report = {"environment": env, "parity": {}, "results": bench.results, "skipped": [], "errors": []}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    built = {}  # the models of the geometry in use; rebuilding costs seconds, holding several costs memory
    for key, case, options in args.plan:
        geometry = GEOMETRIES[key]
        if time.monotonic() - start > args.time_budget:
            report["skipped"].append(f"{geometry.name} {case}")
            continue
        if key not in built:
            built.clear()
            if args.device.type == "cuda":
                torch.cuda.empty_cache()
            built[key] = build_models(geometry, args.device)
            report["parity"][geometry.name] = check_parity(geometry, *built[key], args.device)
            print(f"{geometry.name}: parity {report['parity'][geometry.name]}", flush=True)
        try:
            CASES[case](bench, geometry, *built[key], **options)
        except Exception as error:  # one failed case must not lose the lease's other measurements
            report["errors"].append(f"{geometry.name} {case}: {type(error).__name__}: {error}")
            print(f"  {case} failed: {report['errors'][-1]}", flush=True)
            built.clear()
        report["elapsed_s"] = time.monotonic() - start
        args.output.write_text(json.dumps(report, indent=2))

    table = markdown_table(env, report["results"], "python " + " ".join(sys.argv))
    print(table)
    for key in ("skipped", "errors"):
        if report[key]:
            print(f"{key}:", *report[key], sep="\n  ")
    if args.markdown and not args.tiny:
        with open(args.markdown, "a") as handle:
            handle.write("\n" + table)
    return report


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
