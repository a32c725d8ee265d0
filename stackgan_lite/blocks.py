"""The layers both stages share: up/down blocks, the residual block, the discriminator heads.

Conventions (DESIGN §3, the authors' PyTorch release): every convolution is bias-free because a
BatchNorm follows it; only the layers that emit an image or a logit carry a bias.
"""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from stackgan_lite.conditioning import check_text_embedding
from stackgan_lite.presets import Preset

__all__ = [
    "ConditionalHead",
    "Discriminator",
    "DiscriminatorOutput",
    "GeneratorOutput",
    "ProjectionHead",
    "ResidualBlock",
    "UnconditionalHead",
    "check_image",
    "conv3x3",
    "down_block",
    "down_path",
    "init_weights",
    "num_halvings",
    "spectral_normalise",
    "up_block",
]


class GeneratorOutput(NamedTuple):
    image: Tensor  # [B, 3, s, s] in [-1, 1]
    mu: Tensor  # [B, c] CA mean
    logvar: Tensor  # [B, c] CA log-variance


class DiscriminatorOutput(NamedTuple):
    cond: Tensor  # [B] logit of "a real image matching this text"
    uncond: Tensor | None  # [B] logit of "a real image" (Stage-II head), None where off
    wrong: Tensor | None = None  # [B] conditional logit for the mismatched texts, if given
    attributes: Tensor | None = None  # [B, sum of classes] auxiliary classifier's logits, if on


def conv3x3(in_ch: int, out_ch: int, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=1, padding=1, bias=bias)


def up_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """up(i→o): nearest-neighbour ×2, 3×3 conv, BatchNorm, ReLU."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        conv3x3(in_ch, out_ch),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def down_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """down(i→o): 4×4 conv stride 2, BatchNorm, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.LeakyReLU(0.2, inplace=True),
    )


def down_path(ndf: int, side: int) -> tuple[list[nn.Module], int]:
    """A discriminator's image path from side × side RGB to 4 × 4, and its output channels:
    4×4 conv stride 2 (3 → ndf) + LeakyReLU (no BatchNorm on the input layer), then down blocks
    doubling the channels (ndf → 2ndf → …) once per halving."""
    widths = [ndf * 2**k for k in range(num_halvings(side))]
    layers = [
        nn.Conv2d(3, ndf, kernel_size=4, stride=2, padding=1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        *(down_block(i, o) for i, o in itertools.pairwise(widths)),
    ]
    return layers, widths[-1]


class ResidualBlock(nn.Module):
    """x → ReLU(x + BN(conv(ReLU(BN(conv(x)))))), the Stage-II generator's residual block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(channels, channels),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            conv3x3(channels, channels),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(x + self.body(x))


class ConditionalHead(nn.Module):
    """D's matching-aware head: image features [B, C, 4, 4] and phi_t [B, t] → logit [B].

    Text path as in the paper: Linear(t → c) + LeakyReLU, replicated to 4×4, concatenated with the
    image features, then 3×3 conv (C + c → C) + BN + LeakyReLU and a 4×4 conv stride 4 → 1 logit.
    """

    def __init__(self, channels: int, text_dim: int, condition_dim: int) -> None:
        super().__init__()
        self.text_dim = text_dim
        self.text = nn.Sequential(
            nn.Linear(text_dim, condition_dim), nn.LeakyReLU(0.2, inplace=True)
        )
        self.joint = nn.Sequential(
            conv3x3(channels + condition_dim, channels),
            nn.BatchNorm2d(channels),
            nn.LeakyReLU(0.2, inplace=True),
        )
        self.logit = nn.Conv2d(channels, 1, kernel_size=4, stride=4)

    def forward(self, features: Tensor, phi_t: Tensor) -> Tensor:
        check_text_embedding(phi_t, self.text_dim)
        c = self.text(phi_t)[:, :, None, None].expand(-1, -1, *features.shape[2:])
        return self.logit(self.joint(torch.cat([features, c], dim=1))).flatten()


class ProjectionHead(nn.Module):
    """A projection discriminator's conditional head (Miyato & Koyama 2018), an option for
    Stage-II: image features h [B, C, 4, 4] and phi_t [B, t] → logit [B],

        logit = psi(h) + (V phi_t) · sum_xy h

    psi a 4×4 conv stride 4 → 1, V a bias-free Linear(t → C). The text meets the image in one
    inner product with the pooled features rather than through a conv over their concatenation;
    in a 2,000-step run of lite's Stage-II it raised seen shape from 81 to 89 % and the score
    from 80 to 90 % of its ceiling (README, "The bar is not met yet").
    """

    def __init__(self, channels: int, text_dim: int) -> None:
        super().__init__()
        self.text_dim = text_dim
        self.psi = nn.Conv2d(channels, 1, kernel_size=4, stride=4)
        self.embed = nn.Linear(text_dim, channels, bias=False)

    def forward(self, features: Tensor, phi_t: Tensor) -> Tensor:
        check_text_embedding(phi_t, self.text_dim)
        projection = (self.embed(phi_t) * features.sum(dim=(2, 3))).sum(dim=1)
        return self.psi(features).flatten() + projection


class UnconditionalHead(nn.Module):
    """D's unconditional head (authors' Stage-II): image features [B, C, 4, 4] → logit [B]."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.logit = nn.Conv2d(channels, 1, kernel_size=4, stride=4)

    def forward(self, features: Tensor) -> Tensor:
        return self.logit(features).flatten()


class Discriminator(nn.Module):
    """A StackGAN discriminator: an image path down to [B, C, 4, 4], the matching-aware
    conditional head (the paper's concatenation or, with `projection`, a `ProjectionHead`) and,
    optionally, the unconditional head. Stage-I and Stage-II differ only in their image path and
    options (their subclasses set them)."""

    def __init__(
        self,
        preset: Preset,
        side: int,
        encode: nn.Module,
        channels: int,
        uncond: bool,
        projection: bool = False,
        attribute_classes: int = 0,
    ) -> None:
        super().__init__()
        self.preset, self.side = preset, side
        self.encode = encode
        self.cond_head = (
            ProjectionHead(channels, preset.text_dim)
            if projection
            else ConditionalHead(channels, preset.text_dim, preset.condition_dim)
        )
        self.uncond_head = UnconditionalHead(channels) if uncond else None
        # the auxiliary classifier (AC-GAN): every attribute's logits from the pooled features
        self.attribute_head = nn.Linear(channels, attribute_classes) if attribute_classes else None
        self.apply(init_weights)
        if preset.spectral_norm:
            spectral_normalise(self)

    def features(self, image: Tensor) -> Tensor:
        """The image path alone: [B, 3, side, side] → [B, C, 4, 4]."""
        check_image(image, self.side, type(self).__name__)
        return self.encode(image)

    def forward(
        self, image: Tensor, phi_t: Tensor, wrong_phi_t: Tensor | None = None
    ) -> DiscriminatorOutput:
        """Logits for (image, phi_t) (conditional, and unconditional where that head is on) and,
        if given, the conditional logit for (image, wrong_phi_t): one pass through the image
        path serves both texts, as the matching-aware loss scores real images with both."""
        h = self.features(image)
        uncond = self.uncond_head(h) if self.uncond_head is not None else None
        wrong = self.cond_head(h, wrong_phi_t) if wrong_phi_t is not None else None
        attributes = (
            self.attribute_head(h.mean(dim=(2, 3))) if self.attribute_head is not None else None
        )
        return DiscriminatorOutput(self.cond_head(h, phi_t), uncond, wrong, attributes)


def num_halvings(side: int, to: int = 4) -> int:
    """How many ×2 up/down blocks link a `to`×`to` map and a `side`×`side` image: log2(side / to)."""
    return int(math.log2(side // to))


def check_image(image: Tensor, side: int, what: str) -> None:
    """Fail early, naming the expected shape, when an image batch does not fit the network."""
    if image.ndim != 4 or image.shape[1] != 3 or image.shape[2:] != (side, side):
        raise ValueError(
            f"{what} expects images of shape [batch, 3, {side}, {side}], got {list(image.shape)}; "
            f"check the preset's image sides"
        )


def init_weights(module: nn.Module) -> None:
    """DCGAN / authors' initialisation: conv and Linear weights N(0, 0.02), biases 0,
    BatchNorm weight N(1, 0.02) and bias 0. Use as `net.apply(init_weights)`."""
    if isinstance(module, nn.Conv2d | nn.Linear):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def spectral_normalise(module: nn.Module) -> nn.Module:
    """Wrap every conv and Linear layer of a discriminator in spectral normalisation
    (Miyato et al. 2018), a stabiliser for small GANs; off in the paper presets."""
    for name, child in module.named_children():
        if isinstance(child, nn.Conv2d | nn.Linear):
            setattr(module, name, nn.utils.parametrizations.spectral_norm(child))
        else:
            spectral_normalise(child)
    return module
