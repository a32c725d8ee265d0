"""Named configurations (presets): every size and hyper-parameter of a run, in one frozen dataclass.

The networks, losses and trainer read everything from a `Preset`, so the CPU-sized `lite`
preset and the paper-sized `cub` / `flowers` presets run the same code.

    >>> from stackgan_lite import presets
    >>> p = presets.get("cub")
    >>> p.stage1_side, p.stage2_side, p.ngf
    (64, 256, 128)
    >>> small = p.replace(batch_size=8)   # a modified copy; presets are immutable

KL term. The paper writes the CA regulariser as λ·KL with λ = 1 and the KL summed over the
`c` condition dimensions. The authors' PyTorch release (whose numbers the paper reports) puts a
ReLU after CA's Linear layer (so mu ≥ 0 and logvar ≥ 0, i.e. sigma ≥ 1) and averages the KL over
all elements with a coefficient of 2.0. The paper presets follow the release
(`ca_relu=True, kl_reduction="mean", kl_coef=2.0`); the paper's written form is
`ca_relu=False, kl_reduction="sum", kl_coef=1.0`.

Without CA. `conditioning_augmentation=False` is the paper's ablation (§5.2, "without CA"): the
generator is conditioned on the text embedding directly, through the same Linear layer but with
no sampling (c_hat = mu, i.e. epsilon = 0) and no KL term. `get("lite_noca")` is `lite` with that
one field changed; it keeps the name `lite`, which picks the text encoder and classifier it shares
with `lite`, while its checkpoints and weights file (`lite_stage1_noca.pt`) carry the field.

StackGAN-v2. A preset with `branches` ≥ 1 describes a StackGAN++ tree (`stackgan_lite.stackgan_v2`)
instead of two stages: `branches` scales from `stage1_side` doubling up to `stage2_side`, all
trained jointly. `cub_v2` is the authors' StackGAN-v2 birds configuration; `lite_v2` the CPU tree
on the embedded set, with `lite`'s sides (16, 32, 64 px); `lite_v2_uncond` that tree without text
(the paper's unconditional setting), where colour consistency is on.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal

from stackgan_lite import spectral

__all__ = ["Preset", "available", "get"]


@dataclass(frozen=True)
class Preset:
    """One run's configuration. Symbols as in the StackGAN paper."""

    name: str
    dataset: Literal["shapes", "cub", "flowers"]

    # --- sizes (paper symbols) ---
    text_dim: int = 1024  # t: size of the text embedding phi_t
    condition_dim: int = 128  # c: size of c_hat (Conditioning Augmentation output)
    z_dim: int = 100  # z: noise size
    ngf: int = 128  # generator width
    ndf: int = 64  # discriminator width
    residual_blocks: int = 4  # r: residual blocks in the Stage-II generator
    # halvings of the Stage-I image in the Stage-II encoder: 2 in the paper (64 → 16 px, where the
    # text is joined, then 4 upsamplings to 256); the side of that grid is s1 / 2**halvings
    stage2_encoder_halvings: int = 2
    stage1_side: int = 64  # Stage-I image side (pixels)
    stage2_side: int = 256  # Stage-II image side = 4 × Stage-I side

    # --- Conditioning Augmentation and its KL term (see the module docstring) ---
    conditioning_augmentation: bool = True  # False: the paper's "without CA" ablation
    ca_relu: bool = True
    kl_reduction: Literal["mean", "sum"] = "mean"
    kl_coef: float = 2.0

    # --- discriminator ---
    stage2_uncond_head: bool = True  # Stage-II D also has an unconditional logit (authors' release)
    # Stage-II D's conditional head: a projection (Miyato & Koyama 2018) instead of the paper's
    # concatenation (StackGAN-v1 only: the tree's discriminators keep the paper's head)
    stage2_projection_head: bool = False

    # --- generator ---
    # weight of a Stage-II text-image matching term in G's loss (AttnGAN's DAMSM, Xu et al. 2018,
    # at sentence level): the InfoNCE loss of the frozen shipped joint embedding between G's
    # images and their captions. 0: off, as in the paper (StackGAN-v1 only)
    stage2_matching_coef: float = 0.0
    # conditional BatchNorm in Stage-II's up path (de Vries et al. 2017): each up block's BN
    # output scaled and shifted per sample by c_hat, so the caption reaches the layers that draw
    # the 4-px texture, not only the grid where it is joined (StackGAN-v1 only)
    stage2_conditional_bn: bool = False
    # weight of a Stage-II G term asking D to reject G's image under the contrast caption t'
    # (one attribute wrong), as D rejects real images under it: −log(1 − D(G(s0, c_hat), t')).
    # 0: off, as in the paper (StackGAN-v1 only; no effect without contrast captions,
    # `contrast_share` = 0)
    stage2_contrast_coef: float = 0.0

    # --- auxiliary classifier (AC-GAN, Odena et al. 2017; TAC-GAN, Dash et al. 2017) ---
    # (attribute, weight) pairs: that stage's D also predicts each attribute of a real image from
    # its pooled features, and G is asked for images D reads as their caption's attributes, each
    # attribute's cross-entropy weighted (missing names weigh 0). Needs attribute labels (the
    # shapes set). (): off, as in the paper (StackGAN-v1 only)
    stage1_aux_weights: tuple[tuple[str, float], ...] = ()
    stage2_aux_weights: tuple[tuple[str, float], ...] = ()
    # weight of a Stage-II G term: the cross-entropy of a fixed judge that reads the shapes
    # set's pattern off six bins of the image's power spectrum, under the caption's pattern
    # (`stackgan_lite.spectral`). Needs attribute labels and 64-px Stage-II images. 0: off, as in
    # the paper (StackGAN-v1 only)
    stage2_spectral_coef: float = 0.0

    # --- optimisation (Adam, lr halved every lr_decay_epochs; 0: never) ---
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay_epochs: int = 100
    epochs: int = 600  # per stage

    # --- stabilisers for small GANs on a CPU (all off in the paper presets) ---
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    spectral_norm: bool = False  # spectral normalisation on D's conv / linear layers
    ema_decay: float = 0.0  # > 0: keep an exponential moving average of G for sampling
    # share of D's "wrong" captions that describe the image wrongly in exactly one attribute
    # (datasets with attribute labels); the rest are other images' captions, as in the paper
    contrast_share: float = 0.0

    # --- StackGAN-v2 (0 branches: a v1 preset, two stages) ---
    branches: int = 0  # scales of the tree: stage1_side · 2^i for i < branches
    uncond_coef: float = 1.0  # weight of each D's unconditional terms (authors' COEFF.UNCOND_LOSS)
    color_coef: float = 0.0  # weight of the colour-consistency term (authors' COEFF.COLOR_LOSS)
    text_conditioned: bool = True  # False: unconditional generation, no text, no CA

    # whose shipped text encoder embeds this preset's captions ("": its own, text_<name>.pt)
    text_encoder: str = ""
    # how often the text encoder's hard negatives change each attribute (shapes presets:
    # (attribute, weight) pairs, `shapes.contrast_labels`; (): each attribute alike)
    text_hard_weights: tuple[tuple[str, float], ...] = ()
    # the same for Stage-II's contrast captions: its D's hard "wrong" captions and its matching
    # term's hard negatives (StackGAN-v1 only; (): each attribute alike, as in Stage-I, whose
    # 16-px images cannot show a 4-px pattern)
    stage2_contrast_weights: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        for field in ("text_dim", "condition_dim", "z_dim", "ngf", "ndf", "batch_size"):
            if getattr(self, field) <= 0:
                raise ValueError(f"preset {self.name!r}: {field} must be positive")
        if self.residual_blocks < 0:
            raise ValueError(f"preset {self.name!r}: residual_blocks must be >= 0")
        for field in ("stage1_side", "stage2_side"):
            side = getattr(self, field)
            if side < 8 or 2 ** round(math.log2(side)) != side:
                raise ValueError(
                    f"preset {self.name!r}: {field} must be a power of two >= 8, got {side}"
                )
        if self.branches < 0:
            raise ValueError(f"preset {self.name!r}: branches must be >= 0 (0: StackGAN-v1)")
        # v1: Stage-II is 4 × Stage-I; v2: each branch doubles the side of the one below
        factor = 2 ** (self.branches - 1) if self.branches else 4
        if self.stage2_side != factor * self.stage1_side:
            raise ValueError(
                f"preset {self.name!r}: stage2_side must be {factor} × stage1_side "
                f"({factor * self.stage1_side}), got {self.stage2_side}"
            )
        if self.branches and self.ngf % 2 ** (self.branches - 1):
            raise ValueError(
                f"preset {self.name!r}: ngf must be a multiple of {2 ** (self.branches - 1)} "
                f"(each of the {self.branches} branches halves the channels)"
            )
        v1_only = (
            "stage2_projection_head",
            "stage2_matching_coef",
            "stage2_contrast_weights",
            "stage2_conditional_bn",
            "stage2_contrast_coef",
            "stage1_aux_weights",
            "stage2_aux_weights",
            "stage2_spectral_coef",
        )
        for field in v1_only:
            if self.branches and getattr(self, field):
                raise ValueError(
                    f"preset {self.name!r}: {field} is a StackGAN-v1 option; "
                    f"turn it off (False, 0 or ()) for a tree (branches > 0)"
                )
        for field in ("stage2_matching_coef", "stage2_contrast_coef", "stage2_spectral_coef"):
            if getattr(self, field) < 0:
                raise ValueError(f"preset {self.name!r}: {field} must be >= 0")
        for field in ("stage1_aux_weights", "stage2_aux_weights", "stage2_spectral_coef"):
            if getattr(self, field) and self.dataset != "shapes":
                raise ValueError(
                    f"preset {self.name!r}: {field} needs attribute labels, which only the "
                    f"embedded shapes set has; turn it off (() or 0) for {self.dataset!r}"
                )
        if self.stage2_spectral_coef and self.stage2_side < 4 * spectral.CYCLES:
            raise ValueError(
                f"preset {self.name!r}: stage2_spectral_coef needs stage2_side >= "
                f"{4 * spectral.CYCLES} (the pattern's harmonic, {2 * spectral.CYCLES} cycles per "
                f"image, must lie below Nyquist); got {self.stage2_side}"
            )
        if self.uncond_coef < 0 or self.color_coef < 0:
            raise ValueError(f"preset {self.name!r}: uncond_coef and color_coef must be >= 0")
        if self.stage2_encoder_halvings not in (1, 2):
            raise ValueError(
                f"preset {self.name!r}: stage2_encoder_halvings must be 1 or 2, "
                f"got {self.stage2_encoder_halvings}"
            )
        if not self.branches and self.ngf % 4:
            raise ValueError(
                f"preset {self.name!r}: ngf must be a multiple of 4 (Stage-II ends at ngf/4)"
            )
        if self.kl_reduction not in ("mean", "sum"):
            raise ValueError(f"preset {self.name!r}: kl_reduction must be 'mean' or 'sum'")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise ValueError(f"preset {self.name!r}: label_smoothing must be in [0, 0.5)")
        if not 0.0 <= self.contrast_share <= 1.0:
            raise ValueError(f"preset {self.name!r}: contrast_share must be in [0, 1]")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"preset {self.name!r}: ema_decay must be in [0, 1)")

    def replace(self, **changes: object) -> Preset:
        """A copy with some fields changed (validated like a new preset)."""
        return dataclasses.replace(self, **changes)


def _weighted(**weights: float) -> tuple[tuple[str, float], ...]:
    """(attribute, weight) pairs for the shapes set: the attributes named, every other 1."""
    names = ("shape", "colour", "size", "position", "background", "pattern")
    if unknown := set(weights) - set(names):
        raise ValueError(f"not attributes of the shapes set: {sorted(unknown)}")
    return tuple((name, float(weights.get(name, 1.0))) for name in names)


_PRESETS: dict[str, Preset] = {
    # The paper's CUB-200-2011 configuration (authors' PyTorch release, cfg/coco_s1.yml & birds).
    "cub": Preset(name="cub", dataset="cub"),
    # Oxford-102 flowers: same networks and schedule as birds in the paper.
    "flowers": Preset(name="flowers", dataset="flowers"),
    # CPU-sized, for the embedded shapes dataset: 16 px Stage-I, 64 px Stage-II.
    "lite": Preset(
        name="lite",
        dataset="shapes",
        text_dim=128,
        condition_dim=32,
        z_dim=32,
        ngf=32,
        ndf=32,
        residual_blocks=2,
        stage1_side=16,
        stage2_side=64,
        # The paper's two halvings would join the text on a 4×4 grid, too coarse to keep a
        # 16-px sketch: D then wins outright (D(fake) 0.008 after 2,500 steps) and the shapes
        # melt into blobs. On 8×8 the sketch survives (README, "Shipped weights").
        stage2_encoder_halvings=1,
        ca_relu=False,
        # The release's 2.0 pulls lite's 32-dim condition so close to N(0, I) that Stage-I loses
        # the shape of one caption in five; 0.2 keeps it (README, "Shipped weights").
        kl_coef=0.2,
        batch_size=64,
        lr_decay_epochs=20,
        epochs=40,
        ema_decay=0.999,  # samples from the averaged G are steadier on a small, short run
        # Random wrong captions differ from the image in background or colour, so D never has
        # to read the shape: it stays at chance (25 %) after 2,000 steps without this.
        contrast_share=0.5,
        # With the paper's head, Stage-II reaches 81 % seen shape and 80 % of the score ceiling
        # after 2,000 steps; with a projection head, 89 % and 90 % (README, "Shipped weights").
        stage2_projection_head=True,
        # The sketch carries every attribute, so a Stage-II G trained by D alone learns to ignore
        # the caption and loses some of Stage-I's shapes (89 %); the matching term asks it to keep
        # them: 91 % seen shape, 98 % colour (README, "Shipped weights").
        stage2_matching_coef=1.0,
        # Drawn alike, one hard negative in six changes the pattern, and the text encoder leaves
        # the four patterns of a caption at cosine 0.97: Stage-II then draws them at chance.
        # Weighted 20 to 1 (four in five change it), the image side picks a caption's pattern
        # for 95 % of real images (5 to 1: 76 %; alike: 48 %), and Stage-II, with the contrast
        # weights below, draws it for 74 % of seen captions (5 to 1: 47 %; alike: 26 %)
        # (README, "Text encoder" and "Shipped weights").
        text_hard_weights=_weighted(pattern=20),
        # Stage-II's D with each attribute alike in its contrast captions seldom sees a wrong
        # pattern alone (one in twelve wrong captions); weighted 5 to 1 (one in four), Stage-II
        # draws the caption's pattern for 56 % of seen captions at step 1,000, not 45 % (README,
        # "Shipped weights").
        stage2_contrast_weights=_weighted(pattern=5),
        # Stage-II's D reads the pattern (it picks the caption's of four variants for 93 % of real
        # images) but its G draws dots as stripes. Conditional BatchNorm in the up path and a G
        # term against the contrast caption, together, draw the pattern for 80 / 80 / 72 % of seen
        # captions on seeds 0 / 1 / 2 after 3,000 steps, against 74 / 69 % on seeds 0 / 1 without
        # them; neither alone does better (README, "Shipped weights").
        stage2_conditional_bn=True,
        stage2_contrast_coef=1.0,
        # Each stage's D also classifies every attribute but the pattern (AC-GAN), which 16 px
        # cannot show and which G fooled a learnt head on with 4-px textures: the first lever
        # that moved Stage-I's shapes. Stage-I weights the shape 3, which nothing there pulls
        # against (held-out shape 95 %; 84 % at 1), and Stage-II's shape errors are Stage-I's;
        # in Stage-II the same weight cost the pattern. Stage-II's G also answers to a fixed
        # spectral judge of the pattern, which no texture fools. `make weights` (4,000 steps):
        # pattern 91 / 91 % seen / held-out, held-out all 76 %, FID 69; the other weights,
        # seeds and step counts tried are in the README.
        stage1_aux_weights=_weighted(shape=3, pattern=0),
        stage2_aux_weights=_weighted(pattern=0),
        stage2_spectral_coef=4.0,
    ),
}


# The paper's "without CA" ablation (§5.2) of lite, trained with exactly lite's recipe otherwise.
_PRESETS["lite_noca"] = _PRESETS["lite"].replace(conditioning_augmentation=False)

# The authors' StackGAN-v2 birds configuration (cfg/birds_3stages.yml): three branches (64, 128,
# 256 px), ngf 64 (16·ngf channels at 4×4), two residual blocks per branch, batch 24, no lr decay.
_PRESETS["cub_v2"] = Preset(
    name="cub_v2",
    dataset="cub",
    ngf=64,
    ndf=64,
    residual_blocks=2,
    branches=3,
    batch_size=24,
    lr_decay_epochs=0,
    kl_coef=2.0,
    uncond_coef=1.0,
    color_coef=0.0,
)

# The tree on the embedded set, with lite's sides, widths and recipe (EMA, contrast captions):
# 128 channels on the 4×4 code, 8 at 64 px. ngf 64 (lite Stage-I's 256 on the code) costs
# 3.3 s per step on 2 cores against 0.9 s, too slow for the v1-vs-v2 run at equal wall-clock.
# The shipped tree was trained when lite had its first text encoder (before its hard negatives)
# and the release's KL weight, and keeps both: text_lite_v2.pt and kl_coef=2.0.
_PRESETS["lite_v2"] = _PRESETS["lite"].replace(
    name="lite_v2",
    ngf=32,
    branches=3,
    text_encoder="lite_v2",
    text_hard_weights=(),
    stage2_contrast_weights=(),
    kl_coef=2.0,
    stage2_projection_head=False,
    stage2_matching_coef=0.0,
    stage2_conditional_bn=False,
    stage2_contrast_coef=0.0,
    stage1_aux_weights=(),
    stage2_aux_weights=(),
    stage2_spectral_coef=0.0,
)
# Unconditional generation (no captions), where the paper turns colour consistency on.
_PRESETS["lite_v2_uncond"] = _PRESETS["lite_v2"].replace(
    name="lite_v2_uncond", text_conditioned=False, color_coef=1.0, contrast_share=0.0
)


def available() -> list[str]:
    """Names accepted by `get`."""
    return sorted(_PRESETS)


def get(name: str) -> Preset:
    """The preset called `name`; an unknown name raises a ValueError listing the available ones."""
    try:
        return _PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown preset {name!r}; available presets: {', '.join(available())}"
        ) from None
