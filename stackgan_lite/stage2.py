"""Stage-II GAN: correct Stage-I's defects and add detail, reading the text again (§3.3).

    G: (s0 = Stage-I image, phi_t) → CA → c_hat;  s = G(s0, c_hat)   (no z: the randomness
       already lives in s0); output side = 4 × input side (64 → 256 in the paper)
    D: (image, phi_t) → conditional logit, plus an unconditional logit (authors' release)

Stage-II has its own CA: it is trained with Stage-I frozen and may pick out what Stage-I missed.
"""

from __future__ import annotations

import itertools

import torch
from torch import Tensor, nn

from stackgan_lite.blocks import (
    Discriminator,
    GeneratorOutput,
    ResidualBlock,
    check_image,
    conv3x3,
    down_path,
    init_weights,
    up_block,
)
from stackgan_lite.conditioning import ConditioningAugmentation
from stackgan_lite.data.shapes import ATTRIBUTE_SIZES
from stackgan_lite.presets import Preset

__all__ = ["Stage2Discriminator", "Stage2Generator"]


class Stage2Generator(nn.Module):
    """(s0 [B, 3, s1, s1], phi_t [B, t]) → image [B, 3, s2, s2] in [-1, 1], mu, logvar.

    Encoder: 3×3 conv (3 → ngf) + ReLU, two 4×4 stride-2 convs + BN + ReLU (→ 4ngf at s1/4).
    Joint: c_hat replicated to s1/4 and concatenated, 3×3 conv (4ngf + c → 4ngf) + BN + ReLU.
    Then r residual blocks and four up blocks (4ngf → 2ngf → ngf → ngf/2 → ngf/4), 3×3 conv, tanh.
    With `stage2_conditional_bn`, each up block's BatchNorm output h is modulated by c_hat:
    h · (1 + gamma(c_hat)) + beta(c_hat), gamma and beta Linear in c_hat and zero at the start.
    With `stage2_encoder_halvings = 1` the encoder has one stride-2 conv (ngf → 4ngf, to s1/2)
    and the up path one block fewer (4ngf → ngf → ngf/2 → ngf/4).
    """

    def __init__(self, preset: Preset) -> None:
        super().__init__()
        self.preset = preset
        ngf = preset.ngf
        self.ca = ConditioningAugmentation(
            preset.text_dim, preset.condition_dim, preset.ca_relu, preset.conditioning_augmentation
        )
        halvings = preset.stage2_encoder_halvings
        down = [ngf, *[2 * ngf, 4 * ngf][-halvings:]]
        self.encode = nn.Sequential(
            conv3x3(3, ngf),
            nn.ReLU(inplace=True),
            *itertools.chain.from_iterable(
                (
                    nn.Conv2d(i, o, kernel_size=4, stride=2, padding=1, bias=False),
                    nn.BatchNorm2d(o),
                    nn.ReLU(inplace=True),
                )
                for i, o in itertools.pairwise(down)
            ),
        )
        self.joint = nn.Sequential(
            conv3x3(4 * ngf + preset.condition_dim, 4 * ngf),
            nn.BatchNorm2d(4 * ngf),
            nn.ReLU(inplace=True),
        )
        self.residual = nn.Sequential(
            *(ResidualBlock(4 * ngf) for _ in range(preset.residual_blocks))
        )
        # halvings + 2 doublings take s1 / 2**halvings to s2 = 4 s1
        widths = [4 * ngf, *[2 * ngf, ngf, ngf // 2, ngf // 4][-(halvings + 2) :]]
        self.upsample = nn.Sequential(*(up_block(i, o) for i, o in itertools.pairwise(widths)))
        self.to_image = nn.Sequential(conv3x3(widths[-1], 3, bias=True), nn.Tanh())
        self.apply(init_weights)
        # gamma and beta of each up block (FiLM, Perez et al. 2018), made after init_weights: zero,
        # so training starts from the unconditional up path
        self.film = None
        if preset.stage2_conditional_bn:
            self.film = nn.ModuleList(nn.Linear(preset.condition_dim, 2 * o) for o in widths[1:])
            for linear in self.film:
                nn.init.zeros_(linear.weight)
                nn.init.zeros_(linear.bias)

    def forward(
        self, stage1_image: Tensor, phi_t: Tensor, epsilon: Tensor | None = None
    ) -> GeneratorOutput:
        check_image(stage1_image, self.preset.stage1_side, "Stage2Generator (the Stage-I image)")
        c_hat, mu, logvar = self.ca(phi_t, epsilon)
        h = self.encode(stage1_image)
        c = c_hat[:, :, None, None].expand(-1, -1, *h.shape[2:])
        h = self.residual(self.joint(torch.cat([h, c], dim=1)))
        for k in range(len(self.upsample)):
            h = self.up(k, h, c_hat)
        return GeneratorOutput(self.to_image(h), mu, logvar)

    def up(self, k: int, h: Tensor, c_hat: Tensor) -> Tensor:
        """Up block k on h; with conditional BatchNorm its BN output becomes
        BN(h) · (1 + gamma(c_hat)) + beta(c_hat) before the ReLU."""
        block = self.upsample[k]  # nearest ×2, 3×3 conv, BN, ReLU
        if self.film is None:
            return block(h)
        gamma, beta = self.film[k](c_hat)[:, :, None, None].chunk(2, dim=1)
        return block[-1](block[:-1](h) * (1 + gamma) + beta)


class Stage2Discriminator(Discriminator):
    """(image [B, 3, s2, s2], phi_t [B, t]) → conditional logit [B] (+ unconditional logit [B]).

    4×4 conv stride 2 (3 → ndf) + LeakyReLU, down blocks doubling the channels to 4×4
    (32ndf for 256 px), two 3×3 conv + BN + LeakyReLU halving them (→ 8ndf), then the heads
    (with `stage2_aux_weights`, the auxiliary classifier's too).
    """

    def __init__(self, preset: Preset) -> None:
        layers, top = down_path(preset.ndf, preset.stage2_side)
        encode = nn.Sequential(
            *layers,
            conv3x3(top, top // 2),
            nn.BatchNorm2d(top // 2),
            nn.LeakyReLU(0.2, inplace=True),
            conv3x3(top // 2, top // 4),
            nn.BatchNorm2d(top // 4),
            nn.LeakyReLU(0.2, inplace=True),
        )
        super().__init__(
            preset,
            preset.stage2_side,
            encode,
            top // 4,
            uncond=preset.stage2_uncond_head,
            projection=preset.stage2_projection_head,
            attribute_classes=sum(ATTRIBUTE_SIZES) if preset.stage2_aux_weights else 0,
        )
