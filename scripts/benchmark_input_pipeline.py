"""Training input pipeline throughput: decode (PyAV, TSN training sampling) + the original's augmentation, in
DataLoader workers, on Kinetics-like videos (10 s, 340p, 30 fps, H.264) that the script generates. As in the training
script, with a GPU the workers stop at uint8 clips and the GPU finishes each batch (colour work, normalisation);
`--finish-on-device` measures that split without one.

The number to compare is the training step's clips/s (scripts/benchmark_model.py): the loader must sustain it.

    python scripts/benchmark_input_pipeline.py --workers 16 --frames 8
    python scripts/benchmark_input_pipeline.py --workers 16 --prepare   # videos re-encoded by `xclip prepare`
    python scripts/benchmark_input_pipeline.py --workers 16 --views 4x3 # the original's 4-clip x 3-crop test items
    python scripts/benchmark_input_pipeline.py --quick          # smoke test
"""

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, default_collate

from xclip.data import VideoClipDataset, VideoRecord
from xclip.data.preparation import VideoPreparation, prepare_video
from xclip.processing import XCLIPTrainTransform, XCLIPVideoProcessor
from xclip.training.data import finishes_on_device
from xclip.video.synthetic import moving_texture_frames, write_video


def make_videos(folder: Path, count: int, seconds: float, height: int, width: int, fps: int,
                gop: int | None = None) -> list[Path]:
    """H.264 videos of moving texture; `gop` frames between keyframes (None: x264's default, 250)."""
    paths = []
    for seed in range(count):
        path = folder / f"kinetics_like_{seed}.mp4"
        options = {"g": str(gop)} if gop else None
        write_video(path, moving_texture_frames(int(seconds * fps), height, width, seed=seed), fps=fps, options=options)
        paths.append(path)
    return paths


def prepare_videos(paths: list[Path]) -> tuple[list[Path], dict]:
    """The videos re-encoded with `xclip prepare`'s defaults, and what that cost (one core per video)."""
    start = time.process_time()
    prepared = [prepare_video(path, path.with_name(f"{path.stem}_prepared.mp4")).path for path in paths]
    return prepared, {**dataclasses.asdict(VideoPreparation()), "cpu_s_per_video": (time.process_time() - start)
                      / len(paths), "megabytes": sum(path.stat().st_size for path in prepared) / len(prepared) / 1e6}


class Timed:
    """A training transform or an evaluation video processor, adding up in `seconds` the time of the calls that run in
    the loader workers (the processor's `__call__`, the transform's `prepare`); everything else is the wrapped
    object's."""

    def __init__(self, wrapped):
        self.wrapped, self.seconds = wrapped, 0.0

    def __call__(self, *args, **kwargs):
        return self._timed(self.wrapped, *args, **kwargs)

    def prepare(self, *args, **kwargs):
        return self._timed(self.wrapped.prepare, *args, **kwargs)

    def _timed(self, function, *args, **kwargs):
        start = time.perf_counter()
        result = function(*args, **kwargs)
        self.seconds += time.perf_counter() - start
        return result

    def __getattr__(self, name):
        # Only called for names not set on the wrapper; unpickling (in spawned workers) asks before `wrapped` exists.
        if name == "wrapped":
            raise AttributeError(name)
        return getattr(self.wrapped, name)


def clip_dataset(paths: list[Path], clips: int, frames: int, image_size: int, hwaccel: str | None,
                 finish_on_device: bool, views: tuple[int, int] | None = None) -> VideoClipDataset:
    """The training script's dataset over `clips` items that cycle through the videos, with one decoder thread per
    video in every process (what DataLoader workers use anyway): training items with the workers' part of the
    augmentation timed, or with `views = (clips, crops)` evaluation items with the video processor timed; with
    `finish_on_device` the items stop at uint8 for the training device to finish, as on a GPU machine."""
    records = [VideoRecord(paths[index % len(paths)], label=0) for index in range(clips)]
    common = dict(num_frames=frames, decode_threads=1, hwaccel=hwaccel, finish_on_device=finish_on_device)
    if views is None:
        return VideoClipDataset(records, training=True, transform=Timed(XCLIPTrainTransform(image_size)), **common)
    processor = Timed(XCLIPVideoProcessor.for_image_size(image_size, frames))
    return VideoClipDataset(records, training=False, video_processor=processor, num_clips=views[0],
                            num_crops=views[1], **common)


def one_core_split(dataset: VideoClipDataset, clips: int) -> dict:
    """Milliseconds per item for decoding (sampling included) and for the workers' half of the augmentation
    (training) or preprocessing the views (evaluation), in this process on one thread; also the finishing half, which
    training runs on its device (here on the CPU, out of the per-core rate)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    finish_s = 0.0
    try:
        start = time.perf_counter()
        for index in range(clips):
            item = dataset[index]
            finish_start = time.perf_counter()
            dataset.finish(default_collate([item]))
            finish_s += time.perf_counter() - finish_start
        total_s = time.perf_counter() - start - finish_s
    finally:
        torch.set_num_threads(threads)
    augment_s = (dataset.transform or dataset.video_processor).seconds
    return {"decode_ms_per_clip": 1e3 * (total_s - augment_s) / clips, "augment_ms_per_clip": 1e3 * augment_s / clips,
            "finish_ms_per_clip": 1e3 * finish_s / clips, "clips_per_s_per_core": clips / total_s}


def measure(dataset: VideoClipDataset, workers: int, batch_size: int) -> dict:
    """Clips per second through a DataLoader with the training script's settings, finished on the device training
    would use (the GPU, or this CPU's main process)."""
    device = training_device()
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, pin_memory=device.type == "cuda",
                        multiprocessing_context="spawn" if dataset.needs_spawned_workers and workers else None)
    start = None
    seen = 0
    for batch_index, batch in enumerate(loader):
        if batch_index == 0:  # worker start-up and the first batch stay out of the rate
            start = time.perf_counter()
            continue
        dataset.finish({**batch, "pixel_values": batch["pixel_values"].to(device, non_blocking=True)})
        seen += len(batch["pixel_values"])
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - start
    return {"workers": workers, "hwaccel": dataset.hwaccel, "finish_device": device.type,
            "frames": dataset.num_frames, "clips": seen, "clips_per_s": seen / elapsed,
            "batch_shape": list(batch["pixel_values"].shape)}


def training_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def views_argument(text: str) -> tuple[int, int]:
    clips, _, crops = text.partition("x")
    if not (clips.isdigit() and crops in ("1", "3") and int(clips) > 0):
        raise argparse.ArgumentTypeError(f"expected CLIPSxCROPS with 1 or 3 crops, e.g. 4x3, got {text!r}")
    return int(clips), int(crops)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--clips", type=int, default=512, help="clips decoded per measurement")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--videos", type=int, default=8, help="distinct generated videos")
    parser.add_argument("--hwaccel", help="decode on this FFmpeg hardware device, e.g. cuda (NVDEC)")
    parser.add_argument("--finish-on-device", action="store_true",
                        help="leave the colour augmentation and normalisation to the training device, as the training "
                             "script does on a GPU (the default with CUDA), also without one")
    parser.add_argument("--gop", type=int, help="frames between keyframes of the generated videos (default: 250)")
    parser.add_argument("--prepare", action="store_true",
                        help="time the videos as `xclip prepare` re-encodes them (short side 256, keyframe every 16 "
                        "frames, x264 fastdecode)")
    parser.add_argument("--views", type=views_argument, metavar="CLIPSxCROPS",
                        help="time evaluation items with these views (e.g. 1x1, or 4x3 as the original's final test) "
                        "instead of training clips")
    parser.add_argument("--quick", action="store_true", help="tiny videos and few clips: a smoke test")
    parser.add_argument("--output", type=Path, default=Path("outputs/benchmark_input_pipeline.json"))
    args = parser.parse_args(argv)
    seconds, height, width = (1, 64, 96) if args.quick else (10, 340, 604)
    if args.quick:
        args.clips, args.batch_size, args.videos, args.image_size = 8, 2, 2, 32

    with tempfile.TemporaryDirectory() as folder:
        paths = make_videos(Path(folder), args.videos, seconds, height, width, fps=30, gop=args.gop)
        megabytes = sum(path.stat().st_size for path in paths) / len(paths) / 1e6
        paths, preparation = prepare_videos(paths) if args.prepare else (paths, None)
        finish_on_device = args.finish_on_device or finishes_on_device(training_device())
        dataset = clip_dataset(paths, args.clips, args.frames, args.image_size, args.hwaccel, finish_on_device,
                               args.views)
        split = one_core_split(dataset, clips=max(4, args.clips // 8))
        results = [measure(dataset, workers, args.batch_size) for workers in args.workers]
    report = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
              "video": {"seconds": seconds, "height": height, "width": width, "fps": 30, "gop": args.gop or 250,
                        "megabytes": megabytes, "image_size": args.image_size},
              "views": "x".join(map(str, args.views)) if args.views else None, "prepared": preparation,
              "finish_on_device": finish_on_device,
              "one_core": split, "results": results}
    decoder = f"{args.hwaccel} hardware decoding" if args.hwaccel else "software decoding"
    if args.views:
        decoder += f", evaluation items of {args.views[0]} clips x {args.views[1]} crops"
        step, unit = "preprocess", "videos"
    else:
        step, unit = ("crop and draw" if finish_on_device else "augment"), "clips"
    deferred = f" (then finish on the device: {split['finish_ms_per_clip']:.1f} ms on one CPU core)" \
        if finish_on_device else ""
    print(f"{decoder}, one core: decode {split['decode_ms_per_clip']:.1f} ms + {step} "
          f"{split['augment_ms_per_clip']:.1f} ms per item = {split['clips_per_s_per_core']:.1f} {unit}/s{deferred} "
          f"(videos of {megabytes:.2f} MB, GOP {args.gop or 250})")
    if preparation:
        print(f"  on the videos as prepared: {preparation['megabytes']:.2f} MB, short side "
              f"{preparation['short_side']}, keyframe every {preparation['keyframe_interval']} frames; preparing took "
              f"{preparation['cpu_s_per_video']:.2f} s of CPU per video")
    for row in results:
        print(f"{row['workers']:3d} workers, {row['frames']} frames at {args.image_size} px: "
              f"{row['clips_per_s']:7.1f} {unit}/s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
