"""Median wall time of one full training iteration (G forward, D step, G step), images/s and
peak memory, for one preset and stage, with the variants side by side in one run.

    python benchmarks/train_step.py --preset cub --stage 1 --batch 64
    python benchmarks/train_step.py --preset lite --stage 2 --data     # with the data pipeline
    python benchmarks/train_step.py --preset cub_v2 --iters 2          # v2 beside v1's two stages

A StackGAN-v2 preset (one joint iteration over its whole tree) is timed beside the StackGAN-v1
preset it compares with (`--compare`, default: its name without `_v2`), Stage-I and Stage-II at
the same batch size, and their sum: what one v1 iteration of both stages costs.

Each variant runs in its own subprocess, so peak memory (max RSS on CPU, max allocated on CUDA)
is that variant's alone. Reference on a 2-core CPU (the issue's measurement of the authors'
PyTorch release): Stage-I at batch 64 ≈ 7.5–8 s per iteration, Stage-II at batch 8 ≈ 12–13 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

VARIANTS = {
    "eager": {},
    "channels_last": {"channels_last": True},
    "bf16": {"amp": True},
    "bf16+channels_last": {"amp": True, "channels_last": True},
    "compile": {"compile": True},
}


def measure(args: argparse.Namespace, variant: dict) -> dict:
    from stackgan_lite import presets, runtime
    from stackgan_lite.stage1 import Stage1Generator
    from stackgan_lite.train import build_models, train_step, train_step_tree

    torch.set_num_threads(args.threads)
    device = runtime.pick_device(args.device)
    preset = presets.get(args.preset).replace(batch_size=args.batch)
    runtime.seed_everything(0)
    stage1 = None
    if args.stage == 2:
        stage1 = Stage1Generator(preset).to(device).eval().requires_grad_(False)
    models = build_models(preset, args.stage, device, steps_per_epoch=1000, stage1=stage1)
    if args.stage == 2 and preset.stage2_spectral_coef > 0:  # train() fits it on its dataset
        from stackgan_lite.data.shapes import ShapesDataset
        from stackgan_lite.train import fit_pattern_judge

        real = ShapesDataset(preset, "train", size=256, with_embedding=False)
        models.judge = fit_pattern_judge(real, device)
    memory_format = torch.channels_last if variant.get("channels_last") else torch.contiguous_format
    for net in (models.generator, models.discriminator):
        net.to(memory_format=memory_format)
    if variant.get("compile"):
        models.generator = torch.compile(models.generator)
        models.discriminator = torch.compile(models.discriminator)

    # a StackGAN-v2 tree takes the largest side and averages it down to its other scales
    side = preset.stage1_side if args.stage == 1 and not preset.branches else preset.stage2_side
    step = train_step_tree if preset.branches else train_step
    batches = _batches(args, preset, side)
    times = []
    for i in range(args.warmup + args.iters):
        real, phi_t, labels = next(batches)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        real = real.to(device, non_blocking=True).contiguous(memory_format=memory_format)
        phi_t = phi_t.to(device, non_blocking=True)
        step(models, real, phi_t, labels, preset, amp=bool(variant.get("amp")))
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "s_per_iter": median,
        "images_per_s": args.batch / median,
        "peak_mib": peak,
        "device": str(device),
    }


def _random_labels(preset, batch: int, g: torch.Generator) -> torch.Tensor:
    """Attribute labels [batch, 6] for the shapes set (its auxiliary classifiers read them),
    class labels [batch] otherwise."""
    from stackgan_lite.data.shapes import ATTRIBUTE_SIZES

    if preset.dataset != "shapes":
        return torch.randint(0, 10, (batch,), generator=g)
    return torch.stack([torch.randint(n, (batch,), generator=g) for n in ATTRIBUTE_SIZES], dim=1)


def _batches(args: argparse.Namespace, preset, side: int):
    """Random tensors, or (--data) batches from the preset's dataset through a DataLoader, so
    the figure includes what a user's run pays for loading."""
    if not args.data:
        g = torch.Generator().manual_seed(0)
        while True:
            yield (
                torch.rand(args.batch, 3, side, side, generator=g) * 2 - 1,
                torch.randn(args.batch, preset.text_dim, generator=g),
                _random_labels(preset, args.batch, g),
            )
    from torch.utils.data import DataLoader

    from stackgan_lite.data import build_dataset

    dataset = build_dataset(preset, "train", args.root, stage2=side == preset.stage2_side)
    loader = DataLoader(
        dataset, batch_size=args.batch, shuffle=True, drop_last=True, num_workers=args.workers
    )
    while True:
        for sample in loader:
            image = sample.image1 if side == preset.stage1_side else sample.image2
            yield image, sample.embedding, sample.labels


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default="lite")
    parser.add_argument("--stage", type=int, choices=(1, 2), default=1)
    parser.add_argument("--batch", type=int, default=None, help="default: the preset's batch size")
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", action="store_true", help="include the data pipeline")
    parser.add_argument("--root", default=None, help="data folder for cub / flowers")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument(
        "--variants",
        default=None,
        help=f"comma-separated among {', '.join(VARIANTS)} (default: eager, "
        "channels_last, and on CUDA the bf16 ones)",
    )
    parser.add_argument(
        "--compare", default=None, help="v1 preset timed beside a v2 one (default: name − _v2)"
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from stackgan_lite import presets

    if args.batch is None:
        args.batch = presets.get(args.preset).batch_size
    if args.one:  # inside a variant's subprocess
        print(json.dumps(measure(args, VARIANTS[args.one])))
        return
    jobs = [(args.preset, args.stage, f"{args.preset} Stage-{args.stage}")]
    if presets.get(args.preset).branches:
        v1 = args.compare or args.preset.removesuffix("_v2")
        jobs = [
            (args.preset, 1, f"{args.preset} tree"),
            (v1, 1, f"{v1} Stage-I"),
            (v1, 2, f"{v1} Stage-II"),
        ]

    cuda = torch.cuda.is_available() and args.device in ("auto", "cuda")
    names = (
        args.variants.split(",")
        if args.variants
        else (
            ["eager", "channels_last", "bf16", "bf16+channels_last"]
            if cuda
            else ["eager", "channels_last"]
        )
    )
    print(
        f"batch {args.batch} · {args.threads} CPU threads · "
        f"data pipeline {'on' if args.data else 'off'}"
    )
    print(f"{'run':<20}{'variant':<20}{'s / iter':>10}{'images/s':>11}{'peak MiB':>11}  device")
    for name in names:
        seconds = {}
        for preset, stage, label in jobs:
            argv = [*sys.argv[1:], "--preset", preset, "--stage", str(stage), "--one", name]
            argv += ["--batch", str(args.batch)]
            result = subprocess.run(
                [sys.executable, __file__, *argv], capture_output=True, text=True
            )
            if result.returncode != 0:
                print(f"{label:<20}{name:<20} failed: {result.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(result.stdout.strip().splitlines()[-1])
            seconds[label] = r["s_per_iter"]
            print(
                f"{label:<20}{name:<20}{r['s_per_iter']:>10.3f}{r['images_per_s']:>11.1f}"
                f"{r['peak_mib']:>11.0f}  {r['device']}"
            )
        if len(jobs) == 3 and len(seconds) == 3:
            both = seconds[jobs[1][2]] + seconds[jobs[2][2]]
            label = f"{jobs[1][0]} I + II"
            print(f"{label:<20}{name:<20}{both:>10.3f}{args.batch / both:>11.1f}")


if __name__ == "__main__":
    main()
