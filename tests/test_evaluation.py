"""Evaluation: accuracy metrics against hand-computed values, the offline `evaluate` module, multi-view aggregation,
confusion matrices and the metrics report."""

import json
import math
import socket

import numpy as np
import pytest
import torch

from xclip.evaluation import (
    aggregate_views,
    build_metrics_report,
    compute_video_accuracy,
    confusion_matrix,
    confusion_matrix_png,
    label_ranks,
    load_video_accuracy,
    summarise_splits,
    write_per_class_accuracy,
    zero_shot_summary,
)


# 5 videos, 6 classes. Rank of the true class: 0, 2, 5, 0, 0.
SCORES = np.array(
    [
        [0.1, 0.0, 0.2, 0.9, 0.3, 0.4],  # label 3: top-1
        [0.3, 0.9, 0.1, 0.0, 0.5, 0.2],  # label 0: 3rd -> top-5 only
        [0.5, 0.4, 0.3, 0.2, 0.6, 0.1],  # label 5: last -> neither
        [0.8, 0.1, 0.1, 0.1, 0.1, 0.1],  # label 0: top-1
        [0.0, 0.1, 0.2, 0.7, 0.3, 0.4],  # label 3: top-1
    ],
    dtype=np.float32,
)
LABELS = np.array([3, 0, 5, 0, 3])


def test_accuracy_against_hand_computed_values():
    result = compute_video_accuracy(SCORES, LABELS)
    assert result["top1"] == pytest.approx(60.0)  # 3 of 5
    assert result["top5"] == pytest.approx(80.0)  # 4 of 5
    # Per class: class 0 1/2, class 3 2/2, class 5 0/1; the mean is over the 3 classes that have videos.
    assert result["per_class_accuracy"] == [50.0, None, None, 100.0, None, 0.0]
    assert result["mean_class_accuracy"] == pytest.approx(50.0)
    assert result["class_counts"] == [2, 0, 0, 2, 0, 1]
    assert result["num_videos"] == 5


def test_ties_rank_the_lower_class_index_first():
    assert label_ranks(np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]]), np.array([0, 1])).tolist() == [0, 1]


def test_torch_inputs_give_the_same_result():
    expected = compute_video_accuracy(SCORES, LABELS)
    assert compute_video_accuracy(torch.from_numpy(SCORES).bfloat16(), torch.from_numpy(LABELS)) == expected


def test_top5_with_fewer_than_five_classes_counts_every_class():
    assert compute_video_accuracy(np.array([[0.9, 0.1]]), np.array([1]))["top5"] == 100.0


@pytest.mark.parametrize(
    "scores, labels, message",
    [
        (np.zeros((2, 3)), np.array([0, 3]), r"references must be in \[0, 3\)"),
        (np.zeros((2, 3)), np.array([0]), "references must be"),
        (np.zeros(3), np.array([0]), "scores must be"),
        (np.zeros((0, 3)), np.zeros(0, dtype=int), "No videos"),
        (np.array([[np.nan, 0.0]]), np.array([0]), "NaN"),
        (np.zeros((1, 3)), np.array([0.0]), "integer class indices"),
    ],
)
def test_accuracy_input_errors(scores, labels, message):
    with pytest.raises(ValueError, match=message):
        compute_video_accuracy(scores, labels)


def test_scores_for_another_number_of_classes_than_expected_are_refused(tmp_path):
    with pytest.raises(ValueError, match="scores have 6 classes, expected num_classes=7"):
        compute_video_accuracy(SCORES, LABELS, num_classes=7)
    metric = load_video_accuracy(experiment_id="test-num-classes", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="expected num_classes=7"):
        metric.compute(predictions=SCORES.tolist(), references=LABELS.tolist(), num_classes=7)
    # The training script's report passes its class list's length: scores from a model with other classes are refused.
    from xclip.training.engine import Predictions
    from xclip.training.reporting import evaluation_report

    predictions = Predictions(torch.from_numpy(SCORES), torch.from_numpy(LABELS), torch.ones(len(LABELS), dtype=bool))
    with pytest.raises(ValueError, match="expected num_classes=7"):
        evaluation_report(predictions, [f"class {index}" for index in range(7)], metric, num_views=1)


def test_evaluate_module_loads_offline_and_accumulates_batches(monkeypatch, tmp_path):
    def no_network(*args, **kwargs):
        raise OSError("network access attempted while loading the metric")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    metric = load_video_accuracy(experiment_id="test", cache_dir=str(tmp_path))
    metric.add_batch(predictions=SCORES[:2].tolist(), references=LABELS[:2].tolist())
    metric.add_batch(predictions=SCORES[2:].tolist(), references=LABELS[2:].tolist())
    result = metric.compute(num_classes=6)
    expected = compute_video_accuracy(SCORES, LABELS)
    assert result.keys() == expected.keys()
    assert result["top1"] == pytest.approx(expected["top1"]) and result["top5"] == pytest.approx(expected["top5"])
    assert result["mean_class_accuracy"] == pytest.approx(expected["mean_class_accuracy"])


def test_aggregate_views_sums_per_view_probabilities():
    log3 = math.log(3.0)
    scores = aggregate_views(torch.tensor([[[0.0, log3], [log3, 0.0]]]))
    torch.testing.assert_close(scores, torch.tensor([[1.0, 1.0]], dtype=torch.float64))  # [.25, .75] + [.75, .25]

    # One confident view does not outvote two others, unlike summed logits.
    logits = torch.tensor([[[0.0, 20.0], [5.0, 0.0], [5.0, 0.0]]])
    assert logits.sum(dim=1).argmax().item() == 1
    assert aggregate_views(logits).argmax().item() == 0


def test_aggregate_views_matches_a_per_view_loop_and_keeps_single_view_ranking():
    logits = torch.randn(4, 12, 7, generator=torch.Generator().manual_seed(0)) * 100
    expected = sum(torch.softmax(logits[:, view].double(), dim=-1) for view in range(12))
    torch.testing.assert_close(aggregate_views(logits), expected)
    single = logits[:, :1]  # logits 100x apart: float32 probabilities would underflow to ties
    assert torch.equal(aggregate_views(single).argsort(dim=-1), single[:, 0].argsort(dim=-1))
    with pytest.raises(ValueError, match="num_views"):
        aggregate_views(logits[:, 0])


def test_float64_view_scores_reach_the_metric_unrounded(tmp_path):
    # Class 6 is second: about exp(-150) behind class 0, which float32 rounds to 0, tying it with the five classes
    # before it; the tie would then push it out of the top-5.
    scores = aggregate_views(torch.tensor([[[100.0, -60, -60, -60, -60, -60, -50]]]))
    metric = load_video_accuracy(experiment_id="float64", cache_dir=str(tmp_path))
    top5 = [
        compute_video_accuracy(scores.numpy(), [6])["top5"],
        compute_video_accuracy(scores, [6])["top5"],
        metric.compute(predictions=scores.tolist(), references=[6])["top5"],
    ]
    assert top5 == [100.0, 100.0, 100.0]


def test_confusion_matrix_counts():
    counts = confusion_matrix(SCORES, LABELS, num_classes=6)
    assert counts.shape == (6, 6) and counts.sum() == 5
    assert counts[3, 3] == 2 and counts[0, 0] == 1 and counts[0, 1] == 1 and counts[5, 4] == 1
    assert np.array_equal(confusion_matrix(SCORES.argmax(axis=1), LABELS, 6), counts)


@pytest.mark.parametrize("num_classes", [6, 400])
def test_confusion_matrix_png_is_written(tmp_path, num_classes):
    rng = np.random.default_rng(0)
    references = rng.integers(num_classes, size=3 * num_classes)
    mistakes = rng.integers(num_classes, size=references.size)
    predictions = np.where(rng.random(references.size) < 0.7, references, mistakes)
    path = confusion_matrix_png(
        predictions, references, [f"class {index}" for index in range(num_classes)], tmp_path / "plots" / "cm.png"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 1000


def test_metrics_report_is_json_ready(tmp_path):
    result = compute_video_accuracy(SCORES, LABELS)
    names = [f"c{index}" for index in range(6)]
    report = build_metrics_report(result, class_names=names, num_unreadable=2, num_views=12, epoch=3)
    reloaded = json.loads(json.dumps(report))
    assert reloaded["top1"] == pytest.approx(60.0) and reloaded["top5"] == pytest.approx(80.0)
    assert reloaded["mean_class_accuracy"] == pytest.approx(50.0)
    assert reloaded["per_class_accuracy"] == {"c0": 50.0, "c1": None, "c2": None, "c3": 100.0, "c4": None, "c5": 0.0}
    assert (reloaded["num_videos"], reloaded["num_unreadable"], reloaded["num_views"]) == (5, 2, 12)
    assert reloaded["num_classes"] == 6 and reloaded["epoch"] == 3
    with pytest.raises(ValueError, match="overwrite"):
        build_metrics_report(result, top1=1.0)

    csv_path = write_per_class_accuracy(result, names, tmp_path / "per_class.csv")
    assert csv_path.read_text().splitlines()[:3] == ["id,name,videos,top1", "0,c0,2,50.00", "1,c1,0,"]


def test_summarise_splits_and_zero_shot_summary():
    mean, std = summarise_splits([60.0, 70.0, 80.0])
    assert mean == pytest.approx(70.0) and std == pytest.approx(math.sqrt(200 / 3))
    assert summarise_splits([60.0, 70.0, 80.0], ddof=1)[1] == pytest.approx(10.0)
    assert summarise_splits([42.0]) == (42.0, 0.0)
    with pytest.raises(ValueError, match="No split"):
        summarise_splits([])

    reports = {
        name: {"top1": top1, "top5": top1 + 10, "mean_class_accuracy": top1 - 1}
        for name, top1 in (("split1", 60.0), ("split2", 70.0), ("split3", 80.0))
    }
    summary = zero_shot_summary(reports)
    assert summary["top1_mean"] == pytest.approx(70.0) and summary["top5_mean"] == pytest.approx(80.0)
    assert summary["top1_std"] == pytest.approx(summary["top5_std"])
    assert summary["num_splits"] == 3 and summary["splits"] == reports
