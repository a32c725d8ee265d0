"""A toy GAN on 2-D points, for notebook 01: the GAN game with nothing in the way.

The data is a mixture of Gaussians (by default 8 on a ring, the standard test of mode
collapse since Metz et al.'s Unrolled GAN, 2017); the generator and the discriminator are small
MLPs. Everything trains in seconds on a CPU, so a student can watch the generated points move
onto the modes, and watch them collapse onto one mode at a time when the game is unbalanced.

The losses are the package's (`stackgan_lite.losses`): the discriminator minimises

    L_D = −E_x[log D(x)] − E_z[log(1 − D(G(z)))]

(StackGAN's matching-aware loss without the text and its "wrong" term) and the generator
minimises the non-saturating −E_z[log D(G(z))] or, to see it saturate, the minimax
E_z[log(1 − D(G(z)))].

Densities on a grid (`gaussian_mixture_pdf`, `optimal_discriminator`, `js_divergence`) let the
notebook check Goodfellow et al.'s (2014) results numerically: for a fixed G the best
discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and then
V(D*, G) = −log 4 + 2 · JSD(p_data ‖ p_g).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm.auto import tqdm

from stackgan_lite.losses import generator_loss, generator_loss_minimax

__all__ = [
    "ToyDiscriminator",
    "ToyGenerator",
    "ToyRun",
    "gan_value",
    "gaussian_mixture_pdf",
    "js_divergence",
    "mode_statistics",
    "optimal_discriminator",
    "ring_centres",
    "sample_mixture",
    "train_toy_gan",
]


# --- data --------------------------------------------------------------------------------------


def ring_centres(modes: int = 8, radius: float = 2.0) -> Tensor:
    """[modes, 2] centres evenly spaced on a circle, the first at (radius, 0)."""
    if modes < 1:
        raise ValueError(f"need at least one mode, got {modes}")
    angle = torch.arange(modes, dtype=torch.float64) * (2 * math.pi / modes)
    return (radius * torch.stack([angle.cos(), angle.sin()], dim=1)).float()


def sample_mixture(
    n: int, centres: Tensor, std: float = 0.05, generator: torch.Generator | None = None
) -> Tensor:
    """n points [n, d] from the equal-weight mixture of N(centre, std² I) over the rows of centres."""
    which = torch.randint(len(centres), (n,), generator=generator)
    noise = torch.randn(n, centres.shape[1], generator=generator)
    return centres[which] + std * noise


def mode_statistics(samples: Tensor, centres: Tensor, std: float = 0.05) -> dict[str, float]:
    """How well samples [n, d] cover a mixture (the measures of Unrolled GAN / VEEGAN).

    A sample is "high quality" when it lies within 3 std of its nearest centre; a mode is
    "covered" when at least a quarter of its fair share (1 / modes) of the samples are high
    quality and nearest to it. Returns the number of modes covered, the share of high-quality
    samples, and the share of the high-quality samples that the most popular mode takes
    (1 / modes when balanced, 1.0 when collapsed onto one mode).
    """
    distance = torch.cdist(samples.double(), centres.double())  # [n, modes]
    nearest, mode = distance.min(dim=1)
    good = nearest <= 3 * std
    counts = torch.bincount(mode[good], minlength=len(centres)).double()
    fair = len(samples) / len(centres)
    spread = (samples - samples.mean(dim=0)).norm(dim=1).mean()
    return {
        "modes": int((counts >= 0.25 * fair).sum()),
        "spread": spread.item(),
        "quality": good.double().mean().item(),
        "top_mode_share": (counts.max() / counts.sum().clamp(min=1)).item(),
    }


# --- densities on a grid (1-D), for the optimal discriminator ----------------------------------


def gaussian_mixture_pdf(
    x: np.ndarray, means: list[float], stds: list[float], weights: list[float] | None = None
) -> np.ndarray:
    """The density at x of a 1-D mixture of Gaussians (equal weights unless given)."""
    x = np.asarray(x, dtype=np.float64)
    weights = weights or [1.0 / len(means)] * len(means)
    if not len(means) == len(stds) == len(weights) or not math.isclose(sum(weights), 1.0):
        raise ValueError("means, stds and weights must have the same length; weights sum to 1")
    return sum(
        w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))
        for m, s, w in zip(means, stds, weights, strict=True)
    )


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), and 1/2 where both densities vanish."""
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def gan_value(d: np.ndarray, p_data: np.ndarray, p_g: np.ndarray, dx: float) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 − D) dx, on a uniform grid of spacing dx.

    Terms whose density is zero count as 0 (0 · log 0 = 0)."""
    with np.errstate(divide="ignore"):
        real = np.where(p_data > 0, p_data * np.log(d), 0.0)
        fake = np.where(p_g > 0, p_g * np.log1p(-d), 0.0)
    return float(np.sum(real + fake) * dx)


def js_divergence(p: np.ndarray, q: np.ndarray, dx: float) -> float:
    """JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q) / 2, in nats (≤ log 2)."""
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(np.sum(np.where(a > 0, a * np.log(a / m), 0.0)) * dx)

    return 0.5 * kl(p) + 0.5 * kl(q)


# --- networks ----------------------------------------------------------------------------------


def _mlp(n_in: int, hidden: int, n_out: int, layers: int) -> nn.Sequential:
    blocks: list[nn.Module] = []
    width = n_in
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, n_out))


class ToyGenerator(nn.Module):
    """z [B, noise_dim] ~ N(0, I) → a point [B, dim]: an MLP."""

    def __init__(self, noise_dim: int = 2, dim: int = 2, hidden: int = 64, layers: int = 3):
        super().__init__()
        self.noise_dim = noise_dim
        self.net = _mlp(noise_dim, hidden, dim, layers)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """A point [B, dim] → one logit l [B] (D = sigmoid(l)): an MLP."""

    def __init__(self, dim: int = 2, hidden: int = 64, layers: int = 3):
        super().__init__()
        self.net = _mlp(dim, hidden, 1, layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).squeeze(1)


_STATS = ("modes", "quality", "top_mode_share", "spread")

# --- training ----------------------------------------------------------------------------------


@dataclass
class ToyRun:
    """What `train_toy_gan` returns: the trained networks and the history of the game.

    `history` holds lists, one entry per logged step: "step", "loss_d", "loss_g", "d_real" and
    "d_fake" (mean D on a batch of data and of fakes), "modes", "quality", "top_mode_share",
    "spread" (see `mode_statistics`) and "mean" (the generated points' mean). `snapshots` maps a step to
    generated points [n, 2] from fixed noise (step 0 is the untrained generator).
    """

    generator: ToyGenerator
    discriminator: ToyDiscriminator
    centres: Tensor
    std: float
    history: dict[str, list] = field(default_factory=dict)
    snapshots: dict[int, Tensor] = field(default_factory=dict)
    seconds: float = 0.0

    def sample(self, n: int = 1000, seed: int = 0) -> Tensor:
        """n generated points from seeded noise (no gradients)."""
        z = torch.randn(n, self.generator.noise_dim, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            return self.generator(z)

    def discriminator_on_grid(self, lim: float = 3.0, n: int = 100) -> tuple[Tensor, Tensor]:
        """(grid coordinates [n], D(x) [n, n]) on [−lim, lim]², for contour plots (rows = y)."""
        axis = torch.linspace(-lim, lim, n)
        y, x = torch.meshgrid(axis, axis, indexing="ij")
        with torch.no_grad():
            d = torch.sigmoid(self.discriminator(torch.stack([x, y], dim=-1).reshape(-1, 2)))
        return axis, d.reshape(n, n)


def train_toy_gan(
    steps: int = 2000,
    *,
    loss: str = "non_saturating",
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    batch_size: int = 256,
    lr_g: float = 1e-3,
    lr_d: float = 1e-3,
    d_steps: int = 1,
    g_steps: int = 1,
    noise_dim: int = 2,
    hidden: int = 64,
    seed: int = 0,
    log_every: int = 50,
    snapshot_every: int | None = None,
    progress: bool = False,
) -> ToyRun:
    """Train a toy GAN on the ring of `modes` Gaussians; seeded and deterministic on a CPU.

    Each step makes `d_steps` discriminator updates, then `g_steps` generator updates, with
    Adam (betas 0.5, 0.999, as in DCGAN and StackGAN). `loss` is the generator's:
    "non_saturating" (−log D(G(z)), what StackGAN uses) or "minimax" (log(1 − D(G(z)))).
    Many generator updates per discriminator update (g_steps > d_steps) let G chase the single
    point D currently likes best: the recipe for mode collapse. Snapshots of 1,000 points
    from fixed noise are kept every `snapshot_every` steps (default: 4 over the run).
    """
    losses = {"non_saturating": generator_loss, "minimax": generator_loss_minimax}
    if loss not in losses:
        raise ValueError(f"unknown generator loss {loss!r}; expected one of {sorted(losses)}")
    if steps < 1 or d_steps < 1 or g_steps < 1:
        raise ValueError("steps, d_steps and g_steps must be >= 1")
    g_loss_fn = losses[loss]
    snapshot_every = snapshot_every or max(1, steps // 4)

    with torch.random.fork_rng(devices=[]):  # seeded init without touching the global stream
        torch.manual_seed(seed)
        G = ToyGenerator(noise_dim, 2, hidden)
        D = ToyDiscriminator(2, hidden)
    rng = torch.Generator().manual_seed(seed)
    fixed_z = torch.randn(1000, noise_dim, generator=torch.Generator().manual_seed(seed + 1))
    centres = ring_centres(modes, radius)
    opt_g = torch.optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    keys = ("step", "loss_d", "loss_g", "d_real", "d_fake", *_STATS)
    run = ToyRun(G, D, centres, std, history={k: [] for k in (*keys, "mean")})

    def snapshot(step: int) -> Tensor:
        with torch.no_grad():
            points = G(fixed_z)
        run.snapshots[step] = points
        return points

    snapshot(0)
    start = time.perf_counter()
    for step in tqdm(range(1, steps + 1), desc=f"toy GAN ({loss})", disable=not progress):
        for _ in range(d_steps):
            real = sample_mixture(batch_size, centres, std, rng)
            with torch.no_grad():
                fake = G(torch.randn(batch_size, noise_dim, generator=rng))
            real_logits, fake_logits = D(real), D(fake)
            loss_d = F.binary_cross_entropy_with_logits(
                real_logits, torch.ones_like(real_logits)
            ) + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        for _ in range(g_steps):
            fake_logits = D(G(torch.randn(batch_size, noise_dim, generator=rng)))
            loss_g = g_loss_fn(fake_logits)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

        if step % snapshot_every == 0 or step == steps:
            snapshot(step)
        if step % log_every == 0 or step == steps:
            with torch.no_grad():
                points = G(fixed_z)
            stats = mode_statistics(points, centres, std)
            values = (
                step,
                loss_d.item(),
                loss_g.item(),
                torch.sigmoid(real_logits).mean().item(),
                torch.sigmoid(fake_logits).mean().item(),
                *(stats[k] for k in _STATS),
            )
            for k, v in zip(keys, values, strict=True):
                run.history[k].append(v)
            run.history["mean"].append(points.mean(dim=0).tolist())
    run.seconds = time.perf_counter() - start
    return run
