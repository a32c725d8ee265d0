"""The numbers: Inception Score, Fréchet distance, caption consistency (pure numpy, float64).

Each function takes what a classifier produced (logits, probabilities, features, predicted
labels) and knows nothing about networks, so each can be checked against a closed form.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import LinAlgWarning, sqrtm
from scipy.special import rel_entr, softmax

__all__ = [
    "caption_consistency",
    "confusion_matrix",
    "feature_statistics",
    "fid",
    "frechet_distance",
    "inception_score",
]


def _float64_matrix(x: ArrayLike | torch.Tensor, name: str) -> NDArray[np.float64]:
    """A finite N × K float64 array from a numpy array or a torch tensor (any device)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D [N images, K classes], got shape {list(x.shape)}")
    if not np.isfinite(x).all():
        raise ValueError(
            f"{name} contains NaN or inf; check the classifier's input (images in [-1, 1]?)"
        )
    return x


def _probabilities(
    probs: ArrayLike | torch.Tensor | None, logits: ArrayLike | torch.Tensor | None
) -> NDArray[np.float64]:
    """p(y|x), one row per image, from exactly one of `probs` / `logits` (never a guess)."""
    if (probs is None) == (logits is None):
        raise ValueError("pass exactly one of probs= (rows of p(y|x)) or logits= (before softmax)")
    if logits is not None:
        return softmax(_float64_matrix(logits, "logits"), axis=1)
    p = _float64_matrix(probs, "probs")
    if (p < 0).any():
        raise ValueError("probs has negative entries; if these are logits, pass logits= instead")
    row_sums = p.sum(axis=1)
    if not np.allclose(row_sums, 1.0, rtol=0.0, atol=1e-3):
        worst = row_sums[np.argmax(np.abs(row_sums - 1.0))]
        raise ValueError(
            f"each row of probs must sum to 1 (one has sum {worst:.6g}); "
            "if these are logits or unnormalised scores, pass logits= instead"
        )
    # float32 softmax rows sum to 1 ± 1e-7; renormalising keeps 1 ≤ IS ≤ K exact in float64
    return p / row_sums[:, None]


def inception_score(
    probs: ArrayLike | torch.Tensor | None = None,
    *,
    logits: ArrayLike | torch.Tensor | None = None,
    splits: int = 10,
    shuffle_seed: int | None = None,
) -> tuple[float, float]:
    """Inception Score, mean and standard deviation (ddof = 0) over `splits` splits.

        IS = exp( E_x KL(p(y|x) ‖ p(y)) ),    p(y) = E_x p(y|x) within each split

    Split k holds rows [⌊kN/S⌋, ⌊(k+1)N/S⌋). Rows sorted by class would give every split a
    one-class p(y) and an IS of 1, so pass `shuffle_seed` unless the rows are already in
    random order. With K classes 1 ≤ IS ≤ K: IS is exp of the mutual information between
    image and label, which is at most log K.
    """
    p_yx = _probabilities(probs, logits)
    n = len(p_yx)
    if splits < 1 or n < splits:
        raise ValueError(f"need 1 ≤ splits ≤ N images, got splits={splits} and N={n}")
    if shuffle_seed is not None:
        p_yx = p_yx[np.random.default_rng(shuffle_seed).permutation(n)]
    bounds = np.arange(splits + 1) * n // splits
    scores = []
    for start, stop in itertools.pairwise(bounds):
        part = p_yx[start:stop]
        p_y = part.mean(axis=0, keepdims=True)
        # KL(p(y|x) ‖ p(y)) = Σ_y p(y|x) log(p(y|x) / p(y)); rel_entr makes 0·log 0 = 0
        kl = rel_entr(part, p_y).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def feature_statistics(features: ArrayLike | torch.Tensor) -> tuple[NDArray, NDArray]:
    """(μ, Σ) of N × d features: the Gaussian FID fits to a set of images (Σ with ddof = 1)."""
    x = _float64_matrix(features, "features")
    if len(x) < 2:
        raise ValueError(f"FID needs at least 2 feature vectors per set, got {len(x)}")
    return x.mean(axis=0), np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])


def frechet_distance(
    mu1: ArrayLike, sigma1: ArrayLike, mu2: ArrayLike, sigma2: ArrayLike, *, eps: float = 1e-6
) -> float:
    """Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂).

        d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)

    When fewer images than feature dimensions make Σ singular, sqrtm can fail; as in the
    reference implementations, retry with `eps` added to both diagonals. A product of two
    covariances has real, non-negative eigenvalues, so a non-negligible imaginary part in the
    square root means the statistics are broken, and is an error.
    """
    mu1, mu2 = (np.atleast_1d(np.asarray(m, dtype=np.float64)) for m in (mu1, mu2))
    sigma1, sigma2 = (np.atleast_2d(np.asarray(s, dtype=np.float64)) for s in (sigma1, sigma2))
    d = len(mu1)
    if mu1.shape != mu2.shape or not sigma1.shape == sigma2.shape == (d, d):
        raise ValueError(
            f"mismatched statistics: mu {mu1.shape} / {mu2.shape}, sigma {sigma1.shape} / "
            f"{sigma2.shape}; both sets must come from the same feature extractor"
        )
    with warnings.catch_warnings():
        # singular Σ (dead ReLU features, N < d) make sqrtm warn; finiteness is checked below
        warnings.simplefilter("ignore", LinAlgWarning)
        covmean = sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = eps * np.eye(len(mu1))
        covmean = sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3):
            largest = np.abs(np.diagonal(covmean).imag).max()
            raise ValueError(
                f"sqrt(Σ₁Σ₂) has an imaginary component {largest:.3g}: the covariances are not "
                "valid (NaN features, or far fewer images than feature dimensions?)"
            )
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(features1: ArrayLike | torch.Tensor, features2: ArrayLike | torch.Tensor) -> float:
    """FID between two sets of features (N₁ × d and N₂ × d) from the same extractor.

    FID is biased upwards for small N: compare only scores computed with the same N.
    """
    return frechet_distance(*feature_statistics(features1), *feature_statistics(features2))


def _array(x: ArrayLike | torch.Tensor) -> np.ndarray:
    """A numpy array from a numpy array, a list or a torch tensor (any device)."""
    return np.asarray(x.cpu() if isinstance(x, torch.Tensor) else x)


def caption_consistency(
    pred_labels: ArrayLike | torch.Tensor,
    true_labels: ArrayLike | torch.Tensor,
    names: Sequence[str] | None = None,
) -> dict[str, float]:
    """Share of images whose predicted attributes match their caption's, per attribute.

        consistency_a = mean_i [ŷ_ia = y_ia],    "all" = mean_i Π_a [ŷ_ia = y_ia]

    `pred_labels`, `true_labels`: N × A integer labels (one column per attribute, named by
    `names`, default "0", "1", …). Returns {name: share, …, "all": share}.
    """
    pred, true = _array(pred_labels), _array(true_labels)
    if pred.shape != true.shape or pred.ndim != 2 or len(pred) == 0:
        raise ValueError(
            f"expected predicted and caption labels of the same shape [N > 0, attributes], "
            f"got {list(pred.shape)} and {list(true.shape)}"
        )
    names = [str(a) for a in range(pred.shape[1])] if names is None else list(names)
    if len(names) != pred.shape[1]:
        raise ValueError(f"got {len(names)} attribute names for {pred.shape[1]} label columns")
    correct = pred == true
    shares = {name: float(correct[:, a].mean()) for a, name in enumerate(names)}
    shares["all"] = float(correct.all(axis=1).mean())
    return shares


def confusion_matrix(
    pred_labels: ArrayLike | torch.Tensor, true_labels: ArrayLike | torch.Tensor, k: int
) -> NDArray[np.int64]:
    """Counts C[i, j] = #{n : y_n = i, ŷ_n = j} for one attribute with k values: row i is what the
    caption asked for, column j what the classifier saw drawn. The diagonal over the row sums is
    that value's caption consistency; the rest says what it is drawn as instead."""
    pred, true = _array(pred_labels), _array(true_labels)
    if pred.shape != true.shape or pred.ndim != 1:
        raise ValueError(
            f"expected predicted and caption labels of the same shape [N], "
            f"got {list(pred.shape)} and {list(true.shape)}"
        )
    if pred.size and not (0 <= min(pred.min(), true.min()) and max(pred.max(), true.max()) < k):
        raise ValueError(f"labels must lie in 0 … {k - 1} for an attribute with {k} values")
    return np.bincount(true.astype(np.int64) * k + pred, minlength=k * k).reshape(k, k)
