"""What the KL weight does to Conditioning Augmentation, on a toy problem that trains in a second
(notebook 02).

The package's `ConditioningAugmentation` layer is fitted alone: each of K text embeddings phi_k
should give a condition c_hat close to its own target y_k (a stand-in for "what the generator
needs to know about this caption"), while the KL term pulls every N(mu_k, sigma_k²) towards
N(0, I):

    L(lambda) = E_eps ‖mu + sigma ⊙ eps − y‖² + lambda · KL(N(mu, sigma²) ‖ N(0, I))

with the KL summed over the condition dimensions (the paper's form, `kl_divergence(...,
"sum")`), and the expectation estimated by the reparameterisation trick, as in training.
Per dimension the expected loss is (mu − y)² + sigma² + lambda/2 · (mu² + sigma² − 1 − log sigma²),
whose minimum is known in closed form (`optimum`):

    mu* = y / (1 + lambda/2),      sigma*² = lambda / (lambda + 2)

lambda = 0: sigma → 0, every caption is one point (no augmentation, a sparse conditioning
manifold); lambda → ∞: mu → 0 and sigma → 1, every caption gives N(0, I) (the text is
ignored). In between, each caption becomes a cloud of conditions around a shrunk mean.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from stackgan_lite.conditioning import ConditioningAugmentation, kl_divergence

__all__ = ["CAFit", "fit_ca", "optimum"]


class CAFit(NamedTuple):
    kl_weight: float
    ca: ConditioningAugmentation  # the fitted layer (eval mode)
    mu: Tensor  # [K, c] for the K embeddings
    sigma: Tensor  # [K, c]
    losses: list[float]  # the training loss per step


def optimum(target: Tensor, kl_weight: float) -> tuple[Tensor, Tensor]:
    """The closed-form minimiser (mu*, sigma*) of the module docstring's loss, per dimension."""
    if kl_weight < 0:
        raise ValueError(f"the KL weight must be >= 0, got {kl_weight}")
    mu = target / (1 + kl_weight / 2)
    sigma = torch.full_like(target, (kl_weight / (kl_weight + 2)) ** 0.5)
    return mu, sigma


def fit_ca(
    phi_t: Tensor,
    target: Tensor,
    kl_weight: float,
    steps: int = 600,
    samples: int = 64,
    lr: float = 0.05,
    seed: int = 0,
) -> CAFit:
    """Fit a fresh `ConditioningAugmentation(t, c)` so that phi_t [K, t] maps to clouds around
    target [K, c], with the KL term weighted by `kl_weight` (Adam, learning rate decayed
    linearly to 0, `samples` draws of epsilon per embedding and step). Seeded, CPU: < 1 s."""
    if phi_t.ndim != 2 or target.ndim != 2 or len(phi_t) != len(target):
        raise ValueError(
            f"expected phi_t [K, t] and target [K, c], got {list(phi_t.shape)} and "
            f"{list(target.shape)}"
        )
    if kl_weight < 0:
        raise ValueError(f"the KL weight must be >= 0, got {kl_weight}")
    generator = torch.Generator().manual_seed(seed)
    phi_t, target = phi_t.detach().float().cpu(), target.detach().float().cpu()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        ca = ConditioningAugmentation(phi_t.shape[1], target.shape[1])
    optimizer = torch.optim.Adam(ca.parameters(), lr=lr)
    phi_rep, target_rep = phi_t.repeat(samples, 1), target.repeat(samples, 1)
    losses = []
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr * (1 - step / steps)
        epsilon = torch.randn(target_rep.shape, generator=generator)
        c_hat, mu, logvar = ca(phi_rep, epsilon)
        loss = (c_hat - target_rep).pow(2).sum(dim=1).mean()
        loss = loss + kl_weight * kl_divergence(mu, logvar, reduction="sum")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    ca.eval()
    with torch.no_grad():
        _, mu, logvar = ca(phi_t, torch.zeros_like(target))
    return CAFit(float(kl_weight), ca, mu, torch.exp(0.5 * logvar), losses)
