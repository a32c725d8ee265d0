"""The notebooks' sliders (stackgan_lite.widgets) and the KL-weight demo (stackgan_lite.ca_demo),
driven without a browser, with untrained generators of the lite preset."""

from __future__ import annotations

import math

import pytest
import torch

from stackgan_lite import ca_demo, presets, text, widgets
from stackgan_lite.stackgan_v2 import TreeGenerator
from stackgan_lite.stage1 import Stage1Generator
from stackgan_lite.stage2 import Stage2Generator

CAPTION = "a small red circle in the middle on a white background"


@pytest.fixture(scope="module")
def preset():
    return presets.get("lite")


@pytest.fixture(scope="module")
def g1(preset):
    torch.manual_seed(0)
    return Stage1Generator(preset).eval()


@pytest.fixture(scope="module")
def g2(preset):
    torch.manual_seed(1)
    return Stage2Generator(preset).eval()


def test_epsilon_zero_gives_c_hat_equal_to_mu(g1, preset):
    out = widgets.ca_sample(g1, CAPTION, torch.zeros(preset.condition_dim))
    assert out.c_hat.shape == (1, preset.condition_dim)
    assert torch.equal(out.c_hat, out.mu)
    epsilon = torch.randn(preset.condition_dim)
    moved = widgets.ca_sample(g1, CAPTION, epsilon)
    assert torch.equal(moved.mu, out.mu) and torch.equal(moved.sigma, out.sigma)
    assert torch.allclose(moved.c_hat, moved.mu + moved.sigma * epsilon)
    # the same as the generator's own CA layer with that epsilon
    phi_t = text.embed([CAPTION], preset)
    assert torch.allclose(g1.ca(phi_t, epsilon[None]).c_hat, moved.c_hat)


def test_stage1_images_are_deterministic_and_follow_each_slider(g1, preset):
    z = torch.randn(preset.z_dim, generator=torch.Generator().manual_seed(0))
    epsilon = torch.zeros(preset.condition_dim)
    g1.train()  # stage1_images must switch to eval mode (BatchNorm's running statistics) ...
    first = widgets.stage1_images(g1, CAPTION, z, epsilon)
    assert g1.training  # ... and give the module its mode back
    g1.eval()
    assert first.shape == (1, 3, preset.stage1_side, preset.stage1_side)
    assert torch.equal(first, widgets.stage1_images(g1, CAPTION, z.clone(), epsilon.clone()))
    moved_eps = widgets.with_values(epsilon, [0], [2.0])
    moved_z = widgets.with_values(z, [0], [z[0].item() + 2.0])
    assert not torch.equal(first, widgets.stage1_images(g1, CAPTION, z, moved_eps))
    assert not torch.equal(first, widgets.stage1_images(g1, CAPTION, moved_z, epsilon))
    # epsilon = None means zeros (c_hat = mu); a batch of z shares one epsilon
    assert torch.equal(first, widgets.stage1_images(g1, CAPTION, z))
    batch = widgets.stage1_images(g1, CAPTION, torch.stack([z, moved_z]), epsilon)
    assert torch.allclose(batch[0], first[0], atol=1e-6)


def test_stage2_images(g1, g2, preset):
    z = torch.randn(2, preset.z_dim, generator=torch.Generator().manual_seed(0))
    image1, image2 = widgets.stage2_images(g2, g1, CAPTION, z)
    assert image1.shape == (2, 3, preset.stage1_side, preset.stage1_side)
    assert image2.shape == (2, 3, preset.stage2_side, preset.stage2_side)
    again = widgets.stage2_images(g2, g1, CAPTION, z)
    assert torch.equal(image2, again[1])


def test_bad_shapes_and_empty_captions_fail_with_a_message(g1, preset):
    with pytest.raises(ValueError, match="epsilon"):
        widgets.ca_sample(g1, CAPTION, torch.zeros(preset.condition_dim + 1))
    with pytest.raises(ValueError, match="z of shape"):
        widgets.stage1_images(g1, CAPTION, torch.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        widgets.stage1_images(g1, "  ", torch.zeros(preset.z_dim))


def test_pixel_diversity():
    a = torch.zeros(1, 3, 4, 4)
    assert widgets.pixel_diversity(torch.cat([a, a])) == 0.0
    assert widgets.pixel_diversity(torch.cat([a, a + 1])) == pytest.approx(1.0)
    # three images 0, 1, 2: pairwise distances 1, 1, 2
    assert widgets.pixel_diversity(torch.cat([a, a + 1, a + 2])) == pytest.approx(4 / 3)
    with pytest.raises(ValueError):
        widgets.pixel_diversity(a)


def test_epsilon_slider_panel(g1, preset):
    panel = widgets.epsilon_slider(g1, CAPTION, dims=3, n_images=2)
    assert len(panel.epsilon_sliders) == 3 and not panel.z_sliders
    children = panel.widget.children
    assert panel.caption in children and panel.image in children
    shown = [s for box in children if hasattr(box, "children") for s in box.children]
    assert all(s in shown for s in panel.epsilon_sliders)
    # the default dimensions are those with the largest sigma
    sigma = widgets.ca_sample(g1, CAPTION, torch.zeros(preset.condition_dim)).sigma[0]
    assert set(panel.epsilon_dims) == set(sigma.argsort(descending=True)[:3].tolist())
    # all sliders at 0: c_hat = mu
    assert torch.equal(panel.ca.c_hat, panel.ca.mu)
    before_png, before = panel.image.value, panel.images.clone()
    assert before_png[:8] == b"\x89PNG\r\n\x1a\n" and panel.images.shape[0] == 2
    panel.epsilon_sliders[0].value = 1.5  # the observer calls panel.update()
    assert panel.image.value != before_png and not torch.equal(panel.images, before)
    d = panel.epsilon_dims[0]
    assert panel.ca.c_hat[0, d] == pytest.approx(panel.ca.mu[0, d] + 1.5 * panel.ca.sigma[0, d])
    panel.epsilon_sliders[0].value = 0.0
    assert torch.equal(panel.images, before)  # back to the same values: bit-identical images


def test_z_and_epsilon_sliders_callback(g1, g2, preset):
    panel = widgets.z_and_epsilon_sliders(g1, g2, CAPTION, dims=2)
    assert len(panel.z_sliders) == 2 and len(panel.epsilon_sliders) == 2
    assert panel.images.shape == (1, 3, preset.stage2_side, preset.stage2_side)
    assert panel.stage1.shape == (1, 3, preset.stage1_side, preset.stage1_side)
    updates, png, image = panel.updates, panel.image.value, panel.images.clone()
    # widget values changed without firing observers, then the plain callback run by hand
    with panel.z_sliders[1].hold_trait_notifications():
        panel.z_sliders[1].set_trait("value", 2.5)
    panel.update()
    assert panel.updates > updates and panel.z[1] == 2.5
    assert panel.image.value != png and not torch.equal(panel.images, image)
    # a caption box change re-runs it too; the Stage-I-only panel has one image
    only1 = widgets.z_and_epsilon_sliders(g1, caption=CAPTION, dims=1)
    first = only1.images.clone()
    only1.caption.value = "a large blue square at the top left on a black background"
    assert not torch.equal(only1.images, first)


def test_stage1_panel_each_control_changes_the_image_and_back(g1, preset):
    # notebook 03's panel: Stage-I only, epsilon sliders on chosen dimensions
    panel = widgets.z_and_epsilon_sliders(g1, caption=CAPTION, dims=2, epsilon_dims=[5, 17])
    assert panel.epsilon_dims == [5, 17] and panel.images.shape[0] == 1
    before, png = panel.images.clone(), panel.image.value
    controls = [
        (panel.z_sliders[1], 2.5),
        (panel.epsilon_sliders[1], -2.0),
        (panel.caption, "a large blue square at the top left on a black background"),
    ]
    for control, value in controls:
        old = control.value
        control.value = value  # the observer runs panel.update()
        assert not torch.equal(panel.images, before), control.description
        assert panel.image.value != png
        control.value = old
        assert torch.equal(panel.images, before), control.description
    panel.epsilon_sliders[1].value = -2.0
    assert panel.epsilon[17] == -2.0 and panel.epsilon[5] == 0.0
    assert panel.epsilon.count_nonzero() == 1  # dimensions without a slider stay at zero


def test_stage1_images_shares_one_z_over_a_batch_of_embeddings(g1, preset):
    phi_t = text.embed(
        [CAPTION, "a large blue square at the top left on a black background"], preset
    )
    z = torch.randn(preset.z_dim, generator=torch.Generator().manual_seed(0))
    images = widgets.stage1_images(g1, phi_t, z)
    assert images.shape == (2, 3, preset.stage1_side, preset.stage1_side)
    for k in range(2):
        assert torch.allclose(images[k], widgets.stage1_images(g1, phi_t[k], z)[0], atol=1e-5)
    with pytest.raises(ValueError, match="2 text embeddings for a batch of 3"):
        widgets.stage1_images(g1, phi_t, torch.zeros(3, preset.z_dim))
    with pytest.raises(ValueError, match="2 noise vectors z for a batch of 3"):
        widgets.stage1_images(
            g1, CAPTION, torch.zeros(2, preset.z_dim), torch.zeros(3, preset.condition_dim)
        )


def test_interpolate_captions(g1, preset):
    other = "a large blue square at the top left on a black background"
    z = torch.randn(preset.z_dim, generator=torch.Generator().manual_seed(0))
    path = widgets.interpolate_captions(g1, CAPTION, other, z, steps=5)
    assert path.alphas.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert path.images.shape == (5, 3, preset.stage1_side, preset.stage1_side)
    # the ends are the captions' own images (epsilon = 0), with the same z
    for end, caption in ((0, CAPTION), (-1, other)):
        alone = widgets.stage1_images(g1, caption, z)[0]
        assert torch.allclose(path.images[end], alone, atol=1e-5)
    # phi_t moves on the straight line, and so does CA's mean (an affine layer)
    phi_a, phi_b = text.embed([CAPTION, other], preset)
    assert torch.allclose(path.phi_t[2], (phi_a + phi_b) / 2, atol=1e-6)
    mu = widgets.ca_sample(g1, path.phi_t, torch.zeros(5, preset.condition_dim)).mu
    assert torch.allclose(mu[1], 0.75 * mu[0] + 0.25 * mu[-1], atol=1e-5)
    # each step changes the image; the same inputs give the same images; tensors work as ends
    assert all(not torch.equal(a, b) for a, b in zip(path.images, path.images[1:], strict=False))
    again = widgets.interpolate_captions(g1, phi_a, phi_b, z, steps=5)
    assert torch.allclose(again.images, path.images, atol=1e-6)
    # a given epsilon is shared by every step
    epsilon = torch.randn(preset.condition_dim, generator=torch.Generator().manual_seed(1))
    moved = widgets.interpolate_captions(g1, CAPTION, other, z, steps=5, epsilon=epsilon)
    assert torch.allclose(
        moved.images[0], widgets.stage1_images(g1, CAPTION, z, epsilon)[0], atol=1e-5
    )


def test_interpolate_captions_checks_its_inputs(g1, preset):
    z = torch.zeros(preset.z_dim)
    with pytest.raises(ValueError, match="steps"):
        widgets.interpolate_captions(g1, CAPTION, CAPTION, z, steps=1)
    with pytest.raises(ValueError, match="one z"):
        widgets.interpolate_captions(g1, CAPTION, CAPTION, torch.zeros(2, preset.z_dim))
    with pytest.raises(ValueError, match="one caption"):
        widgets.interpolate_captions(g1, torch.zeros(2, preset.text_dim), CAPTION, z)
    with pytest.raises(ValueError, match="empty"):
        widgets.interpolate_captions(g1, CAPTION, "", z)


def test_empty_caption_shows_the_error_and_keeps_the_images(g1):
    panel = widgets.z_and_epsilon_sliders(g1, caption=CAPTION, dims=1)
    png, updates = panel.image.value, panel.updates
    panel.caption.value = ""
    assert "empty" in panel.status.value and "describe the image" in panel.status.value
    assert panel.image.value == png and panel.updates == updates
    panel.caption.value = CAPTION
    assert "empty" not in panel.status.value and panel.image.value == png


def test_slider_dimensions_are_checked(g1, preset):
    with pytest.raises(ValueError, match="slider dimensions"):
        widgets.z_and_epsilon_sliders(g1, dims=[preset.z_dim])


def test_fit_ca_reaches_the_closed_form_optimum():
    torch.manual_seed(0)
    phi_t = torch.randn(6, 16)
    angle = torch.arange(6) * 2 * math.pi / 6
    target = 2 * torch.stack([angle.cos(), angle.sin()], dim=1)
    sigmas = []
    for kl_weight in (0.0, 1.0, 10.0):
        fit = ca_demo.fit_ca(phi_t, target, kl_weight, steps=400)
        mu, sigma = ca_demo.optimum(target, kl_weight)
        assert torch.allclose(fit.mu, mu, atol=0.06), kl_weight
        assert torch.allclose(fit.sigma, sigma, atol=0.08), kl_weight
        assert fit.losses[-1] < fit.losses[0]
        sigmas.append(fit.sigma.mean().item())
    assert sigmas[0] < sigmas[1] < sigmas[2]
    again = ca_demo.fit_ca(phi_t, target, 1.0, steps=400)
    assert torch.equal(again.mu, ca_demo.fit_ca(phi_t, target, 1.0, steps=400).mu)  # seeded
    with pytest.raises(ValueError):
        ca_demo.fit_ca(phi_t, target[:3], 1.0)
    with pytest.raises(ValueError):
        ca_demo.optimum(target, -1.0)


def test_tree_panel_shows_every_scale_and_its_z_slider_moves_them_all():
    p = presets.get("lite_v2")
    torch.manual_seed(2)
    tree = TreeGenerator(p).eval()
    z = torch.randn(p.z_dim)
    scales = widgets.tree_images(tree, CAPTION, z)
    assert [x.shape for x in scales] == [(1, 3, s, s) for s in (16, 32, 64)]
    assert all(
        torch.equal(a, b)
        for a, b in zip(scales, widgets.tree_images(tree, CAPTION, z), strict=True)
    )

    panel = widgets.z_and_epsilon_sliders(tree, caption=CAPTION, dims=2, seed=0)
    assert len(panel.z_sliders) == 2 and panel.images.shape == (1, 3, 64, 64)
    assert panel.stage1.shape == (1, 3, 16, 16)
    before = [x.clone() for x in widgets.tree_images(tree, CAPTION, panel.z, panel.epsilon)]
    panel.z_sliders[0].value = 2.5  # the observer calls update()
    assert panel.updates == 2 and panel.z[0] == 2.5
    after = widgets.tree_images(tree, CAPTION, panel.z, panel.epsilon)
    assert all(
        not torch.equal(a, b) for a, b in zip(before, after, strict=True)
    )  # one z feeds every branch
    assert torch.equal(panel.images, after[-1]) and torch.equal(panel.stage1, after[0])
    assert bytes(panel.image.value[:4]) == b"\x89PNG"
