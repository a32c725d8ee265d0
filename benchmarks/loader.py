"""Data-loading throughput for CUB-200-2011 / Oxford-102: images per second through a DataLoader.

    python benchmarks/loader.py                       # a miniature CUB tree built in a temp dir
    python benchmarks/loader.py --root data/birds     # the real data (first --limit images)

For Stage-I alone (64 px) and for both stages (64 + 256 px), from the JPEGs and from the uint8
cache, with 0, 2 and 4 workers. A full pass is timed, worker start-up included. Loading does
not starve training while images/s stays above the trainer's batch size × steps/s
(`benchmarks/train_step.py` measures the latter).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from stackgan_lite.data.cub import CUBDataset
from stackgan_lite.data.flowers import FlowersDataset
from stackgan_lite.data.miniature import write_miniature_cub

DATASETS = {"cub": CUBDataset, "flowers": FlowersDataset}


def images_per_second(data: Subset, batch_size: int, workers: int) -> float:
    """Images per second over one shuffled pass, worker start-up included."""
    loader = DataLoader(data, batch_size=batch_size, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    count = sum(len(batch.caption) for batch in loader)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, help="a real birds/ or flowers/ folder")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="cub")
    parser.add_argument("--split", choices=["train", "test"], default="train")
    parser.add_argument("--limit", type=int, default=512, help="images per pass (real data)")
    parser.add_argument("--images", type=int, default=256, help="miniature tree: train images")
    parser.add_argument("--size", type=int, nargs=2, default=(500, 375), metavar=("W", "H"))
    parser.add_argument("--cache-dir", type=Path, help="default: a temp dir")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)  # one core per loader process, as in a training run
    # Asking for more workers than cores is the point of the comparison, not a mistake.
    warnings.filterwarnings("ignore", message="This DataLoader will create")

    with tempfile.TemporaryDirectory() as tmp:
        root = args.root
        if root is None:
            root = write_miniature_cub(tmp, per_split=(args.images, 1), image_size=args.size)
            args.dataset = "cub"
            print(f"miniature CUB tree: {args.images} JPEGs of {args.size[0]}×{args.size[1]} px")
        cache_dir = args.cache_dir or Path(tmp) / "cache"
        dataset = DATASETS[args.dataset]
        print(f"{torch.get_num_threads()} torch thread, batch {args.batch_size}")
        print(f"{'images':<12} {'source':<6} " + " ".join(f"{w:>3} workers" for w in args.workers))
        for stage2, label in ((False, "64 px"), (True, "64+256 px")):
            for cache in (False, True):
                start = time.perf_counter()
                data = dataset(root, args.split, stage2=stage2, cache=cache, cache_dir=cache_dir)
                ready = time.perf_counter() - start
                subset = Subset(data, range(min(len(data), args.limit)))
                rates = [images_per_second(subset, args.batch_size, w) for w in args.workers]
                source = "cache" if cache else "jpeg"
                print(
                    f"{label:<12} {source:<6} "
                    + " ".join(f"{rate:11.0f}" for rate in rates)
                    + f"   images/s  (dataset ready in {ready:.1f} s)"
                )


if __name__ == "__main__":
    main()
