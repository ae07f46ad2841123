"""`make demo`: the whole X-CLIP job on an embedded default, with no downloads.

1. Writes synthetic videos where only the motion tells the classes apart ("a shape moving quickly up"; see
   `xclip.demo.motion_task` for the sentences and which of them are held out).
2. Trains a tiny X-CLIP from random initialisation with the training script (`configs/demo/motion.yaml`) and tests
   it closed-set on new videos of the trained sentences.
3. Fine-tunes it few-shot on new classes (K videos each, `configs/demo/few_shot.yaml`).
4. Tests it zero-shot on sentences held out from training (the training script's `--only_test`).
5. Runs the zero-shot pipeline and the `xclip classify` command on the trained folder, on a demo video and on a real
   video (`../shared/videos/bikes.mp4`, when present).
6. Writes `demo_output/report.md` with the accuracies next to chance, plots and timings, and `summary.json`.

    python scripts/demo.py                       # about 5.5 minutes on 2 CPU cores
    python scripts/demo.py --model DIR_OR_HUB_ID # no training: every evaluation is zero-shot for that checkpoint
    python scripts/demo.py --smoke               # every step on a few videos, one epoch: checks the plumbing
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from xclip.demo import (
    AccuracyBar,
    ContactSheetRow,
    DemoData,
    DemoError,
    DemoReport,
    DemoSizes,
    DemoTask,
    Evaluation,
    ModelGeometry,
    PipelineResult,
    StageTimer,
    accuracy_bars_png,
    classify_examples,
    contact_sheet_png,
    default_task,
    generate_demo_data,
    load_zero_shot_classifier,
    model_geometry,
    run_classify_command,
    run_training_script,
    write_report,
)

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs" / "demo"
REAL_VIDEO = REPO.parent / "shared" / "videos" / "bikes.mp4"
# What a real video is scored against: a model trained on synthetic shapes knows none of these words, a real
# checkpoint (--model) does.
EVERYDAY_LABELS = ["riding a bike", "playing guitar", "cooking", "swimming", "a shape moving quickly to the right"]

logger = logging.getLogger("xclip.demo")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output", help="Folder of the videos, runs and report.")
    parser.add_argument(
        "--model",
        help="An X-CLIP folder or Hub id to evaluate instead of training one (every evaluation is then zero-shot).",
    )
    parser.add_argument("--seed", type=int, default=0, help="Seed of the videos and of the training runs.")
    parser.add_argument("--smoke", action="store_true", help="A few videos and one epoch per run: a quick check.")
    parser.add_argument("--real-video", type=Path, default=REAL_VIDEO, help="A real video for the pipeline.")
    return parser.parse_args(argv)


def train_and_evaluate(
    args: argparse.Namespace, data: DemoData, opts: list[str], timer: StageTimer
) -> tuple[list[Evaluation], str | Path, str | Path]:
    """The three evaluations, training the model first unless `--model` gives one; also the model folders that the
    pipeline uses: (evaluations, model, few-shot model)."""
    output = Path(args.output)
    if args.model is None:
        with timer.stage("Training from random initialisation"):
            closed_set = run_training_script(
                CONFIGS / "motion.yaml", output / "train", data.test, train=data.train, opts=opts
            )
        model = output / "train" / "best_model"
        with timer.stage("Few-shot fine-tuning on new classes"):
            few_shot = run_training_script(
                CONFIGS / "few_shot.yaml", output / "few_shot", data.few_shot_test, train=data.few_shot_train,
                pretrained=model, opts=opts,
            )
        few_shot_model = output / "few_shot" / "best_model"
        titles = ("closed-set: trained sentences, new videos", "few-shot: new classes, 4 videos each",
                  "zero-shot: sentences held out from training")
    else:
        model = few_shot_model = args.model
        with timer.stage("Zero-shot on the trained sentences and the new classes"):
            closed_set = run_training_script(
                CONFIGS / "motion.yaml", output / "closed_set", data.test, pretrained=model, opts=opts
            )
            few_shot = run_training_script(
                CONFIGS / "motion.yaml", output / "few_shot", data.few_shot_test, pretrained=model, opts=opts
            )
        titles = ("the demo's training sentences (zero-shot)", "the few-shot classes (zero-shot)",
                  "the held-out sentences (zero-shot)")
    with timer.stage("Zero-shot on held-out sentences"):
        zero_shot = run_training_script(
            CONFIGS / "motion.yaml", output / "zero_shot", data.zero_shot_test, pretrained=model, opts=opts
        )
    keys, runs = ("closed_set", "few_shot", "zero_shot"), (closed_set, few_shot, zero_shot)
    evaluations = [Evaluation(key, title, run) for key, title, run in zip(keys, titles, runs)]
    for evaluation in evaluations:
        logger.info("%-48s top-1 %5.1f%%   chance %5.1f%%", evaluation.title, evaluation.accuracy, evaluation.chance)
    return evaluations, model, few_shot_model


@dataclass
class Showcase:
    """What the pipeline and the command line made of the trained model, for the report."""

    pipeline_results: list[PipelineResult]
    classify_command: str
    classify_output: str
    examples: list[ContactSheetRow]  # sampled test videos with their top predictions, for the contact sheet


def showcase(
    args: argparse.Namespace, task: DemoTask, data: DemoData, model: str | Path, few_shot_model: str | Path
) -> Showcase:
    """The zero-shot pipeline on a demo video and a real one, `xclip classify`, and predictions for the contact
    sheet."""
    classifier = load_zero_shot_classifier(model)
    every_sentence = [motion.text for motion in (*task.seen, *task.held_out)]
    demo_label = len(data.test.class_names) - 1
    demo_video = data.test.videos[data.test.labels.index(demo_label)]
    pipeline_results = [
        PipelineResult(demo_video, f'A test video ("{data.test.class_names[demo_label]}") scored against all '
                       "eight speed-and-direction sentences, the two held out from training included",
                       classifier(str(demo_video), candidate_labels=every_sentence, top_k=3))
    ]
    if args.real_video.is_file():
        description = "A real video, scored against everyday actions"
        if args.model is None:
            description += (" (a model trained on synthetic shapes knows none of these words: this shows that "
                            "real videos go through the same call)")
        scores = classifier(str(args.real_video), candidate_labels=EVERYDAY_LABELS, top_k=3)
        pipeline_results.append(PipelineResult(args.real_video, description, scores))
    else:
        logger.info("No real video at %s: the pipeline runs on the demo video only.", args.real_video)
    classify_command, classify_output = run_classify_command(demo_video, every_sentence, model)
    examples = classify_examples(classifier, data.test, "closed-set", 3)
    examples += classify_examples(load_zero_shot_classifier(few_shot_model), data.few_shot_test, "few-shot", 2)
    examples += classify_examples(classifier, data.zero_shot_test, "zero-shot", 2)
    return Showcase(pipeline_results, classify_command, classify_output, examples)


def draw_figures(
    evaluations: list[Evaluation], examples: list[ContactSheetRow], output: Path, trained: bool
) -> dict[str, Path]:
    """The report's plots, by caption: accuracy next to chance, the training loss, sampled frames with predictions."""
    bars = [AccuracyBar(evaluation.key.replace("_", "-"), evaluation.accuracy, evaluation.chance,
                        f"{evaluation.num_classes} classes") for evaluation in evaluations]
    figures = {"Top-1 accuracy next to chance": accuracy_bars_png(bars, output / "accuracy.png",
                                                                  "X-CLIP on motion sentences")}
    if trained:
        figures["Training loss"] = output / "train" / "loss_curve.png"
    figures["Sampled frames of test videos and their predicted sentences"] = contact_sheet_png(
        examples, output / "contact_sheet.png", title="Test videos and their top predictions"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.model is None:
        # The tiny model's matrices are too small to share between threads: one thread trains it 1.3x faster on 2
        # cores (77-80 against 58-61 clips/s) and does not stall when another job holds a core.
        torch.set_num_threads(1)

    timer = StageTimer()
    output = Path(args.output)
    task = default_task()
    try:
        geometry = model_geometry(args.model) if args.model else ModelGeometry(num_frames=8, image_size=32)
    except DemoError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return 2
    sizes = DemoSizes(train=4, test=2, few_shot_pool=4) if args.smoke else DemoSizes()
    opts = ["SEED", str(args.seed), *geometry.opts()]
    if args.smoke:
        opts += ["TRAIN.EPOCHS", "1", "TRAIN.WARMUP_EPOCHS", "0"]

    with timer.stage("Writing the videos"):
        data = generate_demo_data(task, output / "data", sizes, seed=args.seed)
    evaluations, model, few_shot_model = train_and_evaluate(args, data, opts, timer)
    with timer.stage("The zero-shot pipeline and the xclip command"):
        shown = showcase(args, task, data, model, few_shot_model)
    with timer.stage("Writing the report"):
        figures = draw_figures(evaluations, shown.examples, output, trained=args.model is None)
        report = DemoReport(
            title="xclip demo: motion sentences" + ("" if args.model is None else f" with {args.model}"),
            model=str(model),
            trained=args.model is None,
            seed=args.seed,
            task=task,
            evaluations=evaluations,
            pipeline_results=shown.pipeline_results,
            timings=timer.durations,
            total_seconds=timer.total,
            reproduce=shlex.join(["python", "scripts/demo.py", *(sys.argv[1:] if argv is None else argv)]),
            figures={caption: Path(path).relative_to(output).as_posix() for caption, path in figures.items()},
            classify_output=shown.classify_output,
            classify_command=shown.classify_command,
            artefacts={"model (transformers folder)": Path(model).relative_to(output).as_posix()
                       if args.model is None else str(model), "videos": "data/", "numbers": "summary.json"},
        )
        report_path = write_report(report, output)
    logger.info("Report: %s (%.0f s in all)", report_path, timer.total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
