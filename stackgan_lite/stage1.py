"""Stage-I GAN: sketch the primitive shape and colours from the text (StackGAN paper, §3.2).

G0: phi_t → CA → c_hat0;  [z, c_hat0] → image s0 = G0(z, c_hat0)  (64×64 in the paper)
D0: (image, phi_t) → logit of "a real image that matches the text"
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from stackgan_lite.blocks import (
    Discriminator,
    GeneratorOutput,
    conv3x3,
    down_path,
    init_weights,
    num_halvings,
    up_block,
)
from stackgan_lite.conditioning import ConditioningAugmentation
from stackgan_lite.data.shapes import ATTRIBUTE_SIZES
from stackgan_lite.presets import Preset

__all__ = ["Stage1Discriminator", "Stage1Generator"]


class Stage1Generator(nn.Module):
    """(phi_t [B, t], z [B, z_dim]) → image [B, 3, s1, s1] in [-1, 1], mu, logvar.

    Linear(z + c → 8ngf·4·4) + BN + ReLU, reshaped to 8ngf×4×4, then log2(s1/4) up blocks that
    halve the channels, a 3×3 conv to RGB and tanh.
    """

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        self.preset = preset
        ngf8 = 8 * preset.ngf
        self.ca = ConditioningAugmentation(
            preset.text_dim, preset.condition_dim, preset.ca_relu, preset.conditioning_augmentation
        )
        self.fc = nn.Sequential(
            nn.Linear(preset.z_dim + preset.condition_dim, ngf8 * 4 * 4, bias=False),
            nn.BatchNorm1d(ngf8 * 4 * 4),
            nn.ReLU(inplace=True),
        )
        n_up = num_halvings(preset.stage1_side)
        widths = [ngf8 // 2**k for k in range(n_up + 1)]
        self.upsample = nn.Sequential(*(up_block(i, o) for i, o in itertools.pairwise(widths)))
        self.to_image = nn.Sequential(conv3x3(widths[-1], 3, bias=True), nn.Tanh())
        self.apply(init_weights)

    def forward(self, phi_t: Tensor, z: Tensor, epsilon: Tensor | None = None) -> GeneratorOutput:
        if z.ndim != 2 or z.shape[1] != self.preset.z_dim:
            raise ValueError(
                f"expected noise z of shape [batch, {self.preset.z_dim}], got {list(z.shape)}"
            )
        c_hat, mu, logvar = self.ca(phi_t, epsilon)
        h = self.fc(torch.cat([z, c_hat], dim=1)).view(-1, 8 * self.preset.ngf, 4, 4)
        return GeneratorOutput(self.to_image(self.upsample(h)), mu, logvar)


class Stage1Discriminator(Discriminator):
    """(image [B, 3, s1, s1], phi_t [B, t]) → conditional logit [B].

    4×4 conv stride 2 (3 → ndf) + LeakyReLU, then down blocks doubling the channels to 4×4
    (8ndf for 64 px), then the matching-aware `ConditionalHead` (and, with
    `stage1_aux_weights`, the auxiliary classifier's logits for every attribute).
    """

    def __init__(self, preset: Preset) -> None:
        layers, channels = down_path(preset.ndf, preset.stage1_side)
        super().__init__(
            preset,
            preset.stage1_side,
            nn.Sequential(*layers),
            channels,
            False,
            attribute_classes=sum(ATTRIBUTE_SIZES) if preset.stage1_aux_weights else 0,
        )
