"""Training input pipeline throughput: decode (PyAV, TSN training sampling) + the original's augmentation, in
DataLoader workers, on Kinetics-like videos (10 s, 340p, 30 fps, H.264) that the script generates.

The number to compare is the training step's clips/s (scripts/benchmark_model.py): the loader must sustain it.

    python scripts/benchmark_input_pipeline.py --workers 16 --frames 8
    python scripts/benchmark_input_pipeline.py --workers 16 --prepare   # videos re-encoded by `xclip prepare`
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
from torch.utils.data import DataLoader

from xclip.data import VideoClipDataset, VideoRecord
from xclip.data.preparation import VideoPreparation, prepare_video
from xclip.processing import XCLIPTrainTransform
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


class TimedTransform:
    """The training augmentation, adding up the time it takes (GPU work included) in `seconds`."""

    def __init__(self, transform: XCLIPTrainTransform):
        self.transform, self.seconds = transform, 0.0

    def __call__(self, clip, generator=None) -> torch.Tensor:
        start = time.perf_counter()
        pixel_values = self.transform(clip, generator=generator)
        if pixel_values.is_cuda:
            torch.cuda.synchronize(pixel_values.device)
        self.seconds += time.perf_counter() - start
        return pixel_values


def training_clips(paths: list[Path], clips: int, frames: int, image_size: int, hwaccel: str | None,
                   augment_device: str | None) -> VideoClipDataset:
    """The training script's dataset over `clips` items that cycle through the videos, its augmentation timed, with
    one decoder thread per video in every process (what DataLoader workers use anyway)."""
    records = [VideoRecord(paths[index % len(paths)], label=0) for index in range(clips)]
    return VideoClipDataset(records, num_frames=frames, training=True, transform=TimedTransform(
        XCLIPTrainTransform(image_size)), decode_threads=1, hwaccel=hwaccel, augment_device=augment_device)


def one_core_split(dataset: VideoClipDataset, clips: int) -> dict:
    """Milliseconds per training clip for decoding (sampling included) and for augmenting, in this process on one
    thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.perf_counter()
        for index in range(clips):
            dataset[index]
        total_s = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    augment_s = dataset.transform.seconds
    return {"decode_ms_per_clip": 1e3 * (total_s - augment_s) / clips, "augment_ms_per_clip": 1e3 * augment_s / clips,
            "clips_per_s_per_core": clips / total_s}


def measure(dataset: VideoClipDataset, workers: int, batch_size: int) -> dict:
    """Clips per second through a DataLoader with the training script's settings."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, pin_memory=torch.cuda.is_available(),
                        multiprocessing_context="spawn" if dataset.needs_spawned_workers and workers else None)
    start = None
    seen = 0
    for batch_index, batch in enumerate(loader):
        if batch_index == 0:  # worker start-up and the first batch stay out of the rate
            start = time.perf_counter()
            continue
        seen += len(batch["pixel_values"])
    elapsed = time.perf_counter() - start
    return {"workers": workers, "hwaccel": dataset.hwaccel, "augment_device": dataset.augment_device or "cpu",
            "frames": dataset.num_frames, "clips": seen, "clips_per_s": seen / elapsed,
            "batch_shape": list(batch["pixel_values"].shape)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[os.cpu_count() or 1])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--clips", type=int, default=512, help="clips decoded per measurement")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--videos", type=int, default=8, help="distinct generated videos")
    parser.add_argument("--hwaccel", help="decode on this FFmpeg hardware device, e.g. cuda (NVDEC)")
    parser.add_argument("--augment-device", help="run the augmentation on this torch device, e.g. cuda")
    parser.add_argument("--gop", type=int, help="frames between keyframes of the generated videos (default: 250)")
    parser.add_argument("--prepare", action="store_true",
                        help="time the videos as `xclip prepare` re-encodes them (short side 256, keyframe every 16 "
                        "frames, x264 fastdecode)")
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
        dataset = training_clips(paths, args.clips, args.frames, args.image_size, args.hwaccel, args.augment_device)
        split = one_core_split(dataset, clips=max(4, args.clips // 8))
        results = [measure(dataset, workers, args.batch_size) for workers in args.workers]
    report = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
              "video": {"seconds": seconds, "height": height, "width": width, "fps": 30, "gop": args.gop or 250,
                        "megabytes": megabytes, "image_size": args.image_size},
              "prepared": preparation, "one_core": split, "results": results}
    decoder = f"{args.hwaccel} hardware decoding" if args.hwaccel else "software decoding"
    decoder += f", augmentation on {args.augment_device or 'cpu'}"
    print(f"{decoder}, one core: decode {split['decode_ms_per_clip']:.1f} ms + augment "
          f"{split['augment_ms_per_clip']:.1f} ms per clip = {split['clips_per_s_per_core']:.1f} clips/s "
          f"(videos of {megabytes:.2f} MB, GOP {args.gop or 250})")
    if preparation:
        print(f"  on the videos as prepared: {preparation['megabytes']:.2f} MB, short side "
              f"{preparation['short_side']}, keyframe every {preparation['keyframe_interval']} frames; preparing took "
              f"{preparation['cpu_s_per_video']:.2f} s of CPU per video")
    for row in results:
        print(f"{row['workers']:3d} workers, {row['frames']} frames at {args.image_size} px: "
              f"{row['clips_per_s']:7.1f} clips/s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
