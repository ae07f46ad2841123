"""Training input pipeline throughput: decode (PyAV, TSN training sampling) + the original's augmentation, in
DataLoader workers, on Kinetics-like videos (10 s, 340p, 30 fps, H.264) that the script generates.

The number to compare is the training step's clips/s (scripts/benchmark_model.py): the loader must sustain it.

    python scripts/benchmark_input_pipeline.py --workers 16 --frames 8
    python scripts/benchmark_input_pipeline.py --quick          # smoke test
"""

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from xclip.data import VideoClipDataset, VideoRecord
from xclip.processing import XCLIPTrainTransform
from xclip.video import VideoReader, sample_segment_indices
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


def one_core_split(paths: list[Path], frames: int, image_size: int, clips: int, hwaccel: str | None,
                   augment_device: str | None) -> dict:
    """Milliseconds per training clip for decoding and for augmenting, in this process on one thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    transform, rng = XCLIPTrainTransform(image_size), np.random.default_rng(0)
    device = torch.device(augment_device or "cpu")
    decode_s = augment_s = 0.0
    try:
        for index in range(clips):
            start = time.perf_counter()
            with VideoReader(paths[index % len(paths)], num_threads=1, hwaccel=hwaccel) as reader:
                clip = reader.read(sample_segment_indices(reader.info.num_frames, frames, training=True, rng=rng))
            decoded = time.perf_counter()
            transform(torch.from_numpy(clip).to(device), generator=rng).cpu()
            decode_s, augment_s = decode_s + decoded - start, augment_s + time.perf_counter() - decoded
    finally:
        torch.set_num_threads(threads)
    return {"decode_ms_per_clip": 1e3 * decode_s / clips, "augment_ms_per_clip": 1e3 * augment_s / clips,
            "clips_per_s_per_core": clips / (decode_s + augment_s)}


def measure(paths: list[Path], workers: int, frames: int, image_size: int, clips: int, batch_size: int,
            hwaccel: str | None, augment_device: str | None) -> dict:
    # The training script's dataset and loader settings, over `clips` items that cycle through the videos.
    records = [VideoRecord(paths[index % len(paths)], label=0) for index in range(clips)]
    dataset = VideoClipDataset(records, num_frames=frames, training=True, image_size=image_size, hwaccel=hwaccel,
                               augment_device=augment_device)
    uses_gpu = hwaccel or (augment_device or "cpu").startswith("cuda")
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, pin_memory=torch.cuda.is_available(),
                        persistent_workers=False, multiprocessing_context="spawn" if uses_gpu and workers else None)
    start = None
    seen = 0
    for batch_index, batch in enumerate(loader):
        if batch_index == 0:  # worker start-up and the first batch stay out of the rate
            start = time.perf_counter()
            continue
        seen += len(batch["pixel_values"])
    elapsed = time.perf_counter() - start
    return {"workers": workers, "hwaccel": hwaccel, "augment_device": augment_device or "cpu", "frames": frames, "image_size": image_size, "clips": seen,
            "clips_per_s": seen / elapsed, "batch_shape": list(batch["pixel_values"].shape)}


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
    parser.add_argument("--quick", action="store_true", help="tiny videos and few clips: a smoke test")
    parser.add_argument("--output", type=Path, default=Path("outputs/benchmark_input_pipeline.json"))
    args = parser.parse_args(argv)
    seconds, height, width = (1, 64, 96) if args.quick else (10, 340, 604)
    if args.quick:
        args.clips, args.batch_size, args.videos, args.image_size = 8, 2, 2, 32

    with tempfile.TemporaryDirectory() as folder:
        paths = make_videos(Path(folder), args.videos, seconds, height, width, fps=30, gop=args.gop)
        megabytes = sum(path.stat().st_size for path in paths) / len(paths) / 1e6
        split = one_core_split(paths, args.frames, args.image_size, max(4, args.clips // 16), args.hwaccel,
                               args.augment_device)
        results = [measure(paths, workers, args.frames, args.image_size, args.clips, args.batch_size, args.hwaccel,
                           args.augment_device) for workers in args.workers]
    report = {"machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__},
              "video": {"seconds": seconds, "height": height, "width": width, "fps": 30, "gop": args.gop or 250,
                        "megabytes": megabytes},
              "one_core": split, "results": results}
    decoder = f"{args.hwaccel} hardware decoding" if args.hwaccel else "software decoding"
    decoder += f", augmentation on {args.augment_device or 'cpu'}"
    print(f"{decoder}, one core: decode {split['decode_ms_per_clip']:.1f} ms + augment {split['augment_ms_per_clip']:.1f} ms "
          f"per clip = {split['clips_per_s_per_core']:.1f} clips/s (videos of {megabytes:.2f} MB, GOP {args.gop or 250})")
    for row in results:
        print(f"{row['workers']:3d} workers, {row['frames']} frames at {row['image_size']} px: "
              f"{row['clips_per_s']:7.1f} clips/s")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
