"""Caption consistency of `lite` Stage-I against training wall time, from scratch, on CPU.

    python benchmarks/time_to_quality.py                    # 15 minutes, a row every 90 s
    python benchmarks/time_to_quality.py --minutes 5 --every 60 --n 300

Training runs in time-boxed segments of the same run (each resumes the last one exactly); after
each, the averaged generator is scored with `evaluate_lite` on N test captions. The clock counts
training only, not the scoring pauses. Goal (issue 6): ≥ 80 % consistency within 15 minutes on
2 threads.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from stackgan_lite import presets, pretrained
from stackgan_lite.data import build_dataset
from stackgan_lite.data.shapes import ATTRIBUTES
from stackgan_lite.evaluate import evaluate_lite
from stackgan_lite.train import RunOptions, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--every", type=float, default=90.0, help="seconds between scorings")
    parser.add_argument("--n", type=int, default=500, help="test captions per scoring")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    preset = presets.get("lite")
    dataset = build_dataset(preset, "train", stage2=False)
    names = [a for a in ATTRIBUTES if a != "pattern"]  # evaluate_lite's Stage-I attributes
    print(f"lite Stage-I from scratch, {args.threads} threads, N={args.n} test captions per row")
    print(
        f"{'min':>5} {'step':>6} "
        + " ".join(f"{n[:8]:>8}" for n in names)
        + f" {'mean':>6} {'all':>6} {'held-all':>8}"
    )
    trained = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stage1"
        while trained < args.minutes * 60:
            options = RunOptions(
                stage=1,
                out=out,
                steps=10**9,
                seed=args.seed,
                resume=(out / "checkpoint.pt").exists(),
                log_every=10**9,
                checkpoint_every=10**9,
                threads=args.threads,
                progress=False,
                time_limit=min(args.every, args.minutes * 60 - trained),
            )
            start = time.perf_counter()
            result = train(preset, options, dataset)
            trained += time.perf_counter() - start
            g1 = pretrained.load_generator(preset, result.checkpoint, 1)
            scores = evaluate_lite(g1, None, stage=1, n=args.n, seed=args.seed)
            seen = scores["caption_consistency"]["seen"]
            held = scores["caption_consistency"]["held_out"]
            per = [seen[n] for n in names]
            step = json.loads(result.log.read_text().splitlines()[-1])["step"]
            print(
                f"{trained / 60:5.1f} {step:6d} "
                + " ".join(f"{seen[n]:8.1%}" for n in names)
                + f" {sum(per) / len(per):6.1%} {seen['all']:6.1%} {held['all']:8.1%}",
                flush=True,
            )


if __name__ == "__main__":
    main()
