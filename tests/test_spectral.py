import pytest
import torch
import torch.nn.functional as F

from stackgan_lite import presets
from stackgan_lite.data.shapes import ATTRIBUTES, ShapesDataset
from stackgan_lite.spectral import PatternJudge, pattern_spectrum, spectral_pattern_loss

PATTERN = list(ATTRIBUTES).index("pattern")
PLAIN, STRIPES, DOTS, CHECKS = range(4)


@pytest.fixture(scope="module")
def shapes():
    lite = presets.get("lite")
    train = ShapesDataset(lite, "train", size=1200, seed=0, with_embedding=False)
    test = ShapesDataset(lite, "test", size=400, seed=0, with_embedding=False)
    return train, test


def signed(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1


def test_each_pattern_puts_its_power_at_its_own_frequencies(shapes):
    train, _ = shapes
    f = pattern_spectrum(signed(train.images2))
    pattern = train.labels[:, PATTERN]
    mean = torch.stack([f[pattern == p].mean(dim=0) for p in range(4)])  # [pattern, bin]
    axis_x, axis_y, diagonals = mean[:, 0], mean[:, 1], mean[:, 2:4].mean(dim=1)
    # log power: a pattern's own bins hold e^3 ≈ 20 times the power of a plain object's
    assert (axis_x[[STRIPES, DOTS]] > axis_x[PLAIN] + 3).all()
    assert axis_y[DOTS] > axis_y[STRIPES] + 3  # stripes are vertical: no power along y
    assert (diagonals[[DOTS, CHECKS]] > diagonals[[PLAIN, STRIPES]].max() + 3).all()
    assert (axis_x[CHECKS] < axis_x[STRIPES] - 3) and (axis_y[CHECKS] < axis_y[DOTS] - 3)


def test_the_spectrum_does_not_move_with_the_object(shapes):
    train, _ = shapes
    images = signed(train.images2[:32])
    # a whole number of pixels around the torus: |F|² is unchanged by a circular shift
    shifted = torch.roll(images, shifts=(3, -3), dims=(2, 3))
    inside = torch.zeros(64, 64, dtype=torch.bool)
    inside[11:-11, 11:-11] = True  # the background's 8 px at every side, after the shift too
    centred = (images - images[..., :1, :1]).abs().amax(dim=1)[:, ~inside].amax(dim=1) < 1e-6
    assert centred.sum() >= 4  # objects away from the border, where shifting wraps nothing
    torch.testing.assert_close(
        pattern_spectrum(shifted[centred]), pattern_spectrum(images[centred]), atol=1e-3, rtol=0
    )


def test_the_fitted_judge_reads_the_pattern_of_unseen_real_images(shapes):
    train, test = shapes
    judge = PatternJudge.fit(train.images2, train.labels[:, PATTERN])
    assert not any(p.requires_grad for p in judge.parameters()) and not judge.training
    logits = judge(signed(test.images2))
    accuracy = (logits.argmax(dim=1) == test.labels[:, PATTERN]).float().mean().item()
    assert accuracy >= 0.97
    # the same images give the same judge, bit for bit, whatever the global RNG holds
    torch.manual_seed(123)
    again = PatternJudge.fit(train.images2, train.labels[:, PATTERN])
    for a, b in zip(judge.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_the_loss_is_the_judge_s_cross_entropy_and_its_gradient_reaches_the_image(shapes):
    train, test = shapes
    judge = PatternJudge.fit(train.images2[:400], train.labels[:400, PATTERN], steps=50)
    images = signed(test.images2[:8]).requires_grad_(True)
    patterns = test.labels[:8, PATTERN]
    loss = spectral_pattern_loss(judge, images, patterns)
    assert loss.item() == pytest.approx(F.cross_entropy(judge(images), patterns).item())
    loss.backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    # a plain image told it is striped costs more than told it is plain
    plain = signed(test.images2[test.labels[:, PATTERN] == PLAIN][:4])
    as_plain = spectral_pattern_loss(judge, plain, torch.full((4,), PLAIN))
    assert spectral_pattern_loss(judge, plain, torch.full((4,), STRIPES)) > as_plain + 1


def test_bad_input_is_refused_with_what_to_do(shapes):
    train, _ = shapes
    with pytest.raises(ValueError, match="at least 64 px, got 16 px"):
        pattern_spectrum(signed(train.images1[:2]))
    patterns = train.labels[:, PATTERN]
    no_dots = patterns != DOTS
    with pytest.raises(ValueError, match=r"every pattern.*per pattern: use more"):
        PatternJudge.fit(train.images2[no_dots], patterns[no_dots])
