import math

import numpy as np
import pytest
import torch

from stackgan_lite.toy import (
    gan_value,
    gaussian_mixture_pdf,
    js_divergence,
    mode_statistics,
    optimal_discriminator,
    ring_centres,
    sample_mixture,
    train_toy_gan,
)

X = np.linspace(-12, 12, 24_001)
DX = X[1] - X[0]


def test_ring_centres_lie_on_the_circle_evenly():
    centres = ring_centres(8, radius=2.0)
    assert centres.shape == (8, 2)
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 2.0))
    gaps = (centres - centres.roll(1, dims=0)).norm(dim=1)
    assert torch.allclose(gaps, gaps[0].expand(8), atol=1e-5)
    with pytest.raises(ValueError):
        ring_centres(0)


def test_samples_of_the_mixture_are_scored_as_perfect_coverage():
    centres = ring_centres()
    points = sample_mixture(8000, centres, std=0.05, generator=torch.Generator().manual_seed(0))
    stats = mode_statistics(points, centres, std=0.05)
    assert stats["modes"] == 8
    # Within 3 std of the centre in 2-D: P(chi²_2 <= 9) = 1 - exp(-9/2) = 98.9 % of the mass.
    assert stats["quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert stats["top_mode_share"] == pytest.approx(1 / 8, abs=0.02)
    assert stats["spread"] == pytest.approx(2.0, abs=0.02)


def test_a_collapsed_generator_is_scored_as_one_mode():
    centres = ring_centres()
    points = centres[3].expand(500, 2) + 0.01 * torch.randn(500, 2)
    stats = mode_statistics(points, centres)
    assert stats["modes"] == 1
    assert stats["top_mode_share"] == 1.0
    assert stats["spread"] < 0.05


def test_mixture_density_integrates_to_one():
    p = gaussian_mixture_pdf(X, [-2.0, 1.5], [0.5, 1.0], [0.3, 0.7])
    assert np.sum(p) * DX == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError):
        gaussian_mixture_pdf(X, [0.0, 1.0], [1.0], [1.0])


def test_optimal_discriminator_gives_minus_log_4_plus_twice_the_js_divergence():
    p_data = gaussian_mixture_pdf(X, [-2.0, 2.0], [0.5, 0.5])
    p_g = gaussian_mixture_pdf(X, [0.5], [1.5])
    d_star = optimal_discriminator(p_data, p_g)
    jsd = js_divergence(p_data, p_g, DX)
    assert 0 < jsd < math.log(2)
    assert gan_value(d_star, p_data, p_g, DX) == pytest.approx(-math.log(4) + 2 * jsd, abs=1e-9)
    # D* is the maximiser: any other discriminator scores lower.
    rng = np.random.default_rng(0)
    for _ in range(5):
        other = np.clip(d_star + 0.05 * rng.standard_normal(len(X)), 1e-6, 1 - 1e-6)
        assert gan_value(other, p_data, p_g, DX) < gan_value(d_star, p_data, p_g, DX)


def test_js_divergence_limits():
    p = gaussian_mixture_pdf(X, [0.0], [1.0])
    assert js_divergence(p, p, DX) == pytest.approx(0.0, abs=1e-12)
    assert optimal_discriminator(p, p) == pytest.approx(np.full_like(p, 0.5))
    far = gaussian_mixture_pdf(X, [10.0], [0.1])
    near = gaussian_mixture_pdf(X, [-10.0], [0.1])
    assert js_divergence(near, far, DX) == pytest.approx(math.log(2), abs=1e-9)


def test_toy_gan_is_seeded():
    a = train_toy_gan(30, seed=3, log_every=10)
    b = train_toy_gan(30, seed=3, log_every=10)
    assert a.history["loss_d"] == b.history["loss_d"]
    assert torch.equal(a.snapshots[30], b.snapshots[30])
    assert a.history["step"] == [10, 20, 30]
    c = train_toy_gan(30, seed=4, log_every=10)
    assert c.history["loss_d"] != a.history["loss_d"]


def test_toy_gan_learns_the_ring():
    run = train_toy_gan(1000, seed=0, log_every=100)
    start = mode_statistics(run.snapshots[0], run.centres)
    end = mode_statistics(run.snapshots[1000], run.centres)
    # The untrained generator puts its points in a small blob; training spreads them onto the
    # ring (data spread 2.0), centred on the data mean (0, 0), with most modes covered.
    assert start["spread"] < 0.5 and start["modes"] == 0
    assert end["spread"] == pytest.approx(2.0, abs=0.3)
    assert run.snapshots[1000].mean(dim=0).norm() < 0.5
    assert end["modes"] >= 4 and end["quality"] > 0.3
    assert 0.1 < run.history["d_real"][-1] < 0.9  # neither player has won


def test_a_slow_discriminator_lets_the_generator_collapse():
    run = train_toy_gan(1000, seed=0, lr_d=2e-4, log_every=100)
    later = slice(len(run.history["modes"]) // 2, None)
    assert max(run.history["modes"][later]) <= 2
    assert np.median(run.history["spread"]) < 1.0


def test_toy_gan_rejects_bad_arguments():
    with pytest.raises(ValueError, match="unknown generator loss"):
        train_toy_gan(10, loss="wasserstein")
    with pytest.raises(ValueError):
        train_toy_gan(0)


def test_toy_run_helpers():
    run = train_toy_gan(5, seed=0)
    assert run.sample(64, seed=1).shape == (64, 2)
    assert torch.equal(run.sample(8, seed=1), run.sample(8, seed=1))
    axis, d = run.discriminator_on_grid(lim=3.0, n=20)
    assert axis.shape == (20,) and d.shape == (20, 20)
    assert ((d > 0) & (d < 1)).all()
