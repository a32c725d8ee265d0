import pytest
import torch

from stackgan_lite import (
    Stage1Discriminator,
    Stage1Generator,
    Stage2Discriminator,
    Stage2Generator,
    presets,
)
from stackgan_lite.blocks import ConditionalHead, ProjectionHead, UnconditionalHead
from stackgan_lite.cli import count_parameters
from stackgan_lite.data.shapes import ATTRIBUTE_SIZES

V1_PRESETS = [name for name in presets.available() if not presets.get(name).branches]


@pytest.fixture(scope="module", params=V1_PRESETS)
def nets(request):
    torch.manual_seed(0)
    p = presets.get(request.param)
    return p, Stage1Generator(p), Stage1Discriminator(p), Stage2Generator(p), Stage2Discriminator(p)


def test_shapes_for_every_preset(nets):
    p, g1, d1, g2, d2 = nets
    batch = 2
    phi_t, z = torch.randn(batch, p.text_dim), torch.randn(batch, p.z_dim)
    with torch.no_grad():
        image1, mu, logvar = g1(phi_t, z)
        assert image1.shape == (batch, 3, p.stage1_side, p.stage1_side)
        assert mu.shape == logvar.shape == (batch, p.condition_dim)
        assert image1.abs().max() <= 1.0  # tanh
        out1 = d1(image1, phi_t)
        assert out1.cond.shape == (batch,) and out1.uncond is None
        image2, mu2, _ = g2(image1, phi_t)
        assert image2.shape == (batch, 3, p.stage2_side, p.stage2_side)
        assert mu2.shape == (batch, p.condition_dim)
        out2 = d2(image2, phi_t)
        assert out2.cond.shape == (batch,)
        assert (out2.uncond is not None) == p.stage2_uncond_head


def test_batch_of_one_in_eval_mode(nets):
    p, g1, d1, g2, d2 = nets
    for net in (g1, d1, g2, d2):
        net.eval()
    phi_t = torch.randn(1, p.text_dim)
    with torch.no_grad():
        image1 = g1(phi_t, torch.randn(1, p.z_dim)).image
        image2 = g2(image1, phi_t).image
        assert d1(image1, phi_t).cond.shape == (1,)
        assert d2(image2, phi_t).cond.shape == (1,)
    for net in (g1, d1, g2, d2):
        net.train()


def test_paper_sizes_follow_design():
    p = presets.get("cub")
    g1, g2, d2 = Stage1Generator(p), Stage2Generator(p), Stage2Discriminator(p)
    # 1024×4×4 → 512×8×8 → 256×16×16 → 128×32×32 → 64×64×64
    h = g1.fc(torch.randn(2, p.z_dim + p.condition_dim)).view(2, 1024, 4, 4)
    widths = []
    for block in g1.upsample:
        h = block(h)
        widths.append(tuple(h.shape[1:]))
    assert widths == [(512, 8, 8), (256, 16, 16), (128, 32, 32), (64, 64, 64)]
    # Stage-II encoder: 64×64 image → 512×16×16
    assert g2.encode(torch.randn(2, 3, 64, 64)).shape == (2, 512, 16, 16)
    # Stage-II discriminator: 256×256 image → 8ndf × 4 × 4
    assert d2.features(torch.randn(2, 3, 256, 256)).shape == (2, 512, 4, 4)


def test_convolutions_are_bias_free_except_the_outputs():
    p = presets.get("lite")
    for net in (
        Stage1Generator(p),
        Stage1Discriminator(p),
        Stage2Generator(p),
        Stage2Discriminator(p),
    ):
        biased = [
            n
            for n, m in net.named_modules()
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None
        ]
        assert all(n.endswith(("to_image.0", "logit", "psi")) for n in biased), biased


def test_initialisation_follows_dcgan():
    torch.manual_seed(0)
    g = Stage2Generator(presets.get("cub"))
    convs = torch.cat([m.weight.flatten() for m in g.modules() if isinstance(m, torch.nn.Conv2d)])
    bn = torch.cat([m.weight for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)])
    assert convs.mean().abs() < 1e-3 and convs.std().item() == pytest.approx(0.02, rel=0.02)
    assert bn.mean().item() == pytest.approx(1.0, abs=0.01) and bn.std().item() == pytest.approx(
        0.02, rel=0.1
    )


def test_unconditional_head_off_removes_exactly_that_head():
    p = presets.get("lite")
    on = count_parameters(Stage2Discriminator(p))
    off_net = Stage2Discriminator(p.replace(stage2_uncond_head=False))
    channels = off_net.features(torch.randn(2, 3, 64, 64)).shape[1]
    assert on - count_parameters(off_net) == count_parameters(UnconditionalHead(channels))
    assert off_net(torch.randn(2, 3, 64, 64), torch.randn(2, p.text_dim)).uncond is None


def test_projection_head_computes_psi_of_h_plus_v_phi_t_dot_pooled_h():
    torch.manual_seed(0)
    head = ProjectionHead(channels=6, text_dim=5)
    h, phi_t = torch.randn(3, 6, 4, 4), torch.randn(3, 5)
    psi = (head.psi.weight[0] * h).sum(dim=(1, 2, 3)) + head.psi.bias
    v_phi_t = phi_t @ head.embed.weight.T  # [3, 6]
    expected = psi + (v_phi_t * h.sum(dim=(2, 3))).sum(dim=1)
    torch.testing.assert_close(head(h, phi_t), expected)
    # the text acts only through the inner product: zero text → psi alone, linear in phi_t
    torch.testing.assert_close(head(h, torch.zeros(3, 5)), psi)
    torch.testing.assert_close(head(h, 2 * phi_t) - psi, 2 * (expected - psi))
    with pytest.raises(ValueError, match=r"phi_t of shape \[batch, 5\]"):
        head(h, torch.randn(3, 4))


def test_projection_head_option_changes_only_stage2_s_conditional_head():
    lite = presets.get("lite")
    assert lite.stage2_projection_head and not presets.get("cub").stage2_projection_head
    assert isinstance(Stage2Discriminator(lite).cond_head, ProjectionHead)
    assert isinstance(Stage1Discriminator(lite).cond_head, ConditionalHead)
    concat = Stage2Discriminator(lite.replace(stage2_projection_head=False))
    assert isinstance(concat.cond_head, ConditionalHead)
    out = Stage2Discriminator(lite)(torch.randn(2, 3, 64, 64), torch.randn(2, 128))
    assert out.cond.shape == out.uncond.shape == (2,)
    with pytest.raises(ValueError, match="stage2_projection_head is a StackGAN-v1 option"):
        presets.get("lite_v2").replace(stage2_projection_head=True)


@pytest.mark.parametrize(
    ("net_class", "field", "side"),
    [
        (Stage1Discriminator, "stage1_aux_weights", 16),
        (Stage2Discriminator, "stage2_aux_weights", 64),
    ],
)
def test_attribute_head_classifies_every_attribute_from_the_pooled_features(net_class, field, side):
    weights = (("shape", 1.0), ("pattern", 1.0))
    p = presets.get("lite").replace(stage1_aux_weights=weights, stage2_aux_weights=weights)
    net, plain = net_class(p), net_class(p.replace(**{field: ()}))

    image, phi_t = torch.randn(2, 3, side, side), torch.randn(2, p.text_dim)
    h = net.features(image)
    out = net(image, phi_t)
    classes = sum(ATTRIBUTE_SIZES)
    assert out.attributes.shape == (2, classes)
    torch.testing.assert_close(out.attributes, net.attribute_head(h.mean(dim=(2, 3))))
    assert plain(image, phi_t).attributes is None
    assert count_parameters(net) - count_parameters(plain) == (h.shape[1] + 1) * classes
    # each stage's field builds only its own D's head
    other = "stage2_aux_weights" if field == "stage1_aux_weights" else "stage1_aux_weights"
    assert net_class(p.replace(**{other: ()})).attribute_head is not None


def test_conditional_bn_starts_as_the_plain_up_path_then_modulates_bn_by_c_hat():
    lite = presets.get("lite")
    assert not presets.get("cub").stage2_conditional_bn  # not in the paper
    torch.manual_seed(0)
    plain = Stage2Generator(lite.replace(stage2_conditional_bn=False)).eval()
    cbn = Stage2Generator(lite.replace(stage2_conditional_bn=True)).eval()
    extra = cbn.state_dict().keys() - plain.state_dict().keys()
    assert plain.state_dict().keys() < cbn.state_dict().keys()
    assert extra and all(k.startswith("film.") for k in extra)
    cbn.load_state_dict(plain.state_dict(), strict=False)
    s0, phi_t, eps = torch.rand(2, 3, 16, 16) * 2 - 1, torch.randn(2, 128), torch.zeros(2, 32)
    # gamma = beta = 0 at the start: exactly the unconditional up path
    torch.testing.assert_close(cbn(s0, phi_t, eps).image, plain(s0, phi_t, eps).image)
    with torch.no_grad():
        for linear in cbn.film:
            linear.weight.normal_(0.0, 0.1)
            linear.bias.normal_(0.0, 0.1)
    block = cbn.upsample[-1]  # nearest ×2, conv, BN, ReLU
    seen = {}
    # update returns None: a hook that returns a tensor would replace the module's input / output
    block[2].register_forward_hook(lambda m, i, out: seen.update(bn=out.clone()))
    block[3].register_forward_pre_hook(lambda m, i: seen.update(relu_in=i[0].clone()))
    out = cbn(s0, phi_t, eps)
    c_hat = cbn.ca(phi_t, eps)[0]
    gamma, beta = cbn.film[-1](c_hat)[:, :, None, None].chunk(2, dim=1)
    torch.testing.assert_close(seen["relu_in"], seen["bn"] * (1 + gamma) + beta)
    assert not torch.allclose(out.image, plain(s0, phi_t, eps).image)


def test_spectral_norm_option_wraps_the_discriminator():
    p = presets.get("lite").replace(spectral_norm=True)
    d = Stage1Discriminator(p)
    assert any("parametrizations" in name for name, _ in d.named_parameters())
    assert d(torch.randn(2, 3, 16, 16), torch.randn(2, p.text_dim)).cond.shape == (2,)


def test_wrong_sizes_name_the_expected_size():
    p = presets.get("lite")
    g1, d1, g2 = Stage1Generator(p), Stage1Discriminator(p), Stage2Generator(p)
    with pytest.raises(ValueError, match=r"phi_t of shape \[batch, 128\]"):
        g1(torch.randn(2, 1024), torch.randn(2, p.z_dim))
    with pytest.raises(ValueError, match=r"z of shape \[batch, 32\]"):
        g1(torch.randn(2, 128), torch.randn(2, 100))
    with pytest.raises(ValueError, match=r"\[batch, 3, 16, 16\], got \[2, 3, 64, 64\]"):
        d1(torch.randn(2, 3, 64, 64), torch.randn(2, 128))
    with pytest.raises(ValueError, match=r"Stage-I image.*\[batch, 3, 16, 16\]"):
        g2(torch.randn(2, 3, 32, 32), torch.randn(2, 128))
    with pytest.raises(ValueError, match=r"phi_t of shape \[batch, 128\]"):
        d1(torch.randn(2, 3, 16, 16), torch.randn(2, 64))


def test_fixed_noise_gives_identical_images_and_epsilon_changes_them():
    torch.manual_seed(0)
    p = presets.get("lite")
    g1 = Stage1Generator(p).eval()
    phi_t, z = torch.randn(2, p.text_dim), torch.randn(2, p.z_dim)
    eps = torch.zeros(2, p.condition_dim)
    with torch.no_grad():
        a, b = g1(phi_t, z, eps).image, g1(phi_t, z, eps).image
        c = g1(phi_t, z, eps + 1).image
    torch.testing.assert_close(a, b)
    assert (a - c).abs().max() > 1e-4


def test_generator_loss_reaches_every_generator_parameter():
    torch.manual_seed(0)
    p = presets.get("lite")
    g1, d1 = Stage1Generator(p), Stage1Discriminator(p)
    from stackgan_lite.losses import generator_loss

    image = g1(torch.randn(4, p.text_dim), torch.randn(4, p.z_dim)).image
    generator_loss(d1(image, torch.randn(4, p.text_dim)).cond).backward()
    assert all(q.grad is not None and q.grad.abs().sum() > 0 for q in g1.parameters())


def test_discriminator_scores_wrong_texts_on_the_same_image_features():
    torch.manual_seed(0)
    p = presets.get("lite")
    for d, side in ((Stage1Discriminator(p), 16), (Stage2Discriminator(p), 64)):
        d.eval()
        image, phi_t, wrong = (
            torch.randn(3, 3, side, side),
            torch.randn(3, 128),
            torch.randn(3, 128),
        )
        with torch.no_grad():
            both = d(image, phi_t, wrong)
            torch.testing.assert_close(both.wrong, d(image, wrong).cond)
            torch.testing.assert_close(both.cond, d(image, phi_t).cond)
        assert d(image, phi_t).wrong is None


@pytest.mark.parametrize("halvings", [1, 2])
def test_stage2_encoder_joins_the_text_on_a_grid_of_s1_over_2_to_the_halvings(halvings):
    p = presets.get("lite").replace(stage2_encoder_halvings=halvings)
    g = Stage2Generator(p).eval()
    grid = p.stage1_side // 2**halvings
    seen = []
    g.joint.register_forward_hook(lambda m, args, out: seen.append(out.shape) and None)
    out = g(torch.randn(2, 3, p.stage1_side, p.stage1_side), torch.randn(2, p.text_dim))
    assert seen == [(2, 4 * p.ngf, grid, grid)]
    assert out.image.shape == (2, 3, p.stage2_side, p.stage2_side)
    with pytest.raises(ValueError, match="stage2_encoder_halvings must be 1 or 2, got 3"):
        p.replace(stage2_encoder_halvings=3)
