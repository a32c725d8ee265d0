"""Training StackGAN, one stage at a time (paper §3.4): Stage-I first, then Stage-II with Stage-I
frozen. One loop for every preset and device; `python -m stackgan_lite train` calls `train`.

Each iteration (`train_step`):
  1. G forward:  fake, mu, logvar = G(phi_t, z)            (Stage-II: G(G1(phi_t, z), phi_t))
  2. D step:     L_D = matching-aware loss on (real, t), (real, t_wrong), (fake, t)
                       [+ L_aux(D_aux(real), y), y the attribute labels]
  3. G step:     L_G = −log D(fake, t) [− log D_u(fake)] + kl_coef · KL(N(mu, sigma²) ‖ N(0, I))
                       [+ stage2_matching_coef · InfoNCE(psi(fake), phi_t)]
                       [− stage2_contrast_coef · log(1 − D(fake, t')), t' one attribute wrong]
                       [+ L_aux(D_aux(fake), y)]   (L_aux: `losses.attribute_loss`)

Stage-I is frozen in eval mode while Stage-II trains: BatchNorm then uses its running
statistics, so Stage-II learns to refine exactly the images Stage-I produces at sampling time.

StackGAN-v2 presets (`branches` ≥ 1) train their whole tree in one run (`train_step_tree`): the
real image at every scale, one discriminator per scale, the generator's loss summed over scales.

Runs are resumable exactly: a checkpoint holds the models, optimisers, schedulers, the RNG state
and the step; batches come from a seeded per-epoch permutation (DistributedSampler), so a resumed
run replays the same data, noise and updates as an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler
from tqdm.auto import tqdm

from stackgan_lite import runtime
from stackgan_lite.blocks import DiscriminatorOutput
from stackgan_lite.conditioning import kl_divergence
from stackgan_lite.data.shapes import ATTRIBUTE_SIZES, ATTRIBUTES, attribute_weights
from stackgan_lite.losses import (
    attribute_loss,
    discriminator_loss,
    generator_contrast_loss,
    generator_loss,
    mismatched_indices,
)
from stackgan_lite.presets import Preset
from stackgan_lite.spectral import PatternJudge, spectral_pattern_loss
from stackgan_lite.stackgan_v2 import (
    TreeDiscriminator,
    TreeGenerator,
    colour_consistency,
    joint_discriminator_loss,
    joint_generator_loss,
    real_pyramid,
    tree_sides,
)
from stackgan_lite.stage1 import Stage1Discriminator, Stage1Generator
from stackgan_lite.stage2 import Stage2Discriminator, Stage2Generator
from stackgan_lite.text import JointEmbedding, info_nce, load_text_encoder
from stackgan_lite.viz import plot_losses, sample_grid

__all__ = [
    "CheckpointError",
    "NonFiniteLossError",
    "RunOptions",
    "TrainResult",
    "load_checkpoint",
    "save_checkpoint",
    "train",
    "train_step",
    "train_step_tree",
]

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 1


class TrainResult(NamedTuple):
    checkpoint: Path  # the final checkpoint (written by rank 0)
    log: Path  # the JSONL log
    generator: nn.Module  # the trained generator (its EMA copy when the preset keeps one)
    discriminator: nn.Module


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the run stopped before the bad update."""


class CheckpointError(ValueError):
    """A checkpoint that cannot be used for this run (missing, other preset, other stage)."""


@dataclass(frozen=True)
class RunOptions:
    """Everything about a run that is not the model's configuration (that is the `Preset`)."""

    stage: int = 1
    out: Path = Path("runs/lite/stage1")
    steps: int | None = None  # None: preset.epochs × steps per epoch (scaled down in fast mode)
    seed: int = 0
    resume: bool = False
    stage1_checkpoint: Path | None = None  # Stage-II: the frozen Stage-I (default: shipped weights)
    log_every: int = 50
    checkpoint_every: int = 500
    samples: int = 16  # fixed-noise, fixed-caption grid written at every log interval
    device: str = "auto"
    amp: bool | None = None  # bf16 autocast; None: on for CUDA with native bf16 (Ampere on)
    channels_last: bool | None = None  # None: on for CUDA
    num_workers: int = 0
    threads: int | None = None  # CPU threads per process; None: runtime.cpu_threads
    progress: bool | None = None  # tqdm bar; None: only on a terminal outside CI
    time_limit: float | None = None  # seconds: stop (with a final checkpoint) once past it

    def __post_init__(self) -> None:
        if self.stage not in (1, 2):
            raise ValueError(f"stage must be 1 or 2, got {self.stage}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be at least 1, got {self.steps}")
        if self.log_every < 1 or self.checkpoint_every < 1:
            raise ValueError("log_every and checkpoint_every must be at least 1")


@dataclass
class Models:
    """The networks and optimisers of one stage; `stage1` is the frozen Stage-I for Stage-II."""

    generator: nn.Module
    discriminator: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sched_g: torch.optim.lr_scheduler.LRScheduler
    sched_d: torch.optim.lr_scheduler.LRScheduler
    stage1: nn.Module | None = None
    ema: AveragedModel | None = None
    matcher: JointEmbedding | None = None  # frozen, for `preset.stage2_matching_coef`
    judge: PatternJudge | None = None  # fixed, for `preset.stage2_spectral_coef`


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


@contextlib.contextmanager
def _frozen(module: nn.Module) -> Iterator[None]:
    """No weight gradients for `module` (D during the G step: only its input gradient is used)."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(module.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def _check_finite(step: int, terms: dict[str, Tensor]) -> None:
    for name, value in terms.items():
        if not torch.isfinite(value).all():
            raise NonFiniteLossError(f"step {step}: the {name} is {value.item()}")


def _wrong_texts(
    phi_t: Tensor, labels: Tensor | None, contrast: Tensor | None, preset: Preset
) -> Tensor:
    """The "wrong" caption of each row: another row's caption that does not describe this image
    or, for a `preset.contrast_share` of the rows, the caption wrong in one attribute only."""
    batch = phi_t.shape[0]
    wrong_phi_t = phi_t[mismatched_indices(batch, labels).to(phi_t.device)]
    if contrast is not None and preset.contrast_share > 0:
        hard = torch.rand(batch, 1, device=phi_t.device) < preset.contrast_share
        wrong_phi_t = torch.where(hard, contrast, wrong_phi_t)
    return wrong_phi_t


def _kl_term(mu: Tensor | None, logvar: Tensor | None, preset: Preset) -> Tensor:
    """KL(N(mu, sigma²) ‖ N(0, I)) as the preset reduces it; 0 without CA or without text."""
    if mu is None or not preset.conditioning_augmentation:
        return torch.zeros(())
    return kl_divergence(mu.float(), logvar.float(), preset.kl_reduction)


def _matching_term(
    matcher: JointEmbedding | None, fake: Tensor, phi_t: Tensor, contrast: Tensor | None
) -> Tensor:
    """How badly G's images match their captions, read by the frozen joint embedding: the
    symmetric InfoNCE between psi(fake_i) and phi_t_i among the batch's captions (and each row's
    contrast caption, one attribute wrong, as a hard negative); 0 without a matcher."""
    if matcher is None:
        return torch.zeros(())
    return info_nce(matcher.image(fake.float()), phi_t, matcher.logit_scale, contrast)


_PATTERN = list(ATTRIBUTES).index("pattern")


def _labels_for(what: str, labels: Tensor | None, batch: int, option: str) -> Tensor:
    """The batch's attribute labels [batch, A], or a clear error naming the option to turn off."""
    if labels is None or labels.shape != (batch, len(ATTRIBUTE_SIZES)):
        got = None if labels is None else list(labels.shape)
        raise ValueError(
            f"the {what} needs each image's attribute labels [batch, {len(ATTRIBUTE_SIZES)}] "
            f"(the shapes set's), got {got}; pass them, or turn the preset's {option} off"
        )
    return labels


def _attribute_term(
    out: DiscriminatorOutput, labels: Tensor | None, weights: tuple[tuple[str, float], ...]
) -> Tensor:
    """D's auxiliary classifier's loss on these images under their captions' attribute labels,
    each attribute weighted by `weights`; 0 without that head."""
    if out.attributes is None:
        return torch.zeros(())
    option = "stage1_aux_weights / stage2_aux_weights (())"
    labels = _labels_for("auxiliary classifier", labels, len(out.attributes), option)
    w = attribute_weights(dict(weights), "auxiliary classifier weights").tolist()
    return attribute_loss(out.attributes, labels.to(out.attributes.device), ATTRIBUTE_SIZES, w)


def _spectral_term(judge: PatternJudge | None, fake: Tensor, labels: Tensor | None) -> Tensor:
    """The fixed spectral judge's cross-entropy on G's images under their captions' patterns;
    0 without a judge."""
    if judge is None:
        return torch.zeros(())
    labels = _labels_for("spectral term", labels, len(fake), "stage2_spectral_coef (0)")
    return spectral_pattern_loss(judge, fake, labels[:, _PATTERN])


def fit_pattern_judge(dataset: Dataset, device: torch.device, size: int = 4096) -> PatternJudge:
    """The spectral judge fitted on the first `size` training images (`PatternJudge.fit`: the
    same images give the same judge, so a resumed run refits it rather than storing it)."""
    n = min(size, len(dataset))
    samples = [dataset[i] for i in range(n)]
    images = torch.stack([s.image2 for s in samples])
    labels = _labels_for(
        "spectral term", torch.stack([s.labels for s in samples]), n, "stage2_spectral_coef (0)"
    )
    return PatternJudge.fit(images, labels[:, _PATTERN]).to(device)


def _float(out: DiscriminatorOutput) -> DiscriminatorOutput:
    """The logits in float32 (bf16 autocast emits bf16), for the losses."""
    return DiscriminatorOutput(*(None if t is None else t.float() for t in out))


def _mean_probability(*logits: Tensor | None) -> float:
    """The mean of sigmoid(l) for the first logits given (not None)."""
    first = next(t for t in logits if t is not None)
    return torch.sigmoid(first.detach().float()).mean().item()


def _update_d(models: Models, loss_d: Tensor, step: int) -> None:
    """The D update, refused (NonFiniteLossError) before it is made if the loss is not finite."""
    _check_finite(step, {"discriminator loss": loss_d})
    models.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    models.opt_d.step()


def _update_g(models: Models, loss_g: Tensor) -> None:
    """The G update, then the schedulers and the EMA of G."""
    models.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    models.opt_g.step()
    models.sched_g.step()
    models.sched_d.step()
    if models.ema is not None:
        models.ema.update_parameters(_unwrap(models.generator))


def train_step(
    models: Models,
    real: Tensor,
    phi_t: Tensor,
    labels: Tensor | None,
    preset: Preset,
    *,
    contrast: Tensor | None = None,
    step: int = 0,
    amp: bool = False,
) -> dict[str, float]:
    """One iteration: G forward, D step, G step. Returns the logged scalars.

    `real` is the batch at this stage's side; `labels` (if known) keep the "wrong" captions from
    describing the image they are paired with; `contrast` [B, t] (if given) holds captions wrong
    in one attribute only, used for a `preset.contrast_share` of the wrong pairs.
    """
    g, d = models.generator, models.discriminator
    batch = real.shape[0]
    z = torch.randn(batch, preset.z_dim, device=real.device)
    autocast = torch.autocast(real.device.type, dtype=torch.bfloat16, enabled=amp)

    with autocast:
        if models.stage1 is None:
            fake, mu, logvar = g(phi_t, z)
        else:
            with torch.no_grad():
                stage1_image = models.stage1(phi_t, z).image
            fake, mu, logvar = g(stage1_image, phi_t)

    # D step: (real, t) → 1, (real, t_wrong) → 0, (fake, t) → 0
    wrong_phi_t = _wrong_texts(phi_t, labels, contrast, preset)
    with autocast:
        out_real = d(real, phi_t, wrong_phi_t)
        out_fake = d(fake.detach(), phi_t)
    r, f = _float(out_real), _float(out_fake)
    loss_d = discriminator_loss(
        r.cond, r.wrong, f.cond, r.uncond, f.uncond, real_target=1.0 - preset.label_smoothing
    )
    aux_weights = preset.stage1_aux_weights if models.stage1 is None else preset.stage2_aux_weights
    aux_d = _attribute_term(r, labels, aux_weights)
    _update_d(models, loss_d + aux_d, step)

    # G step: fool D on (fake, t) [and have it reject (fake, t')], keep CA close to N(0, I)
    contrast_g = contrast if preset.stage2_contrast_coef > 0 else None
    with _frozen(d), autocast:
        out = _float(_unwrap(d)(fake, phi_t, contrast_g))
    loss_adv = generator_loss(out.cond, out.uncond)
    if out.wrong is not None:
        loss_adv = loss_adv + preset.stage2_contrast_coef * generator_contrast_loss(out.wrong)
    kl = _kl_term(mu, logvar, preset)  # 0 for the "without CA" ablation: c_hat = mu
    matching = _matching_term(models.matcher, fake, phi_t, contrast)
    aux_g = _attribute_term(out, labels, aux_weights)
    spectral = _spectral_term(models.judge, fake, labels)
    loss_g = (
        loss_adv
        + preset.kl_coef * kl
        + preset.stage2_matching_coef * matching
        + aux_g
        + preset.stage2_spectral_coef * spectral
    )
    _check_finite(
        step,
        {
            "generator loss": loss_adv,
            "KL term": kl,
            "matching term": matching,
            "attribute term": aux_g,
            "spectral term": spectral,
        },
    )
    _update_g(models, loss_g)
    scalars = {
        "d_loss": loss_d.item(),
        "g_loss": loss_adv.item(),
        "kl": kl.item(),
        "d_real": _mean_probability(out_real.cond),
        "d_wrong": _mean_probability(out_real.wrong),
        "d_fake": _mean_probability(out_fake.cond),
    }
    if models.matcher is not None:
        scalars["matching"] = matching.item()
    if out.attributes is not None:
        scalars["aux_d"], scalars["aux_g"] = aux_d.item(), aux_g.item()
    if models.judge is not None:
        scalars["spectral"] = spectral.item()
    return scalars


def train_step_tree(
    models: Models,
    real: Tensor,
    phi_t: Tensor | None,
    labels: Tensor | None,
    preset: Preset,
    *,
    contrast: Tensor | None = None,
    step: int = 0,
    amp: bool = False,
) -> dict[str, float]:
    """One StackGAN-v2 iteration: the tree's forward, every D_i's step, one G step on the sum.

        L_D = Σ_i L_{D_i}                                   (`joint_discriminator_loss`)
        L_G = Σ_i L_{G_i} + kl_coef · KL + color_coef · Σ_{i≥1} L_{C_i}

    `real` is the batch at the largest side; the other scales are its area averages. D_i
    conditions on the generator's mu, detached (the wrong pairs: mu of the wrong captions).
    """
    g, d = models.generator, models.discriminator
    reals = real_pyramid(real, tree_sides(preset))
    z = torch.randn(real.shape[0], preset.z_dim, device=real.device)
    autocast = torch.autocast(real.device.type, dtype=torch.bfloat16, enabled=amp)
    with autocast:
        fakes, mu, logvar = g(phi_t, z)
    cond = wrong = None
    if mu is not None:
        cond = mu.detach()
        with torch.no_grad(), autocast:
            wrong = _unwrap(g).ca.moments(_wrong_texts(phi_t, labels, contrast, preset))[0]

    with autocast:
        outs_real = d(reals, cond, wrong)
        outs_fake = d([f.detach() for f in fakes], cond)
    target = 1.0 - preset.label_smoothing
    loss_d = sum(
        joint_discriminator_loss(_float(r), _float(f), preset.uncond_coef, target)
        for r, f in zip(outs_real, outs_fake, strict=True)
    )
    _update_d(models, loss_d, step)

    with _frozen(d), autocast:
        outs = _unwrap(d)(fakes, cond)
    loss_adv = sum(joint_generator_loss(_float(o), preset.uncond_coef) for o in outs)
    kl = _kl_term(mu, logvar, preset).to(real.device)
    # measured (and logged) even where it is off, so runs with and without it compare
    with torch.set_grad_enabled(preset.color_coef > 0):
        colour = sum(colour_consistency(hi, lo) for lo, hi in itertools.pairwise(fakes))
    colour = torch.as_tensor(colour, dtype=torch.float32, device=real.device)  # one scale: 0
    loss_g = loss_adv + preset.kl_coef * kl + preset.color_coef * colour
    _check_finite(step, {"generator loss": loss_adv, "KL term": kl, "colour term": colour})
    _update_g(models, loss_g)

    # D's outputs at the largest scale (the unconditional ones without text)
    last_real, last_fake = outs_real[-1], outs_fake[-1]
    scalars = {"d_loss": loss_d.item(), "g_loss": loss_adv.item(), "kl": kl.item()}
    scalars["colour"] = colour.item()
    scalars["d_real"] = _mean_probability(last_real.cond, last_real.uncond)
    scalars["d_fake"] = _mean_probability(last_fake.cond, last_fake.uncond)
    if last_real.wrong is not None:
        scalars["d_wrong"] = _mean_probability(last_real.wrong)
    return scalars


# --------------------------------------------------------------------------- building a run


def _ema_with_warmup(decay: float):
    """theta_ema <- beta_t theta_ema + (1 - beta_t) theta, beta_t = min(decay, (1 + t) / (10 + t)).

    A constant beta of 0.999 would leave 0.999^1000 ≈ 37 % of the random initialisation in the
    average after 1,000 steps; the warm-up forgets it within the first few dozen."""

    @torch.no_grad()
    def update(averaged: list[Tensor], current: list[Tensor], num_averaged: Tensor) -> None:
        if not averaged[0].is_floating_point():  # BatchNorm's step counters: keep the latest
            torch._foreach_copy_(averaged, current)
            return
        beta = min(decay, (1 + float(num_averaged)) / (10 + float(num_averaged)))
        torch._foreach_lerp_(averaged, current, 1 - beta)

    return update


def build_models(
    preset: Preset, stage: int, device: torch.device, steps_per_epoch: int, stage1: nn.Module | None
) -> Models:
    """Fresh networks, Adam (lr, betas from the preset) and the lr halving schedule. A
    StackGAN-v2 preset gets its tree and the discriminators of all its scales (`stage` 1)."""
    if preset.branches:
        g, d = TreeGenerator(preset), TreeDiscriminator(preset)
    elif stage == 1:
        g, d = Stage1Generator(preset), Stage1Discriminator(preset)
    else:
        g, d = Stage2Generator(preset), Stage2Discriminator(preset)
    g, d = g.to(device), d.to(device)
    opt_g = torch.optim.Adam(g.parameters(), lr=preset.lr_g, betas=preset.betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=preset.lr_d, betas=preset.betas)
    # The paper halves the learning rate every `lr_decay_epochs` epochs (0: StackGAN-v2 keeps it).
    decay_steps = max(1, preset.lr_decay_epochs * steps_per_epoch)
    gamma = 0.5 if preset.lr_decay_epochs else 1.0
    sched_g = torch.optim.lr_scheduler.StepLR(opt_g, step_size=decay_steps, gamma=gamma)
    sched_d = torch.optim.lr_scheduler.StepLR(opt_d, step_size=decay_steps, gamma=gamma)
    ema = None
    if preset.ema_decay > 0:
        ema = AveragedModel(g, multi_avg_fn=_ema_with_warmup(preset.ema_decay), use_buffers=True)
    matcher = None
    if stage == 2 and preset.stage2_matching_coef > 0:
        matcher = load_text_encoder(preset).to(device).requires_grad_(False)
    return Models(g, d, opt_g, opt_d, sched_g, sched_d, stage1, ema, matcher)


def load_stage1_generator(preset: Preset, path: Path | None, device: torch.device) -> nn.Module:
    """The frozen Stage-I generator for Stage-II training: a Stage-I checkpoint, or the shipped
    weights of the preset when no path is given."""
    if path is None:
        from stackgan_lite import pretrained

        g1 = pretrained.load_stage1(preset.name)
    else:
        state = load_checkpoint(path, preset, stage=1)
        g1 = Stage1Generator(preset)
        g1.load_state_dict(state.get("ema") or state["generator"])
    g1 = g1.to(device).eval()
    g1.requires_grad_(False)
    return g1


# --------------------------------------------------------------------------- checkpoints


# Fields that shape only Stage-II's networks: a Stage-I checkpoint is valid whatever they are.
STAGE2_FIELDS = (
    "residual_blocks",
    "stage2_encoder_halvings",
    "stage2_uncond_head",
    "stage2_projection_head",
    "stage2_matching_coef",
    "stage2_contrast_weights",
    "stage2_conditional_bn",
    "stage2_contrast_coef",
    "stage2_aux_weights",
    "stage2_spectral_coef",
)


def _preset_mismatch(saved: dict[str, Any], preset: Preset, stage: int) -> list[str]:
    """The fields that differ; one a checkpoint predates counts as its default value."""
    current = dataclasses.asdict(preset)
    saved = {f.name: f.default for f in dataclasses.fields(Preset)} | saved
    return [
        f"{k}: {saved[k]!r} (checkpoint) vs {current[k]!r} (this run)"
        for k in current
        if _plain(saved[k]) != _plain(current[k])
        and not (stage == 1 and not preset.branches and k in STAGE2_FIELDS)
    ]


def _plain(value: Any) -> Any:
    """Tuples as lists at every depth: a preset read back from JSON compares equal to its own."""
    return [_plain(v) for v in value] if isinstance(value, tuple | list) else value


# Written to a temporary file in the same folder, then renamed (DESIGN §8): a run killed at any
# moment leaves either the previous checkpoint or the new one, never half a file.
save_checkpoint = runtime.save_torch_file


def load_checkpoint(path: Path, preset: Preset, stage: int | None = None) -> dict[str, Any]:
    """Read a checkpoint safely (`weights_only=True`) and check it was made for this preset and
    stage; a mismatch is a CheckpointError naming the differing fields."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train that stage first or pass its path")
    state = runtime.load_torch_file(path)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a stackgan_lite checkpoint (format {CHECKPOINT_FORMAT})"
        )
    differences = _preset_mismatch(state["preset"], preset, state["stage"])
    if differences:
        raise CheckpointError(
            f"{path} was made for preset {state['preset'].get('name')!r}, which differs from "
            f"{preset.name!r} in: {'; '.join(differences)}. Use the same preset, or another --out"
        )
    if stage is not None and state["stage"] != stage:
        raise CheckpointError(f"{path} holds a Stage-{state['stage']} run, not Stage-{stage}")
    return state


def _broadcast_buffers(models: Models) -> None:
    """Make rank 0's BatchNorm statistics every rank's (DDP syncs them only at each forward's
    start, so after the last forward each rank holds its own batch's; the EMA averages them)."""
    nets = [models.generator, models.discriminator]
    if models.ema is not None:
        nets.append(models.ema)
    for net in nets:
        for buffer in _unwrap(net).buffers():
            dist.broadcast(buffer, src=0)


def _rng_states(world: int) -> list[dict[str, Any]]:
    """Every process's RNG state (a collective call under DDP: each rank draws its own noise)."""
    mine = {
        "cpu": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    if world == 1:
        return [mine]
    states: list[Any] = [None] * world
    dist.all_gather_object(states, mine)
    return states


def _run_state(
    models: Models, preset: Preset, stage: int, step: int, seed: int, rng: list[dict[str, Any]]
) -> dict[str, Any]:
    state: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "preset": dataclasses.asdict(preset),
        "stage": stage,
        "step": step,
        "seed": seed,
        "generator": _unwrap(models.generator).state_dict(),
        "discriminator": _unwrap(models.discriminator).state_dict(),
        "opt_g": models.opt_g.state_dict(),
        "opt_d": models.opt_d.state_dict(),
        "sched_g": models.sched_g.state_dict(),
        "sched_d": models.sched_d.state_dict(),
        "rng": rng,
    }
    if models.ema is not None:
        state["ema"] = models.ema.module.state_dict()
        state["ema_n_averaged"] = models.ema.n_averaged
    return state


def _restore(models: Models, state: dict[str, Any], rank: int) -> int:
    _unwrap(models.generator).load_state_dict(state["generator"])
    _unwrap(models.discriminator).load_state_dict(state["discriminator"])
    models.opt_g.load_state_dict(state["opt_g"])
    models.opt_d.load_state_dict(state["opt_d"])
    models.sched_g.load_state_dict(state["sched_g"])
    models.sched_d.load_state_dict(state["sched_d"])
    if models.ema is not None and "ema" in state:
        models.ema.module.load_state_dict(state["ema"])
        models.ema.n_averaged.copy_(state["ema_n_averaged"])
    if rank >= len(state["rng"]):
        raise CheckpointError(
            f"the checkpoint was written by {len(state['rng'])} processes; resume it with as many"
        )
    rng = state["rng"][rank]
    torch.set_rng_state(rng["cpu"])
    if rng["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return int(state["step"])


# --------------------------------------------------------------------------- data


def _batches(
    dataset: Dataset, batch_size: int, epoch: int, skip: int, seed: int, rank: int, world: int
) -> BatchSampler | list[list[int]]:
    """This rank's batches of one epoch, from the epoch-seeded permutation, minus the first `skip`
    (already trained on before a resume)."""
    sampler = DistributedSampler(
        dataset, num_replicas=world, rank=rank, shuffle=True, seed=seed, drop_last=True
    )
    sampler.set_epoch(epoch)
    batches = BatchSampler(sampler, batch_size, drop_last=True)
    return list(itertools.islice(batches, skip, None)) if skip else batches


def _epoch_loader(
    dataset: Dataset,
    preset: Preset,
    options: RunOptions,
    epoch: int,
    skip: int,
    rank: int,
    world: int,
) -> DataLoader:
    if hasattr(dataset, "set_epoch"):  # per-epoch choices (caption, embedding, crop) in the data
        dataset.set_epoch(epoch)
    return DataLoader(
        dataset,
        batch_sampler=_batches(dataset, preset.batch_size, epoch, skip, options.seed, rank, world),
        num_workers=options.num_workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=False,
        # a private generator: creating the loader must not consume the global RNG that
        # drives z and epsilon, or a resumed run would draw different noise
        generator=torch.Generator().manual_seed(options.seed + epoch),
    )


# --------------------------------------------------------------------------- the loop


@contextlib.contextmanager
def _process_group() -> Iterator[tuple[int, int]]:
    """(rank, world size). Started by torchrun, the process group is created here and destroyed
    on the way out: one left alive at exit can abort the process while gloo's threads are torn
    down, after all the work is done. A group the caller made is left to the caller."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        yield 0, 1
        return
    made_here = not dist.is_initialized()
    if made_here:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        yield dist.get_rank(), world
    finally:
        if made_here:
            dist.destroy_process_group()


def _show_progress(options: RunOptions, rank: int) -> bool:
    if options.progress is not None:
        return options.progress and rank == 0
    return rank == 0 and sys.stderr.isatty() and not os.environ.get("CI")


def reads_stage2_data(preset: Preset, stage: int) -> bool:
    """Whether a run trains on the Stage-II side and its contrast captions (`build_dataset`'s
    `stage2`): Stage-II, and the StackGAN-v2 tree, whose largest branch is that side."""
    return stage == 2 or preset.branches > 0


def default_total_steps(preset: Preset, steps_per_epoch: int) -> int:
    return runtime.scaled(preset.epochs * steps_per_epoch, 20)


def train(preset: Preset, options: RunOptions, dataset: Dataset | None = None) -> TrainResult:
    """Train one stage (see the module docstring); `dataset` defaults to the preset's own."""
    with _process_group() as (rank, world):
        return _train(preset, options, dataset, rank, world)


def _train(
    preset: Preset, options: RunOptions, dataset: Dataset | None, rank: int, world: int
) -> TrainResult:
    if preset.branches and options.stage != 1:
        raise ValueError(
            f"preset {preset.name!r} is a StackGAN-v2 tree, trained in one run with all its "
            "scales: leave the stage at 1 (the CLI's --stage is not needed)"
        )
    device = runtime.pick_device(options.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    torch.set_num_threads(options.threads or runtime.cpu_threads(world))
    amp = runtime.fast_bf16(device) if options.amp is None else options.amp
    channels_last = (
        device.type == "cuda" if options.channels_last is None else options.channels_last
    )
    runtime.seed_everything(options.seed + rank)

    if dataset is None:
        from stackgan_lite.data import build_dataset

        dataset = build_dataset(preset, "train", stage2=reads_stage2_data(preset, options.stage))
    if preset.contrast_share > 0 and getattr(dataset[0], "contrast", torch.empty(0)).numel() == 0:
        raise ValueError(
            f"preset {preset.name!r} has contrast_share={preset.contrast_share}, but the dataset "
            "gives no contrast captions (only the embedded shapes set, built with "
            "contrast=True, has them): use preset.replace(contrast_share=0.0)"
        )
    steps_per_epoch = len(dataset) // (preset.batch_size * world)
    if steps_per_epoch == 0:
        raise ValueError(
            f"the dataset has {len(dataset)} samples, fewer than one batch of "
            f"{preset.batch_size} per process; lower the preset's batch_size"
        )
    total = options.steps or default_total_steps(preset, steps_per_epoch)
    stage1 = (
        load_stage1_generator(preset, options.stage1_checkpoint, device)
        if options.stage == 2
        else None
    )
    models = build_models(preset, options.stage, device, steps_per_epoch, stage1)
    if options.stage == 2 and preset.stage2_spectral_coef > 0:
        models.judge = fit_pattern_judge(dataset, device)
    if channels_last:
        for net in (models.generator, models.discriminator):
            net.to(memory_format=torch.channels_last)

    out = Path(options.out)
    checkpoint = out / CHECKPOINT
    step = 0
    if options.resume and checkpoint.exists():
        step = _restore(models, load_checkpoint(checkpoint, preset, options.stage), rank)
    elif checkpoint.exists() and not options.resume:
        raise CheckpointError(
            f"{checkpoint} exists; pass --resume to continue that run or choose another --out"
        )
    if world > 1:
        models.generator = nn.parallel.DistributedDataParallel(models.generator)
        models.discriminator = nn.parallel.DistributedDataParallel(models.discriminator)

    fixed = _fixed_inputs(dataset, preset, options, device)
    log_path = out / "log.jsonl"
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if step == 0:
            log_path.write_text("")
    bar = tqdm(total=total, initial=step, disable=not _show_progress(options, rank), unit="it")
    sums: dict[str, float] = {}
    count, seen, tick = 0, 0, time.perf_counter()
    batches: Iterator[Any] = iter(())
    first = True
    started = time.perf_counter()
    done = False
    while not done:
        epoch, offset = divmod(step, steps_per_epoch)
        if offset == 0 or first:
            batches = iter(_epoch_loader(dataset, preset, options, epoch, offset, rank, world))
            first = False
        sample = next(batches)
        # the tree takes the largest side and averages it down to its other scales
        image = sample.image1 if options.stage == 1 and not preset.branches else sample.image2
        real = image.to(device, non_blocking=True)
        if channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        phi_t = sample.embedding.to(device, non_blocking=True)
        contrast = sample.contrast.to(device) if preset.contrast_share > 0 else None
        step_fn = train_step_tree if preset.branches else train_step
        try:
            scalars = step_fn(
                models, real, phi_t, sample.labels, preset, contrast=contrast, step=step, amp=amp
            )
        except NonFiniteLossError as error:
            kept = (
                f"the last good checkpoint {checkpoint} is kept"
                if checkpoint.exists()
                else ("no checkpoint had been written yet")
            )
            raise NonFiniteLossError(
                f"{error}; the run stopped before that update and {kept}. Lower the learning "
                f"rates or switch on a stabiliser in the preset, then resume with --resume"
            ) from None
        step += 1
        done = step == total or _out_of_time(options.time_limit, started, world, device)
        count += 1
        seen += real.shape[0] * world
        for k, v in scalars.items():
            sums[k] = sums.get(k, 0.0) + v
        bar.update(1)
        bar.set_postfix(d=f"{scalars['d_loss']:.3f}", g=f"{scalars['g_loss']:.3f}", refresh=False)
        if rank == 0 and (step % options.log_every == 0 or done):
            elapsed = time.perf_counter() - tick
            record = {"step": step, "epoch": epoch, **{k: v / count for k, v in sums.items()}}
            record |= {
                "lr_g": models.sched_g.get_last_lr()[0],
                "lr_d": models.sched_d.get_last_lr()[0],
                "images_per_s": seen / max(elapsed, 1e-9),
            }
            with open(log_path, "a") as f:
                f.write(json.dumps(record) + "\n")
            plot_losses(log_path, out / "losses.png")
            sample_grid(*_sampler(models), *fixed, out / f"samples_{step:06d}.png")
            sums, count, seen, tick = {}, 0, 0, time.perf_counter()
        if step % options.checkpoint_every == 0 or done:
            if world > 1:
                _broadcast_buffers(models)
            rng = _rng_states(world)
            if rank == 0:
                state = _run_state(models, preset, options.stage, step, options.seed, rng)
                save_checkpoint(checkpoint, state)
    bar.close()
    if world > 1:
        dist.barrier()
    generator, _ = _sampler(models)
    return TrainResult(checkpoint, log_path, generator, _unwrap(models.discriminator))


def _out_of_time(limit: float | None, started: float, world: int, device: torch.device) -> bool:
    """Whether the time box is spent; under DDP rank 0 decides, so all ranks stop together."""
    if limit is None:
        return False
    flag = torch.tensor([time.perf_counter() - started > limit], dtype=torch.int32, device=device)
    if world > 1:
        dist.broadcast(flag, src=0)
    return bool(flag.item())


def _sampler(models: Models) -> tuple[nn.Module, nn.Module | None]:
    """(generator to sample from, frozen Stage-I or None): the EMA copy of G when kept."""
    g = models.ema.module if models.ema is not None else _unwrap(models.generator)
    return g, models.stage1


def _fixed_inputs(
    dataset: Dataset, preset: Preset, options: RunOptions, device: torch.device
) -> tuple[Tensor, Tensor]:
    """Fixed captions (the first samples of the dataset) and fixed noise z for the sample grids."""
    n = min(options.samples, len(dataset))
    phi_t = torch.stack([dataset[i].embedding for i in range(n)]).to(device)
    z = torch.randn(n, preset.z_dim, generator=torch.Generator().manual_seed(options.seed))
    return phi_t, z.to(device)
