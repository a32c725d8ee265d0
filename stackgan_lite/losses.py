"""GAN losses for StackGAN, on discriminator logits l (D = sigmoid(l)).

Working on logits with `binary_cross_entropy_with_logits` instead of Sigmoid + BCELoss keeps
log D and log(1 − D) finite when D saturates at 0 or 1.

The discriminator is matching-aware (GAN-INT-CLS, Reed et al. 2016): it must reject a real image
paired with a mismatched ("wrong") caption as well as a generated image, so it learns whether
image and text agree, not only whether the image looks real.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "attribute_loss",
    "bce",
    "discriminator_loss",
    "generator_contrast_loss",
    "generator_loss",
    "generator_loss_minimax",
    "mismatched_indices",
]


def bce(logits: Tensor, target: float) -> Tensor:
    """−E[target · log sigmoid(l) + (1 − target) · log(1 − sigmoid(l))] over the logits l."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_loss(
    real: Tensor,
    wrong: Tensor,
    fake: Tensor,
    real_uncond: Tensor | None = None,
    fake_uncond: Tensor | None = None,
    real_target: float = 1.0,
) -> Tensor:
    """Matching-aware discriminator loss on logits.

    Conditional only (Stage-I):

        L_D = −E[log D(I, t)] − ½ (E[log(1 − D(I, t_wrong))] + E[log(1 − D(G(z, c_hat), t))])

    With Stage-II's unconditional head D_u (authors' release), real and fake terms are averaged
    with their unconditional twins:

        L_D = ½ (real + real_u) + ⅓ (wrong + fake + fake_u)

    `real_target` < 1 is one-sided label smoothing (a preset option, off in the paper presets).
    """
    loss_real = bce(real, real_target)
    loss_wrong = bce(wrong, 0.0)
    loss_fake = bce(fake, 0.0)
    if (real_uncond is None) != (fake_uncond is None):
        raise ValueError("pass both real_uncond and fake_uncond, or neither")
    if real_uncond is None:
        return loss_real + 0.5 * (loss_wrong + loss_fake)
    loss_real_u = bce(real_uncond, real_target)
    loss_fake_u = bce(fake_uncond, 0.0)
    return 0.5 * (loss_real + loss_real_u) + (loss_wrong + loss_fake + loss_fake_u) / 3.0


def generator_loss(fake: Tensor, fake_uncond: Tensor | None = None) -> Tensor:
    """Non-saturating generator loss (what StackGAN trains with):

        L_G = −E[log D(G(z, c_hat), t)]  (+ −E[log D_u(G(z, c_hat))] with the unconditional head)

    Its gradient with respect to the logit l is −(1 − D), which stays near −1 when D rejects the
    fakes confidently (D → 0), exactly when the generator needs a signal.
    """
    loss = bce(fake, 1.0)
    if fake_uncond is not None:
        loss = loss + bce(fake_uncond, 1.0)
    return loss


def generator_contrast_loss(fake_contrast: Tensor) -> Tensor:
    """A generator term on D's logit for (G's image, the contrast caption t'), t' wrong in one
    attribute only (Stage-II, `stage2_contrast_coef`):

        L = −E[log(1 − D(G(s0, c_hat), t'))]

    D learns to reject real images under t'; this asks G for images D rejects under t' too,
    i.e. images that show the one attribute t' gets wrong. The adversarial loss alone does not
    ask for it: D may accept a fake under t' as readily as under t (README, "Shipped weights").
    """
    return bce(fake_contrast, 0.0)


def attribute_loss(
    logits: Tensor, labels: Tensor, classes: Sequence[int], weights: Sequence[float] | None = None
) -> Tensor:
    """The auxiliary classifier's loss (AC-GAN, Odena et al. 2017): each attribute's
    cross-entropy against its label, weighted by w_a (default 1) and summed,

        L_aux = sum_a w_a · E[−log softmax(l_a)[y_a]]

    D minimises it on real images, so it learns to read the attributes; G on its own images under
    their captions' labels, so it draws what D reads as the caption's attributes
    (`stage1_aux_weights`, `stage2_aux_weights`). logits [B, sum(classes)] hold the attributes'
    logits side by side; labels [B, attributes].
    """
    parts = logits.split(list(classes), dim=1)
    weights = [1.0] * len(parts) if weights is None else weights
    terms = (
        w_a * F.cross_entropy(l_a, labels[:, a])
        for a, (l_a, w_a) in enumerate(zip(parts, weights, strict=True))
    )
    return sum(terms, start=torch.zeros((), device=logits.device))


def generator_loss_minimax(fake: Tensor) -> Tensor:
    """The original minimax generator objective, for teaching:

        L_G = E[log(1 − D(G(z, c_hat), t))] = −E[softplus(l)]

    Its gradient with respect to l is −D, which vanishes when D → 0: early in training, when the
    discriminator easily rejects the fakes, the generator learns almost nothing (it saturates).
    """
    return -F.softplus(fake).mean()


def mismatched_indices(
    batch_size: int, labels: Tensor | None = None, generator: torch.Generator | None = None
) -> Tensor:
    """For each row i, an index j whose caption does not describe image i ("wrong" pairs).

    With labels [B] or [B, A] (class ids or attribute rows), j is drawn uniformly among the rows
    whose labels differ from row i's, so a "wrong" caption never truly matches its image. Without
    labels, or where every row shares row i's labels, it falls back to the authors' release:
    shift the batch by one, j = i + 1 (mod B).
    """
    shifted = torch.roll(torch.arange(batch_size), -1)
    if labels is None:
        return shifted
    if labels.shape[0] != batch_size:
        raise ValueError(f"expected labels for {batch_size} rows, got {labels.shape[0]}")
    rows = labels.reshape(batch_size, -1).cpu()
    differs = (rows[:, None, :] != rows[None, :, :]).any(dim=-1)  # [B, B]
    scores = torch.rand(batch_size, batch_size, generator=generator)
    choice = scores.masked_fill(~differs, -1.0).argmax(dim=1)
    return torch.where(differs.any(dim=1), choice, shifted)
