"""The model benchmark runs end to end (tiny shapes, CPU) and the compiled path has no graph breaks."""

import json

import pytest
import torch

from test_modeling import make_model, make_videos
from script_loader import load_script


def test_tiny_benchmark_reports_every_case_against_the_peer(tmp_path):
    output = tmp_path / "bench.json"
    benchmark = load_script("benchmark_model")
    report = benchmark.main(["--tiny", "--device", "cpu", "--output", str(output), "--markdown", ""])
    assert json.loads(output.read_text())["results"] == report["results"]
    assert not report["errors"] and not report["skipped"]
    assert report["parity"]["tiny"]["max_abs_diff_fp32"] <= 1e-5
    seen = {(r["case"], r["variant"].split(" ")[0]) for r in report["results"] if "clips_per_s" in r}
    for case in ("zero_shot", "video", "train"):
        assert {(case, "transformers"), (case, "xclip")} <= seen
    assert all(r["clips_per_s"] > 0 for r in report["results"] if "clips_per_s" in r)
    # The profiled zero-shot call: its kernels (operators on CPU) sorted by kind, the matrix products among them.
    (profiled,) = [r for r in report["results"] if "profile" in r]
    profile = profiled["profile"]
    assert profiled["variant"].startswith("xclip") and profile["kernels_per_call"] > 0
    assert sum(profile["ms_by_kind"].values()) == pytest.approx(profile["ms_per_call"])
    assert profile["ms_by_kind"]["matrix product"] > 0 and "aten::addmm" in [k["name"] for k in profile["top_kernels"]]


def test_followup_plan_of_the_gpu_lease_runs_every_case(tmp_path):
    """`scripts/benchmark_gpu_lease.sh model` runs `--plan followup`: a broken case would waste a GPU lease."""
    benchmark = load_script("benchmark_model")
    report = benchmark.main(["--tiny", "--device", "cpu", "--plan", "followup", "--output", str(tmp_path / "b.json"),
                             "--markdown", ""])
    assert not report["errors"] and not report["skipped"]
    variants = {(r["case"], r["variant"]) for r in report["results"] if "clips_per_s" in r}
    assert any(case == "video" and variant.startswith("transformers (bf16 weights") for case, variant in variants)
    assert {case for case, _ in variants} >= {"zero_shot", "video", "train"}
    # The plan's own options reach the cases: its zero-shot batch scales 1, 2 and 4 over tiny's batch of 2.
    ours = {r["batch"] for r in report["results"] if r["case"] == "zero_shot" and r["variant"].startswith("xclip")}
    assert ours == {2, 4, 8}


def test_cpu_plan_compares_both_precisions_against_the_fastest_peer(tmp_path):
    benchmark = load_script("benchmark_model")
    report = benchmark.main(["--tiny", "--device", "cpu", "--plan", "cpu", "--output", str(tmp_path / "b.json"),
                             "--markdown", ""])
    assert not report["errors"] and not report["skipped"]
    variants = {(r["case"], r["variant"]) for r in report["results"] if "clips_per_s" in r}
    assert {("zero_shot", "xclip (fp32, labels cached)"), ("video", "transformers (fp32)"),
            ("video", "xclip (fp32)"), ("video", "xclip (bf16 weights, compile=none)")} <= variants
    assert not any(case == "train" for case, _ in variants)


def test_ratios_are_against_the_fastest_uncompiled_peer_setting():
    benchmark = load_script("benchmark_model")
    env = {"cpu": "x86_64", "torch": "2", "transformers": "5", "xclip": "0", "python": "3", "bf16_matmul_tflops": 1.0}
    timing = {"ms": 1000.0, "first_call_s": 1.0, "peak_gib": None}
    results = [
        dict(geometry="B/32 8f", case="video", variant="transformers (bf16 autocast)", batch=8, clips_per_s=2.0,
             **timing),
        dict(geometry="B/32 8f", case="video", variant="transformers (fp32)", batch=8, clips_per_s=4.0, **timing),
        dict(geometry="B/32 8f", case="video", variant="transformers (bf16 weights, compile=none)", batch=8,
             clips_per_s=20.0, **timing),
        dict(geometry="B/32 8f", case="video", variant="xclip (fp32)", batch=8, clips_per_s=6.0, **timing),
    ]
    table = benchmark.markdown_table(env, results, "cmd")
    rows = {line.split(" | ")[2]: line.split(" | ") for line in table.splitlines()
            if line.startswith("| B/32")}
    assert rows["xclip (fp32)"][5] == "1.50x" and rows["transformers (bf16 autocast)"][5] == "0.50x"
    assert rows["xclip (fp32)"][4] == "6"  # rates under 100 clips/s keep three significant digits


def test_zero_shot_forward_compiles_without_graph_breaks():
    model = make_model("p8-f4")
    videos = make_videos(model.config)
    text_embeds = torch.randn(5, model.config.projection_dim)
    with torch.no_grad():
        explanation = torch._dynamo.explain(model)(pixel_values=videos, text_embeds=text_embeds)
    assert explanation.graph_break_count == 0, explanation.break_reasons


@pytest.mark.parametrize("name,kind", [  # kernels seen in the H100 profile of the zero-shot forward
    ("nvjet_sm90_tst_192x192_64x4_1x2_h_bz_coopB_bias_TNN", "matrix product"),
    ("void precomputed_convolve_sgemm<__nv_bfloat16, 128, 6, 7, 3, 3, 5, 1, false>", "convolution"),
    ("void cutlass__5x_cudnn::Kernel<cutlass_tensorop_bf16_s16816fprop_optimized_bf16_128x128_32x5_nhwc_align8>",
     "convolution"),
    ("void cudnn::engines_precompiled::nchwToNhwcKernel<__nv_bfloat16, __nv_bfloat16, float, false, true>",
     "convolution"),
    ("cudnn_generated_fort_native_sdpa_sm90_flash_fprop_wgmma_f16_knob_7_64x128x64_4x1x1_cga1x1x1_kernel0_0",
     "attention"),
    ("triton_poi_fused_mul_sigmoid_view_6", "pointwise (fused)"),
    ("triton_red_fused_add_cat_native_layer_norm_slice_view_5", "normalisation (fused)"),
])
def test_profiled_kernels_are_sorted_into_kinds(name, kind):
    assert load_script("benchmark_model").kernel_kind(name) == kind
