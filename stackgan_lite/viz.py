"""Image grids and figures (torchvision's `make_grid` / `save_image` do the work)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor
from torchvision.utils import make_grid, save_image

__all__ = ["save_grid", "side_by_side"]


def side_by_side(stage1: Tensor, stage2: Tensor) -> Tensor:
    """Interleave Stage-I images (nearest-upsampled to the Stage-II side) with Stage-II images,
    so each Stage-I sample sits left of its Stage-II refinement: [2B, 3, s2, s2]."""
    up = F.interpolate(stage1, size=stage2.shape[-2:], mode="nearest")
    return torch.stack([up, stage2], dim=1).flatten(0, 1)


def save_grid(images: Tensor, path: str | Path, nrow: int = 8) -> Path:
    """Save images in [-1, 1] as one PNG grid; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid = make_grid(images.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1))
    save_image(grid, path)
    return path
