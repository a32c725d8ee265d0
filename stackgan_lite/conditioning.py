"""Conditioning Augmentation (CA) and its KL term (StackGAN paper, §3.1).

A sentence embedding phi_t is a single point in a high-dimensional space, and there are only
a few text–image pairs, so a generator conditioned on phi_t directly sees a sparse,
discontinuous conditioning manifold. CA instead draws the condition from a Gaussian around it:

    (mu, logvar) = Linear(phi_t)
    c_hat = mu + exp(logvar / 2) ⊙ epsilon,       epsilon ~ N(0, I)

and a KL term keeps that Gaussian close to the standard normal, which smooths the manifold:

    KL(N(mu, sigma²) ‖ N(0, I)) = −½ Σ (1 + logvar − mu² − exp(logvar))

The authors' release applies a ReLU after the Linear layer (`ca_relu=True` in the paper presets);
see `stackgan_lite.presets` for which KL reduction and coefficient each preset uses. Their
StackGAN-v2 code uses a gated linear unit instead (`glu=True`): Linear(t → 4c), then
GLU(a, b) = a ⊙ sigmoid(b) over the two halves, which leaves the 2c values split into mu, logvar.

`augment=False` is the paper's "without CA" ablation (§5.2): the same Linear layer, but
c_hat = mu (epsilon = 0) whatever epsilon is given, and the trainer adds no KL term. The layer
keeps its 2c outputs so both variants have the same weights' shapes.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

__all__ = ["Conditioning", "ConditioningAugmentation", "check_text_embedding", "kl_divergence"]


def check_text_embedding(phi_t: Tensor, text_dim: int) -> None:
    """Fail early, naming the shapes, when phi_t is not [batch, text_dim]."""
    if phi_t.ndim != 2 or phi_t.shape[1] != text_dim:
        raise ValueError(
            f"expected a text embedding phi_t of shape [batch, {text_dim}], "
            f"got {list(phi_t.shape)}; check the preset's text_dim and the text encoder"
        )


class Conditioning(NamedTuple):
    c_hat: Tensor  # [B, c] the sampled condition
    mu: Tensor  # [B, c]
    logvar: Tensor  # [B, c] log sigma²


class ConditioningAugmentation(nn.Module):
    """phi_t [B, t] → (c_hat, mu, logvar), each [B, c]."""

    def __init__(
        self,
        text_dim: int,
        condition_dim: int,
        relu: bool = False,
        augment: bool = True,
        glu: bool = False,
    ) -> None:
        super().__init__()
        self.text_dim = text_dim
        self.condition_dim = condition_dim
        self.fc = nn.Linear(text_dim, (4 if glu else 2) * condition_dim)
        self.activation = nn.GLU(dim=1) if glu else nn.ReLU() if relu else nn.Identity()
        self.augment = augment

    def moments(self, phi_t: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of the Gaussian N(mu, sigma²) around phi_t, without sampling."""
        check_text_embedding(phi_t, self.text_dim)
        return self.activation(self.fc(phi_t)).chunk(2, dim=1)

    def forward(self, phi_t: Tensor, epsilon: Tensor | None = None) -> Conditioning:
        """Reparameterised sample; pass `epsilon` [B, c] to fix the noise (sliders, tests).
        Without augmentation c_hat is mu and `epsilon` is only checked for its shape, so a slider
        built for the CA model moves nothing on the ablation, as it should."""
        mu, logvar = self.moments(phi_t)
        if epsilon is not None and epsilon.shape != mu.shape:
            raise ValueError(
                f"expected epsilon of shape {list(mu.shape)}, got {list(epsilon.shape)}"
            )
        if not self.augment:
            return Conditioning(mu, mu, logvar)
        if epsilon is None:
            epsilon = torch.randn_like(mu)
        c_hat = mu + torch.exp(0.5 * logvar) * epsilon
        return Conditioning(c_hat, mu, logvar)


def kl_divergence(mu: Tensor, logvar: Tensor, reduction: Literal["mean", "sum"] = "mean") -> Tensor:
    """KL(N(mu, sigma²) ‖ N(0, I)) = −½ Σ (1 + logvar − mu² − exp(logvar)).

    reduction="sum": summed over the c condition dimensions, averaged over the batch (the
    paper's form). reduction="mean": averaged over every element (the authors' release).
    """
    kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
    if reduction == "sum":
        return kl.sum(dim=1).mean()
    if reduction == "mean":
        return kl.mean()
    raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
