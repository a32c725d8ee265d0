"""StackGAN++ (StackGAN-v2): one generator tree that draws the image at several scales, with one
discriminator per scale, all trained jointly, end to end (Zhang et al. 2018, §4).

    (mu, logvar) = GLU(Linear(phi_t))                CA: Linear(t → 4c), GLU halves it to 2c
    c_hat = mu + exp(logvar / 2) ⊙ epsilon
    h_0 = F_0(z, c_hat)                              4×4 code, upsampled to the first scale
    h_i = F_i(h_{i-1}, c_hat)      i = 1 … m−1       joint 3×3 conv, residual blocks, ×2
    s_i = G_i(h_i)                                   3×3 conv → tanh: side s_0 · 2^i

What changes from v1 (`stage1`, `stage2`):
- one network, not two trained one after the other: every scale's loss reaches the shared trunk,
  so the low-resolution sketch is shaped by what the high-resolution branches need;
- the branches read hidden features h_{i−1}, not the image below, and re-read c_hat;
- GLU (a ⊙ sigmoid(b), `nn.GLU`) replaces ReLU in the generator;
- each D_i has an unconditional logit D_i(x) ("is it real?") beside the conditional one
  D_i(x, c) ("is it real and does it match?"). D_i conditions on the generator's mu, detached and
  replicated to 4×4, with no text layer of its own (the authors' v2 code);
- without text (`text_conditioned=False`: the paper's LSUN / ImageNet results) the branches read
  z where they read c_hat, D_i has only its unconditional logit, and the colour-consistency term
  ties each scale's colours to the scale below (`colour_consistency`).

The losses of one scale (`joint_discriminator_loss`, `joint_generator_loss`) are summed over the
scales; `stackgan_lite.train` runs them.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stackgan_lite.blocks import (
    DiscriminatorOutput,
    check_image,
    conv3x3,
    down_path,
    init_weights,
    num_halvings,
    spectral_normalise,
)
from stackgan_lite.conditioning import ConditioningAugmentation
from stackgan_lite.losses import bce
from stackgan_lite.presets import Preset

__all__ = [
    "ScaleDiscriminator",
    "TreeDiscriminator",
    "TreeGenerator",
    "TreeOutput",
    "colour_consistency",
    "colour_moments",
    "joint_discriminator_loss",
    "joint_generator_loss",
    "real_pyramid",
    "tree_sides",
]


def tree_sides(preset: Preset) -> list[int]:
    """The side of each scale: stage1_side · 2^i for i < branches (64, 128, 256 for cub_v2)."""
    if preset.branches < 1:
        raise ValueError(
            f"preset {preset.name!r} is a StackGAN-v1 preset (branches=0); "
            "use a StackGAN-v2 one such as lite_v2 or cub_v2"
        )
    return [preset.stage1_side * 2**i for i in range(preset.branches)]


def real_pyramid(image: Tensor, sides: list[int]) -> list[Tensor]:
    """The real image at every scale, by area averaging (the mean of each k×k block, as the
    embedded set's small images are made) from the largest side."""
    return [F.avg_pool2d(image, image.shape[-1] // side) for side in sides]


# --------------------------------------------------------------------------- generator


def glu_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    """3×3 conv to 2·out channels, BatchNorm, GLU → out channels."""
    return nn.Sequential(conv3x3(in_ch, 2 * out_ch), nn.BatchNorm2d(2 * out_ch), nn.GLU(dim=1))


def glu_up_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """Nearest-neighbour ×2, then `glu_conv`: the tree's upsampling block."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), glu_conv(in_ch, out_ch))


class GLUResidualBlock(nn.Module):
    """x → x + BN(conv(GLU(BN(conv(x))))) (the authors' v2 block: no activation after the sum)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            glu_conv(channels, channels), conv3x3(channels, channels), nn.BatchNorm2d(channels)
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class Branch(nn.Module):
    """F_i: (h_{i−1} [B, C, s, s], code [B, k]) → h_i [B, C/2, 2s, 2s].

    The code (c_hat, or z without text) is replicated to s × s and concatenated with h_{i−1};
    a GLU 3×3 conv brings it back to C channels, then r residual blocks and an up block."""

    def __init__(self, channels: int, code_dim: int, residual_blocks: int) -> None:
        super().__init__()
        self.joint = glu_conv(code_dim + channels, channels)
        self.residual = nn.Sequential(*(GLUResidualBlock(channels) for _ in range(residual_blocks)))
        self.upsample = glu_up_block(channels, channels // 2)

    def forward(self, h: Tensor, code: Tensor) -> Tensor:
        code = code[:, :, None, None].expand(-1, -1, *h.shape[2:])
        return self.upsample(self.residual(self.joint(torch.cat([code, h], dim=1))))


class TreeOutput(NamedTuple):
    images: list[Tensor]  # s_0 … s_{m−1}, [B, 3, side_i, side_i] in [-1, 1]
    mu: Tensor | None  # [B, c] CA mean (None without text)
    logvar: Tensor | None  # [B, c] CA log-variance

    @property
    def image(self) -> Tensor:
        """The largest scale, the tree's final image."""
        return self.images[-1]


class TreeGenerator(nn.Module):
    """(phi_t [B, t], z [B, z_dim]) → TreeOutput: one image per scale, mu, logvar.

    F_0: Linear(z + c → 2·16ngf·4·4) + BN + GLU → 16ngf × 4 × 4 (for a 64-px first scale; in
    general ngf · s_0/4 channels), then up blocks halving the channels to ngf at s_0. Branch i
    works on ngf/2^(i−1) channels and hands ngf/2^i to the next; each scale's image head G_i is
    a 3×3 conv to RGB and tanh. Without text, phi_t is ignored (pass None) and z is the code.
    """

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        sides = tree_sides(preset)
        self.preset = preset
        ngf, n_up = preset.ngf, num_halvings(preset.stage1_side)
        self.code_width = ngf * 2**n_up
        self.ca = None
        code_dim, in_dim = preset.z_dim, preset.z_dim
        if preset.text_conditioned:
            self.ca = ConditioningAugmentation(
                preset.text_dim,
                preset.condition_dim,
                augment=preset.conditioning_augmentation,
                glu=True,
            )
            code_dim, in_dim = preset.condition_dim, preset.z_dim + preset.condition_dim
        self.fc = nn.Sequential(
            nn.Linear(in_dim, 2 * self.code_width * 4 * 4, bias=False),
            nn.BatchNorm1d(2 * self.code_width * 4 * 4),
            nn.GLU(dim=1),
        )
        widths = [self.code_width // 2**k for k in range(n_up + 1)]
        self.trunk = nn.Sequential(*(glu_up_block(i, o) for i, o in itertools.pairwise(widths)))
        self.branches = nn.ModuleList(
            Branch(ngf // 2 ** (i - 1), code_dim, preset.residual_blocks)
            for i in range(1, len(sides))
        )
        self.to_image = nn.ModuleList(
            nn.Sequential(conv3x3(ngf // 2**i, 3, bias=True), nn.Tanh()) for i in range(len(sides))
        )
        self.apply(init_weights)

    def forward(self, phi_t: Tensor | None, z: Tensor, epsilon: Tensor | None = None) -> TreeOutput:
        if z.ndim != 2 or z.shape[1] != self.preset.z_dim:
            raise ValueError(
                f"expected noise z of shape [batch, {self.preset.z_dim}], got {list(z.shape)}"
            )
        if self.ca is None:
            code, mu, logvar = z, None, None
            h = self.fc(z)
        else:
            if phi_t is None:
                raise ValueError(
                    f"preset {self.preset.name!r} is text-conditioned: pass phi_t [batch, "
                    f"{self.preset.text_dim}] (an unconditional preset ignores it)"
                )
            code, mu, logvar = self.ca(phi_t, epsilon)
            h = self.fc(torch.cat([code, z], dim=1))
        h = self.trunk(h.view(-1, self.code_width, 4, 4))
        images = [self.to_image[0](h)]
        for branch, head in zip(self.branches, self.to_image[1:], strict=True):
            h = branch(h, code)
            images.append(head(h))
        return TreeOutput(images, mu, logvar)


# --------------------------------------------------------------------------- discriminators


def leaky_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    """3×3 conv, BatchNorm, LeakyReLU(0.2)."""
    return nn.Sequential(
        conv3x3(in_ch, out_ch), nn.BatchNorm2d(out_ch), nn.LeakyReLU(0.2, inplace=True)
    )


class ScaleDiscriminator(nn.Module):
    """D_i: (image [B, 3, s, s], mu [B, c]) → DiscriminatorOutput(cond, uncond, wrong) logits [B].

    Image path: 4×4 stride-2 convs down to 4×4 (`down_path`), then 3×3 convs halving the
    channels back to those of the first scale's D (8ndf at 64 px: 256 px goes 32ndf → 16ndf →
    8ndf). Unconditional logit: a 4×4 conv on those features. Conditional logit: mu replicated to
    4×4 and concatenated, a 3×3 conv + BN + LeakyReLU, then the 4×4 conv. Without text, `cond`
    and `wrong` are None."""

    def __init__(self, preset: Preset, side: int) -> None:
        super().__init__()
        self.preset, self.side = preset, side
        layers, top = down_path(preset.ndf, side)
        base = preset.ndf * 2 ** (num_halvings(preset.stage1_side) - 1)
        widths = [top // 2**k for k in range(num_halvings(top // base, to=1) + 1)]
        self.encode = nn.Sequential(
            *layers, *(leaky_conv(i, o) for i, o in itertools.pairwise(widths))
        )
        self.uncond_logit = nn.Conv2d(base, 1, kernel_size=4, stride=4)
        self.cond_joint = self.cond_logit = None
        if preset.text_conditioned:
            self.cond_joint = leaky_conv(base + preset.condition_dim, base)
            self.cond_logit = nn.Conv2d(base, 1, kernel_size=4, stride=4)
        self.apply(init_weights)
        if preset.spectral_norm:
            spectral_normalise(self)

    def _cond(self, h: Tensor, mu: Tensor | None) -> Tensor | None:
        if mu is None or self.cond_joint is None:
            return None
        c = mu[:, :, None, None].expand(-1, -1, *h.shape[2:])
        return self.cond_logit(self.cond_joint(torch.cat([c, h], dim=1))).flatten()

    def forward(
        self, image: Tensor, mu: Tensor | None = None, wrong_mu: Tensor | None = None
    ) -> DiscriminatorOutput:
        """Logits for (image, mu) and, if given, (image, wrong_mu): one pass through the image
        path serves both conditions."""
        check_image(image, self.side, f"{type(self).__name__} ({self.side} px)")
        h = self.encode(image)
        uncond = self.uncond_logit(h).flatten()
        return DiscriminatorOutput(self._cond(h, mu), uncond, self._cond(h, wrong_mu))


class TreeDiscriminator(nn.Module):
    """The discriminators of every scale in one module (one optimiser, one DDP wrapper):
    images [s_0 … s_{m−1}] → one DiscriminatorOutput per scale. Each D_i's parameters appear in
    its own scale's loss only, so one Adam over all of them equals one Adam per D."""

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        self.preset = preset
        self.scales = nn.ModuleList(ScaleDiscriminator(preset, s) for s in tree_sides(preset))

    def forward(
        self, images: list[Tensor], mu: Tensor | None = None, wrong_mu: Tensor | None = None
    ) -> list[DiscriminatorOutput]:
        if len(images) != len(self.scales):
            raise ValueError(
                f"expected {len(self.scales)} images (one per scale), got {len(images)}"
            )
        return [d(x, mu, wrong_mu) for d, x in zip(self.scales, images, strict=True)]


# --------------------------------------------------------------------------- losses


def joint_discriminator_loss(
    real: DiscriminatorOutput,
    fake: DiscriminatorOutput,
    uncond_coef: float = 1.0,
    real_target: float = 1.0,
) -> Tensor:
    """One scale's joint conditional + unconditional loss on logits (paper eq. 5 with the
    matching-aware wrong pair of the authors' code):

        L_{D_i} = −E[log D_i(x_i, c)] − E[log(1 − D_i(x_i, c_wrong))] − E[log(1 − D_i(s_i, c))]
                  + λ_u (−E[log D_i(x_i)] − E[log(1 − D_i(s_i))])

    `real` holds (cond, uncond, wrong) logits of real images, `fake` those of generated ones.
    Without text (cond None) only the λ_u terms remain, with λ_u counted as 1.
    """
    uncond = bce(real.uncond, real_target) + bce(fake.uncond, 0.0)
    if real.cond is None:
        return uncond
    cond = bce(real.cond, real_target) + bce(real.wrong, 0.0) + bce(fake.cond, 0.0)
    return cond + uncond_coef * uncond


def joint_generator_loss(fake: DiscriminatorOutput, uncond_coef: float = 1.0) -> Tensor:
    """One scale's non-saturating generator loss: −E[log D_i(s_i, c)] − λ_u E[log D_i(s_i)]
    (without text, −E[log D_i(s_i)] alone)."""
    uncond = bce(fake.uncond, 1.0)
    if fake.cond is None:
        return uncond
    return bce(fake.cond, 1.0) + uncond_coef * uncond


def colour_moments(images: Tensor) -> tuple[Tensor, Tensor]:
    """Per image, the mean colour mu [B, 3] and the colour covariance Sigma [B, 3, 3] over its
    N pixels x_k: mu = Σ_k x_k / N,  Sigma = Σ_k (x_k − mu)(x_k − mu)ᵀ / N."""
    # at least float32: bf16 images (autocast) would round the covariance away
    pixels = images.to(torch.promote_types(images.dtype, torch.float32)).flatten(2)  # [B, 3, N]
    mu = pixels.mean(dim=2)
    centred = pixels - mu[:, :, None]
    return mu, centred @ centred.transpose(1, 2) / pixels.shape[2]


def colour_consistency(
    upper: Tensor, lower: Tensor, lambda_1: float = 1.0, lambda_2: float = 5.0
) -> Tensor:
    """The colour-consistency regulariser between scale i (`upper`) and scale i−1 (`lower`),
    images of the same n samples at two sides (paper eq. 8):

        L_C = (1/n) Σ_j λ1 ‖mu(s_i^j) − mu(s_{i−1}^j)‖² + λ2 ‖Sigma(s_i^j) − Sigma(s_{i−1}^j)‖_F²

    Zero when both scales have the same colour statistics. Its gradient reaches both branches
    (the authors' code stops it at the lower image; the paper's equation does not).
    """
    mu_u, sigma_u = colour_moments(upper)
    mu_l, sigma_l = colour_moments(lower)
    per_image = lambda_1 * (mu_u - mu_l).pow(2).sum(1) + lambda_2 * (sigma_u - sigma_l).pow(2).sum(
        (1, 2)
    )
    return per_image.mean()
