"""Datasets: the embedded shapes set, CUB-200-2011 and Oxford-102.

Every dataset returns a `Sample` `(image1, image2, embedding, caption, labels)`: the image at
the Stage-I and the Stage-II side in [-1, 1], the caption's embedding phi_t, the caption, and its
labels (attribute ids for shapes, the class id for CUB / Oxford-102).

`check_cub(root)` checks a CUB-200-2011 folder before a run and lists everything missing or
malformed, each with the download it comes from.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import torch
from torch import Tensor
from torch.utils.data import Dataset

from stackgan_lite import runtime
from stackgan_lite.data.check import DataCheck, DataProblem, check_cub
from stackgan_lite.presets import Preset

__all__ = ["DataCheck", "DataProblem", "Sample", "build_dataset", "check_cub"]


class Sample(NamedTuple):
    """One item of any dataset here; a DataLoader batch is a Sample of stacked fields."""

    image1: Tensor  # [3, s1, s1] in [-1, 1]: the Stage-I side
    image2: Tensor  # [3, s2, s2] in [-1, 1]: the same view at the Stage-II side ([0] if skipped)
    embedding: Tensor  # [t] float32 phi_t of `caption` ([0] for shapes with_embedding=False)
    caption: str  # the caption that `embedding` encodes
    labels: Tensor  # shapes: [6] int64 attribute ids in ATTRIBUTES order; CUB / Oxford: [1] class
    # [t] phi_t of the caption with one attribute changed (shapes built with contrast=True);
    # [0] otherwise
    contrast: Tensor = torch.empty(0)
    contrast_caption: str = ""  # that caption's text (shapes built with contrast=True)


def build_dataset(
    preset: Preset,
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    *,
    stage2: bool = True,
    cache: bool = False,
) -> Dataset:
    """The preset's dataset: the embedded shapes for `lite`, CUB / Oxford-102 read from `root`.

    `stage2=False` builds the set for Stage-I training: for the shapes set, `stage2` draws the
    contrast captions with the preset's `stage2_contrast_weights`; for CUB / Oxford-102,
    `stage2=False` skips decoding the Stage-II side. `cache=True` reads CUB / Oxford-102 cropped
    and resized from a uint8 cache under data/cache/. In fast mode (STACKGAN_LITE_FAST=1) the
    embedded set has 1,024 images instead of its default size."""
    if preset.dataset == "shapes":
        from stackgan_lite.data.shapes import ShapesDataset

        size = 1024 if runtime.fast_mode() else None
        return ShapesDataset(
            preset,
            split,
            size=size,
            with_embedding=preset.text_conditioned,  # unconditional StackGAN-v2: images only
            contrast=preset.contrast_share > 0,
            contrast_weights=(dict(preset.stage2_contrast_weights) or None) if stage2 else None,
        )
    from stackgan_lite.data.legacy import DataNotFoundError

    if root is None:
        raise DataNotFoundError(
            f"preset {preset.name!r} trains on {preset.dataset}, which is not embedded: download "
            f"it as data/README.md explains and pass its folder (--data PATH)"
        )
    if preset.dataset == "cub":
        from stackgan_lite.data.cub import CUBDataset

        return CUBDataset(root, split, preset, stage2=stage2, cache=cache)
    from stackgan_lite.data.flowers import FlowersDataset

    return FlowersDataset(root, split, preset, stage2=stage2, cache=cache)
