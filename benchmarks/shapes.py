"""Rendering speed of the embedded shapes dataset: samples/s for 10,000 samples at 16 and 64 px.

    python benchmarks/shapes.py [--samples 10000] [--threads N]

Also times the whole `ShapesDataset` construction (both sides, captions, no embeddings).
"""

from __future__ import annotations

import argparse
import time

import torch

from stackgan_lite.data.shapes import ShapesDataset, render, sample_scenes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (numpy: env)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    scenes = sample_scenes(args.samples, "train", seed=0)
    for side in (16, 64):
        start = time.perf_counter()
        render(scenes, side)
        seconds = time.perf_counter() - start
        print(
            f"render {args.samples} at {side:>2} px: {seconds:6.2f} s, "
            f"{args.samples / seconds:8.0f} samples/s"
        )

    start = time.perf_counter()
    ShapesDataset("lite", "train", args.samples, with_embedding=False)
    seconds = time.perf_counter() - start
    print(f"ShapesDataset('lite', size={args.samples}, with_embedding=False): {seconds:6.2f} s")


if __name__ == "__main__":
    main()
