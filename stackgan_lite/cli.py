"""`python -m stackgan_lite …`: the command line. Errors are one clear line, not a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from stackgan_lite import presets
from stackgan_lite.stage1 import Stage1Discriminator, Stage1Generator
from stackgan_lite.stage2 import Stage2Discriminator, Stage2Generator

__all__ = ["main", "summary"]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@torch.no_grad()
def summary(preset_name: str, batch: int = 2) -> str:
    """Each network's output shape for a batch of `batch` and its parameter count, as a table."""
    preset = presets.get(preset_name)
    g1, d1 = Stage1Generator(preset).eval(), Stage1Discriminator(preset).eval()
    g2, d2 = Stage2Generator(preset).eval(), Stage2Discriminator(preset).eval()
    phi_t = torch.randn(batch, preset.text_dim)
    image1 = g1(phi_t, torch.randn(batch, preset.z_dim)).image
    image2 = g2(image1, phi_t).image

    def logits(out):
        return ", ".join(f"{k} {list(t.shape)}" for k, t in out._asdict().items() if t is not None)

    rows = [
        ("Stage1Generator", f"{list(image1.shape)}", g1),
        ("Stage1Discriminator", logits(d1(image1, phi_t)), d1),
        ("Stage2Generator", f"{list(image2.shape)}", g2),
        ("Stage2Discriminator", logits(d2(image2, phi_t)), d2),
    ]
    lines = [
        f"preset {preset.name}: batch {batch}",
        f"{'network':<22}{'output':<34}{'parameters':>14}",
    ]
    lines += [f"{name:<22}{shape:<34}{count_parameters(net):>14,}" for name, shape, net in rows]
    return "\n".join(lines)


def _cmd_summary(args: argparse.Namespace) -> None:
    print(summary(args.preset, args.batch))


def _cmd_demo(args: argparse.Namespace) -> None:
    from stackgan_lite.viz import save_grid, side_by_side

    torch.manual_seed(args.seed)
    for name in presets.available():
        print(summary(name), end="\n\n")
    preset = presets.get("lite")
    g1, g2 = Stage1Generator(preset).eval(), Stage2Generator(preset).eval()
    with torch.no_grad():
        phi_t = torch.randn(8, preset.text_dim)
        image1 = g1(phi_t, torch.randn(8, preset.z_dim)).image
        image2 = g2(image1, phi_t).image
    path = save_grid(side_by_side(image1, image2), Path(args.out) / "untrained_lite.png", nrow=4)
    print(f"sample grid of the untrained lite networks (Stage-I | Stage-II): {path}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m stackgan_lite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("summary", help="output shape and parameter count of each network")
    p.add_argument("--preset", default="lite", help=f"one of: {', '.join(presets.available())}")
    p.add_argument("--batch", type=int, default=2)
    p.set_defaults(run=_cmd_summary)

    p = commands.add_parser("demo", help="the main job on the embedded dataset")
    p.add_argument("--out", default="runs/demo", help="output directory")
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
