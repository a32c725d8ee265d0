"""Image grids and figures (torchvision's `make_grid` / `save_image` do the work)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.utils import make_grid, save_image

from stackgan_lite.runtime import eval_mode
from stackgan_lite.stackgan_v2 import TreeGenerator

__all__ = ["generate", "plot_losses", "sample_grid", "save_grid", "side_by_side"]


@torch.no_grad()
def generate(
    generator: nn.Module,
    stage1: nn.Module | None,
    phi_t: Tensor,
    z: Tensor,
    epsilon: Tensor | None = None,
) -> tuple[Tensor, Tensor | None]:
    """(Stage-I image, Stage-II image or None) in eval mode. `generator` is the Stage-I generator
    when `stage1` is None, else the Stage-II generator fed by the frozen `stage1`. The same
    epsilon drives both stages' CA (each has its own CA layer)."""
    with eval_mode(generator, stage1):
        if stage1 is None:
            return generator(phi_t, z, epsilon).image, None
        image1 = stage1(phi_t, z, epsilon).image
        return image1, generator(image1, phi_t, epsilon).image


def sample_grid(
    generator: nn.Module, stage1: nn.Module | None, phi_t: Tensor, z: Tensor, path: str | Path
) -> Path:
    """The training run's progress picture: fixed captions and fixed z, epsilon = 0 (c_hat = mu);
    Stage-II runs show each Stage-I sample beside its refinement, StackGAN-v2 runs every scale of
    each sample side by side."""
    epsilon = torch.zeros(phi_t.shape[0], generator.preset.condition_dim, device=phi_t.device)
    if isinstance(generator, TreeGenerator):
        with torch.no_grad(), eval_mode(generator):
            images = generator(phi_t, z, epsilon).images
        return save_grid(side_by_side(*images), path, nrow=3 * len(images))
    image1, image2 = generate(generator, stage1, phi_t, z, epsilon)
    if image2 is None:
        return save_grid(image1, path, nrow=8)
    return save_grid(side_by_side(image1, image2), path, nrow=8)


def plot_losses(log_path: str | Path, png_path: str | Path) -> Path:
    """Plot D and G losses, KL and D's mean outputs from a run's JSONL log."""
    # A bare Figure draws without pyplot, so saving the plot during training never switches the
    # notebook's backend (matplotlib.use("Agg") did: later plt.show() calls showed nothing).
    from matplotlib.figure import Figure

    records = [json.loads(line) for line in Path(log_path).read_text().splitlines() if line]
    steps = [r["step"] for r in records]
    fig = Figure(figsize=(10, 3.5))
    ax_loss, ax_d = fig.subplots(1, 2)
    # a StackGAN-v2 run adds its colour term, a Stage-II run with a matching coefficient its
    # matching term; a run without text has no wrong pairs
    for ax, keys in (
        (ax_loss, ("d_loss", "g_loss", "kl", "colour", "matching")),
        (ax_d, ("d_real", "d_wrong", "d_fake")),
    ):
        for key in keys:
            if key in records[0]:
                ax.plot(steps, [r[key] for r in records], label=key)
    ax_loss.set(xlabel="step", title="losses")
    ax_d.set(xlabel="step", title="mean D output (sigmoid)", ylim=(0, 1))
    for ax in (ax_loss, ax_d):
        ax.legend()
    fig.tight_layout()
    png_path = Path(png_path)
    fig.savefig(png_path, dpi=80)
    return png_path


def side_by_side(*stages: Tensor) -> Tensor:
    """Interleave the images of k stages or scales (each nearest-upsampled to the last one's
    side), so each sample's Stage-I image sits left of its Stage-II refinement (or each
    StackGAN-v2 scale left of the next): [kB, 3, s, s]."""
    side = stages[-1].shape[-2:]
    up = [F.interpolate(x, size=side, mode="nearest") for x in stages]
    return torch.stack(up, dim=1).flatten(0, 1)


def save_grid(images: Tensor, path: str | Path, nrow: int = 8) -> Path:
    """Save images in [-1, 1] as one PNG grid; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1))
    save_image(grid, path)
    return path
