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


def test_zero_shot_forward_compiles_without_graph_breaks():
    model = make_model("p8-f4")
    videos = make_videos(model.config)
    text_embeds = torch.randn(5, model.config.projection_dim)
    with torch.no_grad():
        explanation = torch._dynamo.explain(model)(pixel_values=videos, text_embeds=text_embeds)
    assert explanation.graph_break_count == 0, explanation.break_reasons
