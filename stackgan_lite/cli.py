"""`python -m stackgan_lite …`: the command line. Errors are one clear line, not a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from stackgan_lite import presets
from stackgan_lite.stackgan_v2 import TreeDiscriminator, TreeGenerator
from stackgan_lite.stage1 import Stage1Discriminator, Stage1Generator
from stackgan_lite.stage2 import Stage2Discriminator, Stage2Generator

__all__ = ["main", "summary"]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _logits(out) -> str:
    return ", ".join(f"{k} {list(t.shape)}" for k, t in out._asdict().items() if t is not None)


@torch.no_grad()
def summary(preset_name: str, batch: int = 2) -> str:
    """Each network's output shape for a batch of `batch` and its parameter count, as a table."""
    preset = presets.get(preset_name)
    phi_t = torch.randn(batch, preset.text_dim)
    z = torch.randn(batch, preset.z_dim)
    if preset.branches:
        rows = _tree_rows(preset, phi_t, z)
    else:
        g1, d1 = Stage1Generator(preset).eval(), Stage1Discriminator(preset).eval()
        g2, d2 = Stage2Generator(preset).eval(), Stage2Discriminator(preset).eval()
        image1 = g1(phi_t, z).image
        image2 = g2(image1, phi_t).image
        rows = [
            ("Stage1Generator", f"{list(image1.shape)}", g1),
            ("Stage1Discriminator", _logits(d1(image1, phi_t)), d1),
            ("Stage2Generator", f"{list(image2.shape)}", g2),
            ("Stage2Discriminator", _logits(d2(image2, phi_t)), d2),
        ]
    lines = [
        f"preset {preset.name}: batch {batch}",
        f"{'network':<22}{'output':<34}{'parameters':>14}",
    ]
    lines += [f"{name:<22}{shape:<34}{count_parameters(net):>14,}" for name, shape, net in rows]
    return "\n".join(lines)


def _tree_rows(preset: presets.Preset, phi_t: torch.Tensor, z: torch.Tensor) -> list:
    """summary's rows for a StackGAN-v2 tree: the generator (its output at every scale), then
    each scale's discriminator."""
    g, ds = TreeGenerator(preset).eval(), TreeDiscriminator(preset).eval()
    out = g(phi_t, z)
    sides = ", ".join(str(x.shape[-1]) for x in out.images)
    rows = [("TreeGenerator", f"[{out.image.shape[0]}, 3, s, s], s = {sides}", g)]
    for i, (d, x) in enumerate(zip(ds.scales, out.images, strict=True)):
        rows.append((f"ScaleDiscriminator {i}", _logits(d(x, out.mu)), d))
    return rows


def _cmd_summary(args: argparse.Namespace) -> None:
    print(summary(args.preset, args.batch))


def _cmd_train(args: argparse.Namespace) -> None:
    from stackgan_lite.data import build_dataset
    from stackgan_lite.train import RunOptions, reads_stage2_data, train

    preset = presets.get(args.preset)
    stage = _stage(args, preset)
    out = Path(
        args.out or f"runs/{preset.name}/" + ("tree" if preset.branches else f"stage{stage}")
    )
    stage1 = args.stage1
    if stage == 2 and stage1 is None:
        own = out.parent / "stage1" / "checkpoint.pt"
        stage1 = own if own.is_file() else None  # else: the preset's shipped Stage-I weights
    options = RunOptions(
        stage=stage,
        out=out,
        steps=args.steps,
        seed=args.seed,
        resume=args.resume,
        stage1_checkpoint=Path(stage1) if stage1 else None,
        log_every=args.log_every,
        checkpoint_every=args.checkpoint_every,
        device=args.device,
        amp=args.amp,
        channels_last=args.channels_last,
        num_workers=args.workers,
    )
    stage2 = reads_stage2_data(preset, stage)
    dataset = build_dataset(preset, "train", args.data, stage2=stage2, cache=args.cache)
    result = train(preset, options, dataset)
    print(f"checkpoint: {result.checkpoint}\nlog: {result.log}")


def _stage(args: argparse.Namespace, preset: presets.Preset) -> int:
    """--stage: required for a StackGAN-v1 preset, 1 (its only run) for a StackGAN-v2 tree."""
    if preset.branches:
        if args.stage == 2:
            raise ValueError(
                f"preset {preset.name!r} is a StackGAN-v2 tree, trained and stored as one "
                "network with all its scales: drop --stage"
            )
        return 1
    if args.stage is None:
        raise ValueError(f"preset {preset.name!r} has two stages: add --stage 1 or --stage 2")
    return args.stage


def _generators(args: argparse.Namespace):
    """The shipped generators of --preset, or those of the --stage1 / --stage2 files; for a
    StackGAN-v2 preset (the tree, None), the tree from --tree or the shipped one."""
    from stackgan_lite import pretrained

    preset = presets.get(args.preset)
    if preset.branches:
        if args.stage1 is not None or args.stage2 is not None:
            raise ValueError(f"preset {preset.name!r} is one tree: pass its file with --tree")
        if args.tree is None:
            return pretrained.load_tree(preset.name), None
        return pretrained.load_generator(preset, Path(args.tree)), None
    if args.tree is not None:
        raise ValueError(f"--tree is for StackGAN-v2 presets; {preset.name!r} has two stages")
    if args.stage1 is None:
        if args.stage2 is not None:
            raise ValueError("--stage2 needs the Stage-I file it was trained on: add --stage1")
        models = pretrained.load(args.preset)
        return models.stage1, models.stage2
    g1 = pretrained.load_generator(preset, Path(args.stage1), 1)
    g2 = None if args.stage2 is None else pretrained.load_generator(preset, Path(args.stage2), 2)
    return g1, g2


def _cmd_sample(args: argparse.Namespace) -> None:
    from stackgan_lite import text
    from stackgan_lite.viz import generate, save_grid, side_by_side

    g1, g2 = _generators(args)
    if g2 is None and not isinstance(g1, TreeGenerator):
        raise ValueError("sample draws Stage-I beside Stage-II: add --stage2 CHECKPOINT")
    torch.manual_seed(args.seed)
    phi_t = text.embed([args.caption] * args.n, g1.preset)
    z = torch.randn(args.n, g1.preset.z_dim)
    if g2 is None:  # the tree: every scale of each sample, side by side
        with torch.no_grad():
            images = g1(phi_t, z).images
        what = " | ".join(f"{x.shape[-1]} px" for x in images)
    else:
        images = generate(g2, g1, phi_t, z)
        what = "Stage-I | Stage-II"
    k = len(images)
    path = save_grid(side_by_side(*images), args.out, nrow=k * max(1, 8 // k))
    print(f"{args.n} samples of {args.caption!r} ({what}): {path}")


def _cmd_train_text(args: argparse.Namespace) -> None:
    from stackgan_lite import text

    out = Path(args.out) if args.out else text.weights_path(args.preset)
    metrics = text.train_text_encoder(
        args.preset, steps=args.steps, seed=args.seed, out_path=out, progress=True
    )
    shown = {k: v for k, v in metrics.items() if k != "loss"}
    print(f"text encoder written to {out}: {shown}")


def _cmd_train_classifier(args: argparse.Namespace) -> None:
    from stackgan_lite.metrics.shapes_classifier import WEIGHTS, train_classifier

    out = Path(args.out) if args.out else WEIGHTS
    metrics = train_classifier(args.preset, steps=args.steps, seed=args.seed, out_path=out)
    print(f"classifier written to {out}: {metrics}")


def _cmd_export(args: argparse.Namespace) -> None:
    from stackgan_lite import pretrained

    preset = presets.get(args.preset)
    stage = _stage(args, preset)
    out = Path(args.out) if args.out else None
    path = pretrained.export(preset, Path(args.checkpoint), stage, out)
    what = "generator tree" if preset.branches else f"Stage-{stage} generator"
    print(f"{what} of {args.checkpoint} written to {path}")


def _cmd_demo(args: argparse.Namespace) -> None:
    from stackgan_lite.demo import run_demo

    run_demo(Path(args.out), seed=args.seed)


def _confusion_table(attribute: str, counts: list[list[int]]) -> str:
    """One attribute's confusion matrix as text, each row in % of that caption value's images."""
    from stackgan_lite.data.shapes import ATTRIBUTES

    values = ATTRIBUTES[attribute]
    width = max(map(len, values)) + 2
    label = max(width, len(attribute))
    lines = [attribute.ljust(label) + "".join(v.rjust(width) for v in values)]
    for value, row in zip(values, counts, strict=True):
        cells = (f"{100 * c / sum(row):.0f}" if sum(row) else "-" for c in row)
        lines.append(f"  {value}".ljust(label) + "".join(c.rjust(width) for c in cells))
    return "\n".join(lines)


def _cmd_evaluate(args: argparse.Namespace) -> None:
    import json

    from stackgan_lite.evaluate import evaluate_lite

    preset = presets.get(args.preset)
    if preset.dataset != "shapes" or not preset.text_conditioned:
        raise ValueError(
            "evaluate scores text-to-image generators on the embedded dataset (presets lite, "
            f"lite_v2); for {args.preset!r} use stackgan_lite.metrics.evaluate_generator "
            "(with the paper's Inception-v3 weights for cub / flowers)"
        )
    g1, g2 = _generators(args)
    if args.stage == 2 and g2 is None and not preset.branches:
        raise ValueError("--stage 2 needs --stage2 CHECKPOINT as well as --stage1")
    result = evaluate_lite(g1, g2, stage=args.stage, n=args.n, seed=args.seed, preset=preset.name)
    if args.json:
        print(json.dumps(result))
        return
    seen = result["caption_consistency"]["seen"]
    held = result["caption_consistency"]["held_out"]
    what = f"{'first' if args.stage == 1 else 'last'} scale" if preset.branches else ""
    print(
        f"{what or f'Stage-{args.stage}'} · {result['side']} px · N={result['n']} · splits={result['splits']} · seed={result['seed']}\n"
        f"classifier score {result['classifier_score']:.3f} ± {result['classifier_score_std']:.3f} "
        f"(real images: {result['classifier_score_real']:.3f}; maximum "
        f"{result['classifier_score_max']})\nFID {result['fid']:.3f}\n"
        f"caption consistency, seen pairs: {seen}\ncaption consistency, held-out pairs: {held}\n"
        f"R-precision {result['r_precision']:.3f} · diversity {result['diversity']:.3f} "
        f"(real {result['diversity_real']:.3f})\n"
        "confusion, % of each caption value (rows: the caption's value, columns: the value drawn):"
    )
    for attribute, counts in result["confusion"].items():
        print(_confusion_table(attribute, counts))


def _preset_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--preset", default="lite", help=f"one of: {', '.join(presets.available())}"
    )


def _checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    for stage in (1, 2):
        parser.add_argument(
            f"--stage{stage}",
            default=None,
            help=f"Stage-{'I' * stage} checkpoint or exported weights (default: the shipped ones)",
        )
    parser.add_argument(
        "--tree",
        default=None,
        help="StackGAN-v2 presets: the tree's checkpoint or exported weights (default: shipped)",
    )


def _weights_training_arguments(parser: argparse.ArgumentParser) -> None:
    """train-text and train-classifier: the preset, steps, seed and where the weights go."""
    _preset_argument(parser)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="weights file (default: the shipped one)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stackgan_lite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("summary", help="output shape and parameter count of each network")
    _preset_argument(p)
    p.add_argument("--batch", type=int, default=2)
    p.set_defaults(run=_cmd_summary)

    p = commands.add_parser("train", help="train Stage-I or Stage-II, or a StackGAN-v2 tree")
    _preset_argument(p)
    p.add_argument(
        "--stage", type=int, choices=(1, 2), default=None, help="v1 presets (v2 trains in one run)"
    )
    p.add_argument("--steps", type=int, default=None, help="default: the preset's epochs")
    p.add_argument(
        "--out", default=None, help="run folder (default: runs/PRESET/stageN, runs/PRESET/tree)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=None, help="dataset folder (cub / flowers presets)")
    p.add_argument(
        "--stage1",
        default=None,
        help="Stage-I checkpoint for --stage 2 (default: runs/PRESET/stage1, else shipped)",
    )
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    p.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    p.add_argument(
        "--cache", action="store_true", help="cache cropped, resized images under data/cache/"
    )
    p.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="bf16 autocast (default: on for CUDA GPUs with native bf16, Ampere and newer)",
    )
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels_last memory format (default: on for CUDA)",
    )
    p.set_defaults(run=_cmd_train)

    p = commands.add_parser("sample", help="images for a typed caption, Stage-I beside Stage-II")
    _preset_argument(p)
    p.add_argument("--caption", required=True)
    p.add_argument("--n", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="PNG file to write")
    _checkpoint_arguments(p)
    p.set_defaults(run=_cmd_sample)

    p = commands.add_parser("train-text", help="train the joint text-image embedding")
    _weights_training_arguments(p)
    p.set_defaults(run=_cmd_train_text)

    p = commands.add_parser("train-classifier", help="train the evaluation classifier (lite)")
    _weights_training_arguments(p)
    p.set_defaults(run=_cmd_train_classifier)

    p = commands.add_parser("evaluate", help="score generators on the embedded dataset (lite)")
    _preset_argument(p)
    p.add_argument(
        "--stage",
        type=int,
        choices=(1, 2),
        default=2,
        help="1: Stage-I (a tree's first scale), 2: Stage-II (a tree's last scale)",
    )
    p.add_argument("--n", type=int, default=1000, help="number of test captions / images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _checkpoint_arguments(p)
    p.set_defaults(run=_cmd_evaluate)

    p = commands.add_parser("export", help="slim a training checkpoint to its generator")
    _preset_argument(p)
    p.add_argument("--stage", type=int, choices=(1, 2), default=None, help="v1 presets")
    p.add_argument("--checkpoint", required=True, help="the run's checkpoint.pt")
    p.add_argument("--out", default=None, help="weights file (default: the shipped one)")
    p.set_defaults(run=_cmd_export)

    p = commands.add_parser("demo", help="the main job on the embedded dataset")
    p.add_argument("--out", default="runs/demo", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
