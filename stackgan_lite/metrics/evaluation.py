"""Running classifiers and generators for evaluation: eval mode, no_grad, batched, seeded.

The common mistakes this module rules out: BatchNorm left in train mode while scoring (the
statistics of the scored batch leak into every prediction), an unseeded sample that cannot be
reproduced, a score reported without the N, splits and seed needed to compare it.

A classifier here is any `nn.Module` mapping images [B, 3, s, s] in [-1, 1] (any side s) to a
`ClassifierOutput`; `ShapesClassifier` and `InceptionClassifier` are the two shipped ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor, nn

from stackgan_lite.metrics.scores import (
    caption_consistency,
    feature_statistics,
    frechet_distance,
    inception_score,
)
from stackgan_lite.runtime import eval_mode  # re-exported: part of the metrics API

__all__ = [
    "ClassifierOutput",
    "GeneratorEvaluation",
    "Score",
    "classify",
    "eval_mode",
    "evaluate_generator",
    "resize",
    "sample_images",
]


class ClassifierOutput(NamedTuple):
    logits: Tensor  # [B, K] over the classes the Inception Score counts
    features: Tensor  # [B, d] penultimate / pool features, for FID
    attributes: Tensor | None = None  # [B, A] predicted attribute labels (embedded dataset)


@dataclass(frozen=True)
class Score:
    """An Inception-Score-style result with what is needed to compare it with another."""

    name: str  # "classifier score" (embedded dataset) or "Inception Score" (paper protocol)
    mean: float
    std: float  # over splits, ddof = 0
    n: int  # images scored
    splits: int
    seed: int | None  # shuffle (and sampling) seed

    @classmethod
    def of_logits(cls, logits: Tensor, *, name: str, splits: int, seed: int | None) -> Score:
        mean, std = inception_score(logits=logits, splits=splits, shuffle_seed=seed)
        return cls(name, mean, std, len(logits), splits, seed)

    def __str__(self) -> str:
        return (
            f"{self.name} {self.mean:.3f} ± {self.std:.3f} "
            f"(N={self.n}, splits={self.splits}, seed={self.seed})"
        )


@dataclass(frozen=True)
class GeneratorEvaluation:
    """What `evaluate_generator` measured on one seeded sample of N images."""

    score: Score
    fid: float | None  # against the real statistics passed in, else None
    consistency: dict[str, float] | None  # per attribute and "all", when labels were passed


def resize(images: Tensor, side: int) -> Tensor:
    """Bilinear resize of [B, 3, s, s] images in [-1, 1] to side × side (no-op at that side).

    With antialias on, downsampling averages instead of aliasing; upsampling is plain bilinear.
    Images in [0, 255] are refused: classifiers fed the wrong scale still answer, wrongly.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected RGB images [B, 3, s, s], got {list(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"expected float images in [-1, 1], got {images.dtype}: use x / 127.5 - 1")
    low, high = images.aminmax()
    if low < -1.001 or high > 1.001:
        raise ValueError(
            f"expected images in [-1, 1], got values in [{low:.3g}, {high:.3g}]; "
            "scale [0, 1] images with 2x - 1 and [0, 255] ones with x / 127.5 - 1"
        )
    if images.shape[-2:] == (side, side):
        return images
    return F.interpolate(
        images, size=(side, side), mode="bilinear", align_corners=False, antialias=True
    )


def _device_of(module: nn.Module) -> torch.device:
    parameter = next(module.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _batches(images: Tensor | Iterable[Tensor], batch_size: int) -> Iterable[Tensor]:
    return images.split(batch_size) if isinstance(images, Tensor) else images


@torch.no_grad()
def classify(
    classifier: nn.Module, images: Tensor | Iterable[Tensor], *, batch_size: int = 256
) -> ClassifierOutput:
    """Classifier outputs for all `images` (a tensor, or an iterable of batches), on the CPU.

    Runs on the classifier's device, in eval mode; the classifier's modes are restored after.
    """
    device = _device_of(classifier)
    outputs = []
    with eval_mode(classifier):
        for batch in _batches(images, batch_size):
            out = classifier(batch.to(device))
            outputs.append([t.cpu() if t is not None else None for t in out])
    if not outputs:
        raise ValueError("no images to classify")
    columns = zip(*outputs, strict=True)
    return ClassifierOutput(*(None if c[0] is None else torch.cat(c) for c in columns))


@contextmanager
def _seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Seed torch's global RNGs (the generators draw CA's epsilon from them), then put the
    caller's RNG state back, so evaluating never changes what training draws next."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _generated(
    generate: Callable[[Tensor, Tensor], Tensor],
    embeddings: Tensor,
    z_dim: int,
    seed: int,
    batch_size: int,
    device: torch.device,
) -> Iterator[Tensor]:
    """Batches of `generate(embeddings[i:j], z[i:j])`; consume inside `_seeded(seed, …)`.

    z ~ N(0, I) [N, z_dim] comes from a CPU generator seeded with `seed`, so the same seed
    gives the same noise on any device.
    """
    if embeddings.ndim != 2 or len(embeddings) == 0:
        raise ValueError(f"expected embeddings of shape [N > 0, t], got {list(embeddings.shape)}")
    z = torch.randn(len(embeddings), z_dim, generator=torch.Generator().manual_seed(seed))
    for e, z_batch in zip(embeddings.split(batch_size), z.split(batch_size), strict=True):
        images = generate(e.to(device), z_batch.to(device))
        if images.ndim != 4 or images.shape[:2] != (len(e), 3):
            raise ValueError(
                f"generate(embeddings, z) must return images [B, 3, s, s], got {list(images.shape)}"
            )
        yield images


def _modules(generate: Callable, models: Sequence[nn.Module]) -> list[nn.Module]:
    return [*models, *([generate] if isinstance(generate, nn.Module) else [])]


@torch.no_grad()
def sample_images(
    generate: Callable[[Tensor, Tensor], Tensor],
    embeddings: Tensor,
    *,
    z_dim: int,
    seed: int = 0,
    batch_size: int = 100,
    models: Sequence[nn.Module] = (),
) -> Tensor:
    """The images [N, 3, s, s] (CPU) that `evaluate_generator` scores with the same arguments.

    `models` (and `generate` itself if it is a module) run in eval mode and get their modes
    back; CA's epsilon is drawn from torch's RNG seeded with `seed`, the caller's RNG state
    is left as it was. Same seed and batch size → the same images.
    """
    device = embeddings.device
    with eval_mode(*_modules(generate, models)), _seeded(seed, device):
        return torch.cat(
            [x.cpu() for x in _generated(generate, embeddings, z_dim, seed, batch_size, device)]
        )


def evaluate_generator(
    generate: Callable[[Tensor, Tensor], Tensor],
    embeddings: Tensor,
    classifier: nn.Module,
    *,
    z_dim: int,
    splits: int = 10,
    seed: int = 0,
    batch_size: int = 100,
    models: Sequence[nn.Module] = (),
    real_statistics: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
    labels: Tensor | None = None,
) -> GeneratorEvaluation:
    """Sample one image per row of `embeddings` and score the sample with `classifier`.

    `generate(embeddings [B, t], z [B, z_dim]) -> images [B, 3, s, s]` in [-1, 1]; for example
    `lambda e, z: g1(e, z).image` for Stage-I, `lambda e, z: g2(g1(e, z).image, e).image` for
    Stage-II, with `models=(g1, g2)` so that both run in eval mode. The generators must be on
    the classifier's device; the embeddings are moved there batch by batch.

    - score: IS with the classifier (named by its `score_name`), the rows shuffled with
      `seed` first, since `embeddings` are often ordered by class;
    - fid: when `real_statistics` = `feature_statistics(classify(classifier, real).features)`;
    - consistency: when `labels` [N, A] (the captions' attributes) are given and the
      classifier predicts attributes.
    """
    device = _device_of(classifier)
    # images are classified batch by batch and dropped: N = 30,000 paper-size images would
    # not fit in memory
    with torch.no_grad(), eval_mode(*_modules(generate, models)), _seeded(seed, device):
        images = _generated(generate, embeddings, z_dim, seed, batch_size, device)
        out = classify(classifier, images)
    name = getattr(classifier, "score_name", "classifier score")
    score = Score.of_logits(out.logits, name=name, splits=splits, seed=seed)
    fid = None
    if real_statistics is not None:
        fid = frechet_distance(*real_statistics, *feature_statistics(out.features))
    consistency = None
    if labels is not None:
        if out.attributes is None:
            raise ValueError("caption consistency needs a classifier that predicts attributes")
        names = getattr(classifier, "attribute_names", None)
        consistency = caption_consistency(out.attributes, labels, names)
    return GeneratorEvaluation(score, fid, consistency)
