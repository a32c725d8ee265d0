import math

import pytest
import torch

from stackgan_lite.losses import (
    attribute_loss,
    discriminator_loss,
    generator_contrast_loss,
    generator_loss,
    generator_loss_minimax,
    mismatched_indices,
)


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def bce(logits: list[float], target: float) -> float:
    return sum(
        -(target * math.log(sigmoid(x)) + (1 - target) * math.log(1 - sigmoid(x))) for x in logits
    ) / len(logits)


REAL, WRONG, FAKE = [2.0, 0.5, -1.0], [0.3, -2.0, 1.0], [-0.5, -3.0, 0.2]
REAL_U, FAKE_U = [1.5, -0.2, 0.7], [-1.2, 0.4, 2.5]
t = torch.tensor


def test_discriminator_loss_by_hand():
    expected = bce(REAL, 1) + 0.5 * (bce(WRONG, 0) + bce(FAKE, 0))
    got = discriminator_loss(t(REAL), t(WRONG), t(FAKE)).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_discriminator_loss_with_unconditional_head_by_hand():
    expected = (
        0.5 * (bce(REAL, 1) + bce(REAL_U, 1)) + (bce(WRONG, 0) + bce(FAKE, 0) + bce(FAKE_U, 0)) / 3
    )
    got = discriminator_loss(t(REAL), t(WRONG), t(FAKE), t(REAL_U), t(FAKE_U)).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_one_sided_label_smoothing_changes_only_real_targets():
    expected = bce(REAL, 0.9) + 0.5 * (bce(WRONG, 0) + bce(FAKE, 0))
    got = discriminator_loss(t(REAL), t(WRONG), t(FAKE), real_target=0.9).item()
    assert got == pytest.approx(expected, rel=1e-6)


def test_discriminator_loss_needs_both_unconditional_logits():
    with pytest.raises(ValueError, match="both real_uncond and fake_uncond"):
        discriminator_loss(t(REAL), t(WRONG), t(FAKE), real_uncond=t(REAL_U))


def test_generator_losses_by_hand():
    assert generator_loss(t(FAKE)).item() == pytest.approx(bce(FAKE, 1), rel=1e-6)
    both = generator_loss(t(FAKE), t(FAKE_U)).item()
    assert both == pytest.approx(bce(FAKE, 1) + bce(FAKE_U, 1), rel=1e-6)
    minimax = sum(math.log(1 - sigmoid(x)) for x in FAKE) / len(FAKE)
    assert generator_loss_minimax(t(FAKE)).item() == pytest.approx(minimax, rel=1e-6)
    # −log(1 − D(fake, t')): lower the more D rejects the fake under the contrast caption
    contrast = -sum(math.log(1 - sigmoid(x)) for x in WRONG) / len(WRONG)
    assert generator_contrast_loss(t(WRONG)).item() == pytest.approx(contrast, rel=1e-6)
    assert generator_contrast_loss(t([-5.0])) < generator_contrast_loss(t([5.0]))


def test_attribute_loss_sums_each_attribute_s_cross_entropy():
    rows = [[2.0, 0.5, -1.0, 0.3, -0.2], [0.1, 1.0, 0.4, -1.5, 2.0]]
    labels = [[0, 1], [2, 0]]  # two attributes, of 3 and 2 classes

    def cross_entropy(logits: list[float], label: int) -> float:
        return math.log(sum(math.exp(x) for x in logits)) - logits[label]

    expected = sum(
        cross_entropy(row[:3], label[0]) + cross_entropy(row[3:], label[1])
        for row, label in zip(rows, labels, strict=True)
    ) / len(rows)
    loss = attribute_loss(t(rows), t(labels), (3, 2))
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    # lower when each attribute's logits favour its label
    assert attribute_loss(t([[5.0, 0, 0, 0, 5.0]]), t([[0, 1]]), (3, 2)) < loss


def test_losses_stay_finite_when_d_saturates():
    saturated = t([-200.0, 200.0])
    for loss in (generator_loss(saturated), generator_loss_minimax(saturated)):
        assert torch.isfinite(loss)
    assert torch.isfinite(discriminator_loss(saturated, saturated, saturated))


def test_minimax_gradient_vanishes_where_d_rejects_fakes_but_non_saturating_does_not():
    # D(G(z)) = sigmoid(-12) ≈ 6e-6: the discriminator confidently rejects the fake
    logit = t([-12.0], requires_grad=True)
    generator_loss_minimax(logit).backward()
    minimax_grad = logit.grad.abs().item()
    logit.grad = None
    generator_loss(logit).backward()
    non_saturating_grad = logit.grad.abs().item()
    assert minimax_grad < 1e-5
    assert non_saturating_grad > 0.99


def test_mismatched_indices_never_pair_equal_labels():
    g = torch.Generator().manual_seed(0)
    labels = t([[0, 1], [0, 1], [1, 1], [2, 0], [0, 1], [1, 1]])
    for _ in range(20):
        j = mismatched_indices(6, labels, generator=g)
        assert (labels[j] != labels).any(dim=1).all()


def test_mismatched_indices_fall_back_to_the_authors_shift():
    torch.testing.assert_close(mismatched_indices(4), t([1, 2, 3, 0]))
    # every row has the same label: nothing can be mismatched, so shift by one
    torch.testing.assert_close(mismatched_indices(3, t([5, 5, 5])), t([1, 2, 0]))
    with pytest.raises(ValueError, match="labels for 3 rows"):
        mismatched_indices(3, t([1, 2]))
