import dataclasses

import pytest

from stackgan_lite import presets


def test_paper_presets_have_the_paper_sizes():
    for name in ("cub", "flowers"):
        p = presets.get(name)
        assert (p.text_dim, p.condition_dim, p.z_dim, p.ngf, p.ndf) == (1024, 128, 100, 128, 64)
        assert (p.residual_blocks, p.stage1_side, p.stage2_side) == (4, 64, 256)
        assert (p.batch_size, p.lr_g, p.lr_d, p.betas) == (64, 2e-4, 2e-4, (0.5, 0.999))
        assert (p.lr_decay_epochs, p.epochs, p.kl_coef) == (100, 600, 2.0)
        # stabilisers are off in the paper presets
        assert (p.label_smoothing, p.spectral_norm, p.ema_decay) == (0.0, False, 0.0)


def test_lite_stage2_side_is_four_times_stage1():
    p = presets.get("lite")
    assert p.stage2_side == 4 * p.stage1_side
    assert p.dataset == "shapes"


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(
        ValueError,
        match=r"unknown preset 'nope'; available presets: cub, cub_v2, flowers, lite, lite_noca, "
        "lite_v2, lite_v2_uncond",
    ):
        presets.get("nope")


def test_presets_are_frozen_and_replace_validates():
    p = presets.get("lite")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.ngf = 8
    assert p.replace(batch_size=4).batch_size == 4
    assert p.batch_size == 64  # the original is untouched
    with pytest.raises(ValueError, match="stage2_side must be 4 × stage1_side"):
        p.replace(stage2_side=32)
    with pytest.raises(ValueError, match="power of two"):
        p.replace(stage1_side=24, stage2_side=96)
    assert p.stage2_matching_coef > 0 and presets.get("cub").stage2_matching_coef == 0
    with pytest.raises(ValueError, match="stage2_matching_coef must be >= 0"):
        p.replace(stage2_matching_coef=-1.0)
    with pytest.raises(ValueError, match="stage2_matching_coef is a StackGAN-v1 option"):
        presets.get("lite_v2").replace(stage2_matching_coef=1.0)
    with pytest.raises(ValueError, match="stage2_contrast_weights is a StackGAN-v1 option"):
        presets.get("lite_v2").replace(stage2_contrast_weights=(("pattern", 1.0),))
    with pytest.raises(ValueError, match="stage2_conditional_bn is a StackGAN-v1 option"):
        presets.get("lite_v2").replace(stage2_conditional_bn=True)
    with pytest.raises(ValueError, match="stage2_contrast_coef is a StackGAN-v1 option"):
        presets.get("lite_v2").replace(stage2_contrast_coef=1.0)
    with pytest.raises(ValueError, match="stage2_contrast_coef must be >= 0"):
        p.replace(stage2_contrast_coef=-1.0)
    for field in ("stage1_aux_weights", "stage2_aux_weights"):
        with pytest.raises(ValueError, match=f"{field} is a StackGAN-v1 option"):
            presets.get("lite_v2").replace(**{field: (("shape", 1.0),)})
        with pytest.raises(ValueError, match=f"{field} needs attribute labels.*shapes"):
            presets.get("cub").replace(**{field: (("shape", 1.0),)})
    with pytest.raises(ValueError, match="stage2_spectral_coef is a StackGAN-v1 option"):
        presets.get("lite_v2").replace(stage2_spectral_coef=1.0)
    with pytest.raises(ValueError, match=r"stage2_spectral_coef needs attribute labels.*shapes"):
        presets.get("cub").replace(stage2_spectral_coef=1.0)
    with pytest.raises(ValueError, match="stage2_spectral_coef must be >= 0"):
        p.replace(stage2_spectral_coef=-1.0)
    with pytest.raises(ValueError, match=r"stage2_spectral_coef needs stage2_side >= 64.*got 32"):
        p.replace(stage1_side=8, stage2_side=32, stage2_spectral_coef=1.0)


def test_lite_noca_is_lite_without_conditioning_augmentation():
    lite, noca = presets.get("lite"), presets.get("lite_noca")
    assert noca == lite.replace(conditioning_augmentation=False)
    # the name picks the shipped text encoder and classifier, which the ablation shares
    assert noca.name == "lite"
    assert all(presets.get(n).conditioning_augmentation for n in ("cub", "flowers", "lite"))


def test_lite_noca_weights_have_their_own_file_and_are_told_apart_from_lite_s():
    from stackgan_lite import pretrained
    from stackgan_lite.train import CheckpointError

    assert pretrained.weights_path("lite", 1).name == "lite_stage1.pt"
    assert pretrained.weights_path("lite_noca", 1).name == "lite_stage1_noca.pt"
    g1 = pretrained.load_stage1("lite_noca")
    assert not g1.training and not g1.ca.augment
    # the shipped lite Stage-I predates the field: it counts as trained with CA, as it was
    assert pretrained.load_stage1("lite").ca.augment
    with pytest.raises(
        CheckpointError, match=r"conditioning_augmentation: True \(checkpoint\) vs False"
    ):
        pretrained.load_generator(presets.get("lite_noca"), pretrained.weights_path("lite", 1), 1)


def test_v2_presets_are_trees_with_lite_s_sides_and_their_own_text_encoder():
    from stackgan_lite import pretrained, text

    lite, v2, uncond = (presets.get(n) for n in ("lite", "lite_v2", "lite_v2_uncond"))
    assert (v2.stage1_side, v2.stage2_side, v2.branches) == (16, 64, 3)
    # the tree reads captions with the encoder it was trained on; its unconditional twin too
    assert text.weights_path(v2).name == text.weights_path(uncond).name == "text_lite_v2.pt"
    assert text.weights_path(lite).name == "text_lite.pt" and text.weights_path(v2).is_file()
    assert (v2.ema_decay, v2.contrast_share, v2.kl_coef) == (lite.ema_decay, 0.5, 2.0)
    assert not uncond.text_conditioned and uncond.color_coef == 1.0
    assert pretrained.weights_path(v2).name == "lite_v2.pt"
    assert all(presets.get(n).branches == 0 for n in ("cub", "flowers", "lite", "lite_noca"))
    with pytest.raises(ValueError, match="one generator: use load_tree"):
        pretrained.load("lite_v2")
