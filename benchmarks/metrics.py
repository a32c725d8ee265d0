"""IS and FID evaluation throughput (images/s): stackgan_lite.metrics beside torchmetrics, with
the same classifier on the same images, in one run.

    python benchmarks/metrics.py                    # shipped shapes classifier, 2,000 images
    python benchmarks/metrics.py --n 5000 --threads 2 --repeats 5
    python benchmarks/metrics.py --fid-dim 2048     # also: the final FID step on 2048-d features

Both sides pay for the classifier's forward passes (batched, eval mode, no autograd) and for
their final computation: ours in float64 numpy / scipy (rel_entr, np.cov, sqrtm), torchmetrics'
in torch (float64 covariance sums, eigvals). The figure is the median of `--repeats` runs;
torchmetrics is a dev-only dependency and is imported here only.

Measured on the shared 2-core CPU (torch 2.14, scipy 1.17, --repeats 5 --fid-dim 2048):
IS 702 vs 693 images/s, FID 629 vs 600 images/s (stackgan_lite vs torchmetrics): the same
within noise, since both are the classifier's forward passes. FID's final step on 2048-d
Inception features: scipy's sqrtm 17.6 s, torchmetrics' eigvals 5.4 s, once per evaluation.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

from stackgan_lite.data.shapes import ShapesDataset
from stackgan_lite.metrics import classify, fid, frechet_distance, inception_score, load_classifier


class Output(nn.Module):
    """torchmetrics' custom feature extractor: one field of our classifier's output."""

    def __init__(self, classifier: nn.Module, field: str, num_features: int) -> None:
        super().__init__()
        self.classifier, self.field, self.num_features = classifier.eval(), field, num_features

    def forward(self, images: Tensor) -> Tensor:
        return getattr(self.classifier(images), self.field)


def timed(runs: dict[str, Callable[[], float]], repeats: int) -> dict[str, tuple[float, float]]:
    """{name: (median seconds, value)}; the runs take turns, so a load change on a shared
    machine hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    values = {name: run() for name, run in runs.items()}  # warm-up
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            values[name] = run()
            times[name].append(time.perf_counter() - start)
    return {name: (statistics.median(times[name]), values[name]) for name in runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="images per set")
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--fid-dim", type=int, default=0, help="also time FID's final step at d")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
    from torchmetrics.image.fid import FrechetInceptionDistance
    from torchmetrics.image.inception import InceptionScore

    classifier = load_classifier("lite")
    data = ShapesDataset("lite", "test", size=args.n, with_embedding=False)
    real = data.images2.float() / 127.5 - 1  # Stage-II side, 64 px
    fake = data.images1.float() / 127.5 - 1  # Stage-I side, 16 px: upsampled by the classifier
    k, d = classifier(real[:2]).logits.shape[1], classifier.feature_dim

    def ours_is() -> float:
        return inception_score(logits=classify(classifier, real, batch_size=args.batch).logits)[0]

    def theirs_is() -> float:
        metric = InceptionScore(feature=Output(classifier, "logits", k), splits=args.splits)
        for batch in real.split(args.batch):
            metric.update(batch)
        return metric.compute()[0].item()

    def ours_fid() -> float:
        features = [classify(classifier, x, batch_size=args.batch).features for x in (real, fake)]
        return fid(*features)

    def theirs_fid() -> float:
        metric = FrechetInceptionDistance(feature=Output(classifier, "features", d))
        for images, is_real in ((real, True), (fake, False)):
            for batch in images.split(args.batch):
                metric.update(batch, real=is_real)
        return metric.compute().item()

    print(
        f"shapes classifier (K = {k}, {d}-d features), {args.n} images per set at 64 px "
        f"(FID: 64 px vs 16 px upsampled), batch {args.batch}, {args.threads} threads, "
        f"median of {args.repeats}"
    )
    print(f"{'metric':<6}{'implementation':<18}{'images/s':>10}{'value':>12}")
    for name, ours, theirs, images in (
        ("IS", ours_is, theirs_is, args.n),
        ("FID", ours_fid, theirs_fid, 2 * args.n),
    ):
        results = timed({"stackgan_lite": ours, "torchmetrics": theirs}, args.repeats)
        for label, (seconds, value) in results.items():
            print(f"{name:<6}{label:<18}{images / seconds:>10.0f}{value:>12.4f}")

    if args.fid_dim:
        from torchmetrics.image.fid import _compute_fid

        rng = np.random.default_rng(0)
        x1 = rng.normal(size=(4 * args.fid_dim, args.fid_dim))
        x2 = 0.1 + rng.normal(size=(4 * args.fid_dim, args.fid_dim)) * 1.1
        mu1, mu2 = x1.mean(0), x2.mean(0)
        s1, s2 = np.cov(x1, rowvar=False), np.cov(x2, rowvar=False)
        tensors = [torch.from_numpy(a) for a in (mu1, s1, mu2, s2)]
        print(f"FID final step alone, d = {args.fid_dim} (Inception pool features), seconds:")
        results = timed(
            {
                "stackgan_lite (scipy sqrtm)": lambda: frechet_distance(mu1, s1, mu2, s2),
                "torchmetrics (eigvals)": lambda: _compute_fid(*tensors).item(),
            },
            repeats=1,
        )
        for label, (seconds, value) in results.items():
            print(f"  {label:<30}{seconds:>8.2f}  value {value:.4f}")


if __name__ == "__main__":
    main()
