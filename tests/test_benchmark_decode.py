"""The decoding benchmark runs end to end in its quick mode and reports every decoder in every setting."""

import json

import pytest

from script_loader import load_script


def test_quick_benchmark_writes_json_and_markdown_section(tmp_path):
    benchmark = load_script("benchmark_decode")
    output, markdown = tmp_path / "decode.json", tmp_path / "BENCHMARKS.md"
    markdown.write_text("# Benchmarks\n\n## Model\n\nkept\n\n## Video decoding\n\nhand-written analysis\n")
    report = benchmark.main(
        ["--quick", "--output", str(output), "--markdown", str(markdown), "--video-dir", str(tmp_path / "videos")]
    )

    saved = json.loads(output.read_text())
    assert saved["results"] == report["results"]
    assert {"environment", "settings", "videos", "results", "identical_frames_to_xclip", "xclip_speedup"} <= set(saved)
    assert {"python", "av", "decord", "transformers", "torch"} <= set(saved["environment"]["versions"])
    assert {"cpu", "cores"} <= set(saved["environment"]["machine"])
    decoders = set(benchmark.available_decoders())
    seen = {(row["decoder"], row["setting"], row["sampling"]) for row in saved["results"]}
    assert seen == {
        (decoder, setting, sampling)
        for decoder in decoders
        for setting in ("one_core", "dataloader", "all_cores")
        for sampling in ("1x8", "4x8")
    }
    for row in saved["results"]:
        assert row["clips_per_s"] > 0
        assert row["frames_per_s"] == pytest.approx(row["clips_per_s"] * 8)  # clips of 8 frames
    # transformers' load_video cannot be given a thread count: its rows must not claim one decoder thread.
    threads = {(row["decoder"], row["setting"]): row["decoder_threads"] for row in saved["results"]}
    assert threads[("xclip", "one_core")] == threads[("xclip", "dataloader")] == 1
    assert {threads[("transformers", setting)] for setting in ("one_core", "dataloader", "all_cores")} == {
        "library default"
    }
    assert set(saved["fixed_threading"]) == {"transformers"}
    assert all(all(same.values()) for same in saved["identical_frames_to_xclip"].values())

    text = markdown.read_text()
    assert "## Model\n\nkept" in text and "hand-written analysis" in text
    assert text.count(benchmark.BEGIN_MARK) == 1 and "| tiny_2s_96p.mp4 | 4x8 |" in text
    assert "transformers decodes with PyAV's default threading" in text
    # A second run replaces the generated block instead of appending another one.
    benchmark.update_markdown(markdown, "regenerated")
    text = markdown.read_text()
    assert text.count(benchmark.BEGIN_MARK) == 1 and "regenerated" in text and "| tiny_2s_96p.mp4 |" not in text
    assert "hand-written analysis" in text
