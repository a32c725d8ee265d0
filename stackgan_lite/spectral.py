"""A fixed judge of the embedded set's pattern, read off the image's power spectrum.

The shapes set paints its pattern with a period of 1/16 of the canvas (`data.shapes`), so each
pattern puts its energy at a few known frequencies, k = 16 cycles per image along an axis
(4 px at 64 px):

    stripes (vertical)  (f_y, f_x) = (0, ±k), and the harmonic (0, ±2k)
    checks              (±k, ±k), both diagonals
    dots                every one of them
    plain               none

Six bins of the power spectrum of the image's high-passed luminance g = Y − box5(Y),

    f(x) = log(|F(g)|²(b) / side² + 1e-6)   for b in (0, k), (k, 0), (k, k), (k, −k), (0, 2k), (2k, 0),

tell the four apart on real images almost without error, wherever the object is: |F(g)|² does
not change when the image is shifted. The judge is a linear softmax classifier of the
standardised features, fitted once on real training images and then fixed,

    logit(f) = W (f − m) / s + b,

and Stage-II's G term (`stage2_spectral_coef`) is its cross-entropy under the caption's pattern,

    L_spec = E[−log softmax(logit(f(G(s0, c_hat))))[pattern(t)]].

D's heads and the joint embedding are learnt judges: G found 4-px textures that they read as
the caption's pattern and the evaluation classifier does not. Six fixed frequencies leave no
such texture: energy at the right ones, and not at the others, is the pattern.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CYCLES", "PatternJudge", "pattern_spectrum", "spectral_pattern_loss"]

CYCLES = 16  # the pattern's frequency in cycles per image (its period: 1/16 of the canvas)
_BINS = (
    (0, CYCLES),
    (CYCLES, 0),
    (CYCLES, CYCLES),
    (CYCLES, -CYCLES),
    (0, 2 * CYCLES),
    (2 * CYCLES, 0),
)


def pattern_spectrum(images: Tensor) -> Tensor:
    """f(x) [B, 6]: the log power of images [B, 3, s, s] (s ≥ 4k = 64) at the pattern's bins."""
    side = images.shape[-1]
    if side < 4 * CYCLES:
        raise ValueError(
            f"the pattern's harmonic ({2 * CYCLES} cycles per image) needs images of at least "
            f"{4 * CYCLES} px, got {side} px: score the Stage-II images"
        )
    y = images.float().mean(dim=1, keepdim=True)
    g = (y - F.avg_pool2d(F.pad(y, (2, 2, 2, 2), mode="replicate"), 5, stride=1))[:, 0]
    power = torch.fft.fft2(g).abs().square() / side**2
    return torch.log(torch.stack([power[:, fy, fx] for fy, fx in _BINS], dim=1) + 1e-6)


class PatternJudge(nn.Module):
    """logit(f) = W (f − m) / s + b over the patterns (see the module docstring)."""

    def __init__(self, patterns: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(len(_BINS)))  # m
        self.register_buffer("scale", torch.ones(len(_BINS)))  # s
        self.linear = nn.Linear(len(_BINS), patterns)  # W, b

    @classmethod
    def fit(
        cls, images: Tensor, patterns: Tensor, steps: int = 500, batch_size: int = 1024
    ) -> PatternJudge:
        """Fitted on real images [N, 3, s, s] (uint8, or float in [−1, 1]) and their pattern
        labels [N] by full-batch Adam from zero weights, so the same images give the same judge
        whatever the random state (a resumed run refits it). Returned frozen, in eval mode."""
        if images.dtype == torch.uint8:
            images = images.float() / 127.5 - 1
        count = int(patterns.max()) + 1
        present = torch.bincount(patterns, minlength=count)
        if (present == 0).any():
            raise ValueError(
                f"fitting the pattern judge needs images of every pattern, got "
                f"{present.tolist()} per pattern: use more training images"
            )
        with torch.no_grad():
            f = torch.cat([pattern_spectrum(x) for x in images.split(batch_size)])
        judge = cls(count)
        judge.mean.copy_(f.mean(dim=0))
        judge.scale.copy_(f.std(dim=0))
        nn.init.zeros_(judge.linear.weight)
        nn.init.zeros_(judge.linear.bias)
        optimiser = torch.optim.Adam(judge.linear.parameters(), lr=0.05)
        with torch.enable_grad():
            for _ in range(steps):
                optimiser.zero_grad()
                F.cross_entropy(judge.linear((f - judge.mean) / judge.scale), patterns).backward()
                optimiser.step()
        return judge.requires_grad_(False).eval()

    def forward(self, images: Tensor) -> Tensor:
        """logits [B, P] of images [B, 3, s, s] in [−1, 1]."""
        return self.linear((pattern_spectrum(images) - self.mean) / self.scale)


def spectral_pattern_loss(judge: PatternJudge, fake: Tensor, patterns: Tensor) -> Tensor:
    """L_spec = E[−log softmax(judge(fake))[pattern]], the caption's pattern per image."""
    return F.cross_entropy(judge(fake), patterns.to(fake.device))
