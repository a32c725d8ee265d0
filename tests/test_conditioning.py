import math

import pytest
import torch

from stackgan_lite.conditioning import ConditioningAugmentation, kl_divergence


def test_kl_is_zero_for_the_standard_normal():
    mu, logvar = torch.zeros(4, 8), torch.zeros(4, 8)
    assert kl_divergence(mu, logvar, "mean").item() == 0.0
    assert kl_divergence(mu, logvar, "sum").item() == 0.0


def test_kl_closed_form_matches_monte_carlo():
    torch.manual_seed(0)
    mu = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.3, -0.7, 1.1]], dtype=torch.float64)
    sigma = torch.exp(0.5 * logvar)
    x = mu + sigma * torch.randn(400_000, 3, dtype=torch.float64)
    q = torch.distributions.Normal(mu, sigma)
    p = torch.distributions.Normal(0.0, 1.0)
    monte_carlo = (q.log_prob(x) - p.log_prob(x)).sum(dim=1).mean().item()
    closed = kl_divergence(mu, logvar, "sum").item()
    assert closed == pytest.approx(monte_carlo, rel=0.01)
    # "mean" averages the same elements instead of summing over the c dimensions
    assert kl_divergence(mu, logvar, "mean").item() == pytest.approx(closed / 3)


def test_kl_of_a_known_gaussian():
    # KL(N(1, e) ‖ N(0, 1)) = ½ (e + 1 − 1 − 1) per dimension
    mu, logvar = torch.ones(1, 1), torch.ones(1, 1)
    assert kl_divergence(mu, logvar, "sum").item() == pytest.approx(0.5 * (math.e - 1), rel=1e-6)


def test_kl_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        kl_divergence(torch.zeros(1, 1), torch.zeros(1, 1), "max")


def test_epsilon_zero_gives_c_hat_equal_to_mu():
    torch.manual_seed(0)
    ca = ConditioningAugmentation(text_dim=6, condition_dim=4)
    c_hat, mu, _ = ca(torch.randn(3, 6), epsilon=torch.zeros(3, 4))
    torch.testing.assert_close(c_hat, mu)


def test_gradient_flows_through_c_hat_to_mu_logvar_and_the_ca_layer():
    torch.manual_seed(0)
    ca = ConditioningAugmentation(text_dim=6, condition_dim=4)
    epsilon = torch.randn(3, 4)
    c_hat, mu, logvar = ca(torch.randn(3, 6), epsilon=epsilon)
    mu.retain_grad()
    logvar.retain_grad()
    c_hat.pow(2).sum().backward()
    torch.testing.assert_close(mu.grad, 2 * c_hat.detach())
    sigma = torch.exp(0.5 * logvar.detach())
    # d c_hat / d logvar = ½ sigma epsilon (the reparameterisation trick)
    torch.testing.assert_close(logvar.grad, c_hat.detach() * sigma * epsilon)
    assert ca.fc.weight.grad.abs().sum() > 0


def test_relu_variant_keeps_mu_and_logvar_non_negative():
    torch.manual_seed(0)
    ca = ConditioningAugmentation(text_dim=6, condition_dim=4, relu=True)
    _, mu, logvar = ca(torch.randn(64, 6))
    assert (mu >= 0).all() and (logvar >= 0).all()


def test_ca_names_the_expected_sizes():
    ca = ConditioningAugmentation(text_dim=6, condition_dim=4)
    with pytest.raises(ValueError, match=r"shape \[batch, 6\]"):
        ca(torch.randn(2, 5))
    with pytest.raises(ValueError, match=r"epsilon of shape \[2, 4\]"):
        ca(torch.randn(2, 6), epsilon=torch.randn(2, 3))


def test_without_augmentation_c_hat_is_mu_and_epsilon_moves_nothing():
    """The paper's "without CA" ablation: the same layer, c_hat = mu (epsilon = 0)."""
    torch.manual_seed(0)
    ca = ConditioningAugmentation(text_dim=6, condition_dim=4, augment=False)
    phi_t = torch.randn(3, 6)
    first, second = ca(phi_t), ca(phi_t)
    torch.testing.assert_close(first.c_hat, first.mu, rtol=0, atol=0)
    torch.testing.assert_close(second.c_hat, first.c_hat, rtol=0, atol=0)
    torch.testing.assert_close(ca(phi_t, torch.randn(3, 4)).c_hat, first.mu, rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"epsilon of shape \[3, 4\]"):
        ca(phi_t, epsilon=torch.randn(3, 2))
    # the same weights as the CA layer, so one state dict fits both
    assert ca.state_dict().keys() == ConditioningAugmentation(6, 4).state_dict().keys()
    assert ca.fc.out_features == 2 * 4


def test_a_generator_without_ca_is_deterministic_given_z():
    from stackgan_lite import presets
    from stackgan_lite.stage1 import Stage1Generator
    from stackgan_lite.stage2 import Stage2Generator

    preset = presets.get("lite_noca")
    torch.manual_seed(0)
    g1, g2 = Stage1Generator(preset).eval(), Stage2Generator(preset).eval()
    phi_t, z = torch.randn(2, preset.text_dim), torch.randn(2, preset.z_dim)
    with torch.no_grad():
        image = g1(phi_t, z).image
        assert torch.equal(g1(phi_t, z).image, image)
        assert torch.equal(g2(image, phi_t).image, g2(image, phi_t).image)
