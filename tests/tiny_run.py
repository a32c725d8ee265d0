"""A tiny, fast training setup for the trainer tests; also run as a script by them
(in a subprocess that gets killed, and under torchrun for DDP)."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import Dataset

from stackgan_lite import presets
from stackgan_lite.data import Sample
from stackgan_lite.train import CHECKPOINT_FORMAT, RunOptions, save_checkpoint, train

TINY = presets.get("lite").replace(
    name="tiny",
    batch_size=4,
    text_dim=16,
    condition_dim=8,
    z_dim=8,
    ngf=8,
    ndf=8,
    residual_blocks=1,
    lr_decay_epochs=1,
    epochs=2,
    stage2_matching_coef=0.0,  # its text_dim has no shipped joint embedding to match with
    # its samples carry one label, not the shapes set's six
    stage1_aux_weights=(),
    stage2_aux_weights=(),
    stage2_spectral_coef=0.0,
)

# the same sizes as a StackGAN-v2 tree: 16, 32 and 64 px
TINY_V2 = TINY.replace(
    name="tiny_v2",
    branches=3,
    stage2_projection_head=False,
    stage2_contrast_weights=(),
    stage2_conditional_bn=False,
    stage2_contrast_coef=0.0,
)


def write_generator_checkpoint(
    path: Path, preset: presets.Preset, generator: torch.nn.Module
) -> Path:
    """A stage-1 checkpoint holding only `generator`, as a researcher's own run would leave one
    (for the export / evaluate / sample commands)."""
    state = {
        "format": CHECKPOINT_FORMAT,
        "preset": dataclasses.asdict(preset),
        "stage": 1,
        "step": 3,
        "seed": 0,
        "generator": generator.state_dict(),
    }
    save_checkpoint(path, state)
    return path


class TinyDataset(Dataset):
    """24 random but fixed samples; `delay` seconds per item slows a run down to be killed;
    from epoch `nan_epoch` on, the embeddings hold a NaN."""

    def __init__(self, size: int = 24, delay: float = 0.0, nan_epoch: int | None = None) -> None:
        self.size, self.delay, self.nan_epoch = size, delay, nan_epoch
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> Sample:
        time.sleep(self.delay)
        g = torch.Generator().manual_seed(i)
        embedding = torch.randn(TINY.text_dim, generator=g)
        if self.nan_epoch is not None and self.epoch >= self.nan_epoch:
            embedding[0] = float("nan")
        return Sample(
            torch.rand(3, 16, 16, generator=g) * 2 - 1,
            torch.rand(3, 64, 64, generator=g) * 2 - 1,
            embedding,
            f"caption {i}",
            torch.tensor([i % 3]),
            torch.randn(TINY.text_dim, generator=g),
        )


if __name__ == "__main__":
    out, steps, delay = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    resume = "--resume" in sys.argv
    preset = TINY_V2 if "--v2" in sys.argv else TINY
    options = RunOptions(
        out=out, steps=steps, checkpoint_every=2, log_every=4, resume=resume, threads=1
    )
    result = train(preset, options, TinyDataset(delay=delay))
    if "RANK" in os.environ:  # started by torchrun
        assert not torch.distributed.is_initialized(), "train() left its process group alive"
        rank = os.environ["RANK"]
        torch.save(result.generator.state_dict(), out / f"generator_rank{rank}.pt")
