import json
import math

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from stackgan_lite import presets, pretrained
from stackgan_lite.blocks import DiscriminatorOutput
from stackgan_lite.cli import main
from stackgan_lite.stackgan_v2 import (
    ScaleDiscriminator,
    TreeDiscriminator,
    TreeGenerator,
    colour_consistency,
    colour_moments,
    joint_discriminator_loss,
    joint_generator_loss,
    real_pyramid,
    tree_sides,
)
from stackgan_lite.train import (
    RunOptions,
    load_checkpoint,
    train,
)
from tests.tiny_run import TINY_V2, TinyDataset, write_generator_checkpoint


@pytest.mark.parametrize("name", ["cub_v2", "lite_v2", "lite_v2_uncond"])
def test_every_branch_and_discriminator_has_the_shape_of_its_scale(name):
    p = presets.get(name)
    torch.manual_seed(0)
    g, d = TreeGenerator(p).eval(), TreeDiscriminator(p).eval()
    sides = tree_sides(p)
    assert sides == [p.stage1_side * 2**i for i in range(3)] and sides[-1] == p.stage2_side
    batch = 2
    with torch.no_grad():
        out = g(torch.randn(batch, p.text_dim), torch.randn(batch, p.z_dim))
        assert [tuple(x.shape) for x in out.images] == [(batch, 3, s, s) for s in sides]
        assert out.image is out.images[-1]
        assert all(x.abs().max() <= 1.0 for x in out.images)  # tanh heads
        outs = d(out.images, out.mu, out.mu)
    assert len(outs) == len(d.scales) == 3
    for o in outs:
        assert o.uncond.shape == (batch,)
        if p.text_conditioned:
            assert out.mu.shape == out.logvar.shape == (batch, p.condition_dim)
            assert o.cond.shape == o.wrong.shape == (batch,)
        else:
            assert out.mu is None and o.cond is None and o.wrong is None


def test_cub_v2_is_the_authors_birds_configuration():
    p = presets.get("cub_v2")
    assert (p.branches, p.ngf, p.ndf, p.condition_dim, p.z_dim, p.residual_blocks) == (
        3,
        64,
        64,
        128,
        100,
        2,
    )
    assert (p.batch_size, p.lr_g, p.lr_d, p.betas) == (24, 2e-4, 2e-4, (0.5, 0.999))
    assert (p.kl_coef, p.uncond_coef, p.color_coef) == (2.0, 1.0, 0.0)
    g = TreeGenerator(p)
    # F_0 works on 16·ngf channels at 4×4; the branches hand ngf, ngf/2, ngf/4 to the heads
    code = g.fc(torch.randn(2, p.z_dim + p.condition_dim))
    assert code.shape == (2, 16 * p.ngf * 4 * 4)
    assert [head[0].in_channels for head in g.to_image] == [64, 32, 16]
    # CA: Linear(t → 4c) + GLU, split into mu and logvar
    assert g.ca.fc.out_features == 4 * p.condition_dim
    assert isinstance(g.ca.activation, torch.nn.GLU)
    # the 256-px D halves 32ndf back to 8ndf before its logits, as the 64-px one ends
    d = TreeDiscriminator(p)
    assert [s.uncond_logit.in_channels for s in d.scales] == [8 * p.ndf] * 3
    assert d.scales[0].cond_joint[0].in_channels == 8 * p.ndf + p.condition_dim


@pytest.mark.parametrize("branches", [1, 2, 3])
def test_the_number_of_scales_follows_the_preset(branches):
    p = presets.get("lite_v2").replace(branches=branches, stage2_side=16 * 2 ** (branches - 1))
    g, d = TreeGenerator(p), TreeDiscriminator(p)
    assert len(g.branches) == branches - 1 and len(g.to_image) == len(d.scales) == branches
    out = g(torch.randn(2, p.text_dim), torch.randn(2, p.z_dim))
    assert [x.shape[-1] for x in out.images] == [16 * 2**i for i in range(branches)]
    with pytest.raises(ValueError, match=r"expected 2 images \(one per scale\), got 1"):
        TreeDiscriminator(p.replace(branches=2, stage2_side=32))(out.images[:1])


def test_a_preset_whose_sides_do_not_fit_its_branches_is_refused():
    with pytest.raises(ValueError, match=r"stage2_side must be 2 × stage1_side \(32\), got 64"):
        presets.get("lite_v2").replace(branches=2)
    with pytest.raises(ValueError, match="ngf must be a multiple of 4"):
        presets.get("lite_v2").replace(ngf=34)
    with pytest.raises(ValueError, match="is a StackGAN-v1 preset"):
        TreeGenerator(presets.get("lite"))


def test_the_unconditional_tree_ignores_text_and_feeds_z_to_its_branches():
    p = presets.get("lite_v2_uncond")
    g = TreeGenerator(p).eval()
    assert g.ca is None and g.branches[0].joint[0].in_channels == p.z_dim + p.ngf
    z = torch.randn(3, p.z_dim)
    with torch.no_grad():
        a = g(None, z).images
        b = g(torch.randn(3, p.text_dim), z).images
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(ValueError, match="is text-conditioned: pass phi_t"):
        TreeGenerator(presets.get("lite_v2"))(None, z)


def test_the_discriminator_conditions_on_mu_and_has_no_text_layer():
    p = presets.get("lite_v2")
    d = ScaleDiscriminator(p, 32).eval()
    assert not any(isinstance(m, torch.nn.Linear) for m in d.modules())
    image, mu = torch.rand(2, 3, 32, 32) * 2 - 1, torch.randn(2, p.condition_dim)
    with torch.no_grad():
        out = d(image, mu, mu.flip(0))
        assert torch.allclose(out.wrong, d(image, mu.flip(0)).cond)  # one pass serves both
        assert torch.equal(out.uncond, d(image, -mu).uncond)  # the unconditional logit ignores mu
        assert not torch.allclose(out.cond, d(image, -mu).cond)
    with pytest.raises(ValueError, match=r"expects images of shape \[batch, 3, 32, 32\]"):
        d(torch.zeros(2, 3, 64, 64), mu)


def _bce_by_hand(logits, target):
    return sum(
        -(
            target * math.log(1 / (1 + math.exp(-x)))
            + (1 - target) * math.log(1 / (1 + math.exp(x)))
        )
        for x in logits
    ) / len(logits)


def test_joint_discriminator_loss_is_the_hand_computation_and_lambda_u_zero_drops_those_terms():
    logits = {
        "real": [2.0, -0.5],
        "wrong": [0.3, -1.2],
        "fake": [-2.0, 0.7],
        "real_u": [1.5, 0.1],
        "fake_u": [-0.4, 2.2],
    }
    t = {k: torch.tensor(v, dtype=torch.float64) for k, v in logits.items()}
    real = DiscriminatorOutput(t["real"], t["real_u"], t["wrong"])
    fake = DiscriminatorOutput(t["fake"], t["fake_u"])
    cond = (
        _bce_by_hand(logits["real"], 1)
        + _bce_by_hand(logits["wrong"], 0)
        + _bce_by_hand(logits["fake"], 0)
    )
    uncond = _bce_by_hand(logits["real_u"], 1) + _bce_by_hand(logits["fake_u"], 0)
    assert joint_discriminator_loss(real, fake, 1.0).item() == pytest.approx(cond + uncond, 1e-12)
    assert joint_discriminator_loss(real, fake, 0.5).item() == pytest.approx(
        cond + 0.5 * uncond, 1e-12
    )
    assert joint_discriminator_loss(real, fake, 0.0).item() == pytest.approx(cond, 1e-12)
    # label smoothing moves only the real targets
    smoothed = joint_discriminator_loss(real, fake, 1.0, real_target=0.9).item()
    by_hand = (
        _bce_by_hand(logits["real"], 0.9)
        + _bce_by_hand(logits["wrong"], 0)
        + _bce_by_hand(logits["fake"], 0)
        + _bce_by_hand(logits["real_u"], 0.9)
        + _bce_by_hand(logits["fake_u"], 0)
    )
    assert smoothed == pytest.approx(by_hand, 1e-12)
    # without text only the unconditional terms exist
    no_text = joint_discriminator_loss(
        DiscriminatorOutput(None, t["real_u"]), DiscriminatorOutput(None, t["fake_u"]), 1.0
    )
    assert no_text.item() == pytest.approx(uncond, 1e-12)
    g = joint_generator_loss(fake, 1.0).item()
    assert g == pytest.approx(_bce_by_hand(logits["fake"], 1) + _bce_by_hand(logits["fake_u"], 1))
    assert joint_generator_loss(fake, 0.0).item() == pytest.approx(_bce_by_hand(logits["fake"], 1))


def test_colour_moments_are_the_pixel_mean_and_covariance():
    images = torch.rand(3, 3, 8, 8, dtype=torch.float64)
    mu, sigma = colour_moments(images)
    for j in range(3):
        pixels = images[j].flatten(1)  # [3, N]
        assert torch.allclose(mu[j], pixels.mean(1))
        assert torch.allclose(sigma[j], torch.cov(pixels, correction=0))


def test_colour_consistency_is_zero_for_the_same_statistics_and_positive_otherwise():
    lower = torch.rand(4, 3, 16, 16) * 2 - 1
    # nearest upsampling repeats every pixel 4 times: the same mean and covariance
    same = F.interpolate(lower, scale_factor=2, mode="nearest")
    assert colour_consistency(same, lower).item() == pytest.approx(0.0, abs=1e-6)
    shifted = same + 0.1  # mean moves by 0.1 per channel, covariance unchanged
    assert colour_consistency(shifted, lower).item() == pytest.approx(3 * 0.01, rel=1e-4)
    assert colour_consistency(shifted, lower, lambda_1=2.0).item() == pytest.approx(0.06, 1e-4)
    scaled = same * 2  # covariance ×4, mean ×2
    mu, sigma = colour_moments(lower)
    by_hand = (mu.pow(2).sum(1) + 5 * (3 * sigma).pow(2).sum((1, 2))).mean()
    assert colour_consistency(scaled, lower).item() == pytest.approx(by_hand.item(), rel=1e-4)


def test_colour_consistency_gradient_reaches_the_lower_branch():
    p = presets.get("lite_v2_uncond")
    torch.manual_seed(0)
    g = TreeGenerator(p)
    images = g(None, torch.randn(4, p.z_dim)).images
    colour_consistency(images[1], images[0]).backward()
    lower_head, trunk, upper_head = g.to_image[0], g.trunk, g.to_image[1]
    for part in (lower_head, trunk, upper_head):
        assert any(q.grad is not None and q.grad.abs().sum() > 0 for q in part.parameters())
    assert all(q.grad is None for q in g.to_image[2].parameters())  # scale 2 is not in the term


def test_real_pyramid_is_the_area_average_of_the_largest_image():
    image = torch.rand(2, 3, 64, 64)
    pyramid = real_pyramid(image, [16, 32, 64])
    assert [x.shape[-1] for x in pyramid] == [16, 32, 64]
    assert torch.equal(pyramid[-1], image)
    assert torch.allclose(pyramid[0][0, 0, 0, 0], image[0, 0, :4, :4].mean())


def test_v2_trains_jointly_logging_and_checkpointing_like_v1(tmp_path):
    options = RunOptions(out=tmp_path, steps=4, log_every=2, checkpoint_every=2, threads=1)
    before = TreeDiscriminator(TINY_V2).state_dict()
    result = train(TINY_V2, options, TinyDataset())
    records = [json.loads(line) for line in result.log.read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    for key in ("d_loss", "g_loss", "kl", "colour", "d_real", "d_wrong", "d_fake"):
        assert all(math.isfinite(r[key]) for r in records), key
    assert (tmp_path / "samples_000004.png").stat().st_size > 0
    state = load_checkpoint(result.checkpoint, TINY_V2, stage=1)
    # every scale's discriminator was updated
    for i in range(3):
        key = f"scales.{i}.uncond_logit.weight"
        assert not torch.equal(state["discriminator"][key], before[key]), key
    assert isinstance(result.generator, TreeGenerator)
    with pytest.raises(ValueError, match="StackGAN-v2 tree, trained in one run"):
        train(TINY_V2, RunOptions(stage=2, out=tmp_path / "two", steps=1), TinyDataset())


def test_unconditional_mode_trains_a_few_steps_with_colour_consistency(tmp_path):
    preset = TINY_V2.replace(
        name="tiny_v2_uncond", text_conditioned=False, color_coef=1.0, contrast_share=0.0
    )
    options = RunOptions(out=tmp_path, steps=3, log_every=3, threads=1)
    result = train(preset, options, TinyDataset())
    record = json.loads(result.log.read_text().splitlines()[-1])
    assert record["colour"] > 0 and record["kl"] == 0.0 and "d_wrong" not in record
    # a text-conditioned tree has it off (the paper's text setting) but still logs it
    off = train(TINY_V2, RunOptions(out=tmp_path / "off", steps=1, threads=1), TinyDataset())
    assert json.loads(off.log.read_text().splitlines()[-1])["colour"] > 0
    assert result.generator.ca is None
    assert (tmp_path / "losses.png").stat().st_size > 0


def test_the_cli_exports_evaluates_and_samples_a_tree(tmp_path, capsys):
    lite_v2 = presets.get("lite_v2")
    torch.manual_seed(0)
    checkpoint = write_generator_checkpoint(
        tmp_path / "checkpoint.pt", lite_v2, TreeGenerator(lite_v2)
    )
    exported = tmp_path / "mine.pt"
    argv = [
        "export",
        "--preset",
        "lite_v2",
        "--checkpoint",
        str(checkpoint),
        "--out",
        str(exported),
    ]
    assert main(argv) == 0
    assert "generator tree of" in capsys.readouterr().out
    tree = pretrained.load_generator(lite_v2, exported)
    assert isinstance(tree, TreeGenerator) and not tree.training

    argv = ["evaluate", "--preset", "lite_v2", "--tree", str(exported), "--n", "100", "--json"]
    for stage, side in (("1", 16), ("2", 64)):
        assert main([*argv, "--stage", stage]) == 0
        result = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert (result["side"], result["n"], result["preset"]) == (side, 100, "lite_v2")
        assert 1.0 <= result["classifier_score"] <= result["classifier_score_max"]
        # 100 test images hold a class seen once: its lone image has no pair, and is skipped
        assert math.isfinite(result["diversity_real"]) and result["diversity_real"] > 0

    out = tmp_path / "tree.png"
    argv = ["sample", "--preset", "lite_v2", "--tree", str(exported), "--caption", "a red circle"]
    assert main([*argv, "--n", "2", "--out", str(out)]) == 0
    assert "16 px | 32 px | 64 px" in capsys.readouterr().out
    assert Image.open(out).size == (6 * 64 + 7 * 2, 64 + 2 * 2)  # 2 samples × 3 scales


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--preset", "lite_v2", "--stage", "2"], "StackGAN-v2 tree, trained and stored"),
        (["train", "--preset", "lite", "--steps", "1"], "add --stage 1 or --stage 2"),
        (["evaluate", "--preset", "lite_v2_uncond"], "scores text-to-image generators"),
        (["evaluate", "--preset", "lite_v2", "--stage1", "x.pt"], "pass its file with --tree"),
        (["evaluate", "--preset", "lite", "--tree", "x.pt"], "--tree is for StackGAN-v2 presets"),
    ],
)
def test_v1_and_v2_arguments_are_not_mixed_up(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
