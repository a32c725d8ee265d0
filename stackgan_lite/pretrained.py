"""Shipped generator weights: `load("lite")` gives trained Stage-I and Stage-II generators;
`load_stage1("lite_noca")` the Stage-I of the "without CA" ablation (paper §5.2), which has no
Stage-II; `load_tree("lite_v2")` the StackGAN-v2 generator tree.

Each file holds a generator's state dict and the preset it was trained with; loading checks that
the preset still matches, so weights never silently meet networks of another shape (or, for the
ablation, a generator that samples its condition where it was trained not to).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import NamedTuple

import torch

from stackgan_lite import presets
from stackgan_lite.presets import Preset
from stackgan_lite.stackgan_v2 import TreeGenerator
from stackgan_lite.stage1 import Stage1Generator
from stackgan_lite.stage2 import Stage2Generator
from stackgan_lite.train import load_checkpoint, save_checkpoint

__all__ = [
    "WEIGHTS",
    "Pretrained",
    "export",
    "load",
    "load_generator",
    "load_stage1",
    "load_tree",
    "weights_path",
]

WEIGHTS = Path(__file__).parent / "weights"


class Pretrained(NamedTuple):
    preset: Preset
    stage1: Stage1Generator
    stage2: Stage2Generator


def weights_path(preset: str | Preset, stage: int = 1) -> Path:
    """stackgan_lite/weights/<name>_stage<N>.pt; `_noca` appended for the "without CA" ablation,
    which shares its preset's name (so `export` never overwrites the CA model's file). A
    StackGAN-v2 tree is one file, <name>.pt."""
    p = presets.get(preset) if isinstance(preset, str) else preset
    if p.branches:
        return WEIGHTS / f"{p.name}.pt"
    suffix = "" if p.conditioning_augmentation else "_noca"
    return WEIGHTS / f"{p.name}_stage{stage}{suffix}.pt"


def _shipped(name: str, stage: int) -> Path:
    path = weights_path(name, stage)
    if not path.is_file():
        how = "" if presets.get(name).branches else f" --stage {stage}"
        raise FileNotFoundError(
            f"no shipped weights for preset {name!r} (looked for {path}); train them with "
            f"`python -m stackgan_lite train --preset {name}{how}`"
        )
    return path


def load_generator(
    preset: Preset, path: Path, stage: int = 1, device: str | torch.device = "cpu"
) -> Stage1Generator | Stage2Generator | TreeGenerator:
    """The generator in a training checkpoint (its EMA copy when the run kept one) or in an
    exported weights file, for `preset` and `stage` (a StackGAN-v2 tree: stage 1), in eval mode."""
    state = load_checkpoint(path, preset, stage)
    if preset.branches:
        net = TreeGenerator(preset)
    else:
        net = (Stage1Generator if stage == 1 else Stage2Generator)(preset)
    net.load_state_dict(state.get("ema") or state["generator"])
    return net.to(device).eval()


def load(name: str = "lite", device: str | torch.device = "cpu") -> Pretrained:
    """The shipped Stage-I and Stage-II generators of preset `name`, in eval mode."""
    preset = presets.get(name)
    if preset.branches:
        raise ValueError(f"{name!r} is a StackGAN-v2 tree, one generator: use load_tree({name!r})")
    paths = {stage: _shipped(name, stage) for stage in (1, 2)}
    g1, g2 = (load_generator(preset, paths[s], s, device) for s in (1, 2))
    return Pretrained(preset, g1, g2)


def load_stage1(name: str = "lite", device: str | torch.device = "cpu") -> Stage1Generator:
    """The shipped Stage-I generator of preset `name` alone (`lite_noca` has no Stage-II)."""
    return load_generator(presets.get(name), _shipped(name, 1), 1, device)


def load_tree(name: str = "lite_v2", device: str | torch.device = "cpu") -> TreeGenerator:
    """The shipped StackGAN-v2 generator tree of preset `name`, in eval mode."""
    return load_generator(presets.get(name), _shipped(name, 1), 1, device)


def export(preset: Preset, checkpoint: Path, stage: int = 1, out: Path | None = None) -> Path:
    """Keep only what sampling needs from a training checkpoint: the generator (its EMA copy
    when the run kept one) and the preset. Returns the written file (the shipped name by default)."""
    state = load_checkpoint(checkpoint, preset, stage)
    out = out or weights_path(preset, stage)
    slim = {
        "format": state["format"],
        "preset": dataclasses.asdict(preset),
        "stage": stage,
        "step": state["step"],
        "seed": state["seed"],
        "generator": state.get("ema") or state["generator"],
    }
    save_checkpoint(out, slim)
    return out
