import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from stackgan_lite import data, presets, runtime
from stackgan_lite.data.shapes import ATTRIBUTE_SIZES, ATTRIBUTES, ShapesDataset
from stackgan_lite.losses import attribute_loss
from stackgan_lite.spectral import spectral_pattern_loss
from stackgan_lite.stage1 import Stage1Generator
from stackgan_lite.text import JointEmbedding, Tokenizer, info_nce
from stackgan_lite.train import (
    CheckpointError,
    NonFiniteLossError,
    RunOptions,
    _ema_with_warmup,
    _matching_term,
    build_models,
    fit_pattern_judge,
    load_checkpoint,
    train,
    train_step,
)
from tests.tiny_run import TINY, TINY_V2, TinyDataset, write_generator_checkpoint

TESTS = Path(__file__).parent
ENV = {**os.environ, "PYTHONPATH": str(TESTS.parent), "OMP_NUM_THREADS": "1"}


def weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, weights_only=True)
    return {**state["generator"], **{f"D.{k}": v for k, v in state["discriminator"].items()}}


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"differ: {different[:5]}"


def test_stage1_run_writes_log_plot_samples_and_checkpoint(tmp_path):
    options = RunOptions(out=tmp_path, steps=8, log_every=4, checkpoint_every=4, threads=1)
    result = train(TINY, options, TinyDataset())
    records = [json.loads(line) for line in result.log.read_text().splitlines()]
    assert [r["step"] for r in records] == [4, 8]
    for key in ("d_loss", "g_loss", "kl", "d_real", "d_wrong", "d_fake", "lr_g", "images_per_s"):
        assert all(isinstance(r[key], float) for r in records), key
    # 24 samples / batch 4 = 6 steps per epoch, lr halved every epoch
    assert records[-1]["lr_g"] == pytest.approx(TINY.lr_g / 2)
    assert (tmp_path / "losses.png").stat().st_size > 0
    assert (tmp_path / "samples_000008.png").stat().st_size > 0
    state = load_checkpoint(result.checkpoint, TINY, stage=1)
    assert state["step"] == 8


def test_stage2_trains_on_a_frozen_stage1(tmp_path):
    stage1 = train(TINY, RunOptions(out=tmp_path / "s1", steps=2, threads=1), TinyDataset())
    before = {
        k: v.clone() for k, v in load_checkpoint(stage1.checkpoint, TINY)["generator"].items()
    }
    options = RunOptions(
        stage=2, out=tmp_path / "s2", steps=3, stage1_checkpoint=stage1.checkpoint, threads=1
    )
    result = train(TINY, options, TinyDataset())
    assert result.generator.__class__.__name__ == "Stage2Generator"
    assert load_checkpoint(result.checkpoint, TINY, stage=2)["step"] == 3
    assert_identical(before, load_checkpoint(stage1.checkpoint, TINY)["generator"])
    with pytest.raises(CheckpointError, match="holds a Stage-2 run, not Stage-1"):
        load_checkpoint(result.checkpoint, TINY, stage=1)


@pytest.mark.parametrize("preset", [TINY, TINY_V2], ids=["v1", "v2"])
def test_resume_after_sigkill_is_bit_identical(tmp_path, preset):
    steps = 12
    straight = train(
        preset,
        RunOptions(
            out=tmp_path / "straight", steps=steps, checkpoint_every=2, log_every=4, threads=1
        ),
        TinyDataset(),
    )

    out = tmp_path / "killed"
    command = [sys.executable, str(TESTS / "tiny_run.py"), str(out), str(steps), "0.01"]
    command += ["--v2"] if preset.branches else []
    process = subprocess.Popen(command, env=ENV)
    deadline = time.time() + 120
    while not (out / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = torch.load(out / "checkpoint.pt", weights_only=True)["step"]
    assert 0 < killed_at < steps, "the run should have been killed part-way"

    resumed = subprocess.run([*command, "--resume"], env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert_identical(weights(straight.checkpoint), weights(out / "checkpoint.pt"))


def test_existing_run_is_not_overwritten_without_resume(tmp_path):
    train(TINY, RunOptions(out=tmp_path, steps=1, threads=1), TinyDataset())
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(CheckpointError, match="exists; pass --resume"):
        train(TINY, RunOptions(out=tmp_path, steps=2, threads=1), TinyDataset())
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_checkpoint_of_another_preset_is_refused(tmp_path):
    train(TINY, RunOptions(out=tmp_path, steps=1, threads=1), TinyDataset())
    other = TINY.replace(ngf=16)
    with pytest.raises(
        CheckpointError, match=r"differs from 'tiny' in: ngf: 8 \(checkpoint\) vs 16"
    ):
        train(other, RunOptions(out=tmp_path, steps=2, resume=True, threads=1), TinyDataset())
    # a field added after the checkpoint was written counts as its default (0.0 here)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del state["preset"]["contrast_share"]
    torch.save(state, tmp_path / "checkpoint.pt")
    with pytest.raises(CheckpointError, match=r"contrast_share: 0.0 \(checkpoint\) vs 0.5"):
        load_checkpoint(tmp_path / "checkpoint.pt", TINY)
    assert load_checkpoint(tmp_path / "checkpoint.pt", TINY.replace(contrast_share=0.0))
    # Stage-II's own sizes do not concern a Stage-I checkpoint (Stage-II loads it frozen)
    stage2_only = TINY.replace(
        contrast_share=0.0,
        stage2_encoder_halvings=2,
        residual_blocks=3,
        stage2_projection_head=True,
        stage2_matching_coef=1.0,
    )
    assert load_checkpoint(tmp_path / "checkpoint.pt", stage2_only, stage=1)["stage"] == 1


def test_non_finite_loss_stops_the_run_naming_step_and_term_and_keeps_the_checkpoint(tmp_path):
    # 6 steps per epoch; the embeddings turn NaN in epoch 1, i.e. at step 6
    options = RunOptions(out=tmp_path, steps=12, checkpoint_every=1, threads=1)
    with pytest.raises(NonFiniteLossError, match=r"step 6: the discriminator loss is nan") as error:
        train(TINY, options, TinyDataset(nan_epoch=1))
    assert "the last good checkpoint" in str(error.value) and "--resume" in str(error.value)
    state = load_checkpoint(tmp_path / "checkpoint.pt", TINY)
    assert state["step"] == 6
    assert all(
        torch.isfinite(v).all() for v in state["generator"].values() if v.is_floating_point()
    )


@pytest.mark.slow
@pytest.mark.parametrize("preset", [TINY, TINY_V2], ids=["v1", "v2"])
def test_ddp_two_processes_on_cpu_end_with_identical_weights(tmp_path, preset):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        "29533",
        str(TESTS / "tiny_run.py"),
        str(tmp_path),
        "4",
        "0",
        *(["--v2"] if preset.branches else []),
    ]
    result = subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    rank0 = torch.load(tmp_path / "generator_rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "generator_rank1.pt", weights_only=True)
    assert_identical(rank0, rank1)
    assert load_checkpoint(tmp_path / "checkpoint.pt", preset)["step"] == 4


def test_time_limit_stops_early_with_a_final_checkpoint(tmp_path):
    options = RunOptions(out=tmp_path, steps=1000, time_limit=0.0, log_every=500, threads=1)
    result = train(TINY, options, TinyDataset())
    assert load_checkpoint(result.checkpoint, TINY)["step"] == 1
    assert [json.loads(x)["step"] for x in result.log.read_text().splitlines()] == [1]


def test_ema_warm_up_forgets_the_initialisation_then_settles_at_the_preset_decay():
    update = _ema_with_warmup(0.999)
    average = [torch.zeros(2, dtype=torch.float64)]
    left = 1.0  # the share of the initial value still in the average
    for t in range(1, 301):
        update(average, [torch.ones(2, dtype=torch.float64)], torch.tensor(t))
        left *= min(0.999, (1 + t) / (10 + t))
    assert torch.allclose(average[0], torch.full((2,), 1 - left, dtype=torch.float64))
    assert left < 1e-6  # a constant 0.999 would still hold 0.999**300 = 74 %
    update(average, [torch.zeros(2, dtype=torch.float64)], torch.tensor(10_000))
    assert torch.allclose(average[0], torch.full((2,), 0.999 * (1 - left), dtype=torch.float64))


def test_contrast_captions_asked_of_a_dataset_without_them_is_a_clear_error(tmp_path):
    class WithoutContrast(TinyDataset):
        def __getitem__(self, i):
            return super().__getitem__(i)._replace(contrast=torch.empty(0))

    with pytest.raises(ValueError, match=r"contrast_share=0.5, but the dataset gives no contrast"):
        train(TINY, RunOptions(out=tmp_path, steps=1, threads=1), WithoutContrast())
    assert not (tmp_path / "checkpoint.pt").exists()
    train(TINY.replace(contrast_share=0.0), RunOptions(out=tmp_path, steps=1), WithoutContrast())


@pytest.mark.parametrize(
    ("preset", "stage", "stage2"), [(TINY, 1, False), (TINY, 2, True), (TINY_V2, 1, True)]
)
def test_the_default_dataset_is_the_one_for_the_stage(monkeypatch, tmp_path, preset, stage, stage2):
    """Stage-II and the tree read the preset's Stage-II contrast captions; Stage-I does not."""
    asked = []

    class Built(Exception):
        pass

    def spy(preset, split, **kwargs):
        asked.append((split, kwargs))
        raise Built

    monkeypatch.setattr(data, "build_dataset", spy)
    with pytest.raises(Built):
        train(preset, RunOptions(stage=stage, out=tmp_path, steps=1, threads=1))
    assert asked == [("train", {"stage2": stage2})]


def _logvar_rows(generator: torch.nn.Module) -> torch.Tensor:
    """The half of CA's Linear layer that predicts log sigma² (rows c..2c of its weight)."""
    return generator.ca.fc.weight[generator.preset.condition_dim :].detach().clone()


@pytest.mark.parametrize("with_ca", [True, False])
def test_without_ca_the_generator_loss_has_no_kl_term(tmp_path, with_ca):
    """Paper §5.2 "without CA": c_hat = mu, so log sigma² reaches the loss only through the KL
    term; with that term gone its weights get no gradient and Adam leaves them as they were."""
    preset = TINY.replace(conditioning_augmentation=with_ca)
    torch.manual_seed(0)  # the run seeds with 0 too, then builds G first: the same init
    ca_weights = _logvar_rows(Stage1Generator(preset))
    options = RunOptions(out=tmp_path, steps=3, threads=1, log_every=1)
    result = train(preset, options, TinyDataset())
    kl = [json.loads(x)["kl"] for x in result.log.read_text().splitlines()]
    state = load_checkpoint(result.checkpoint, preset)
    trained = Stage1Generator(preset)
    trained.load_state_dict(state["generator"])
    if with_ca:
        assert all(k > 0 for k in kl)
        assert not torch.equal(_logvar_rows(trained), ca_weights)
    else:
        assert kl == [0.0, 0.0, 0.0]
        assert torch.equal(_logvar_rows(trained), ca_weights)


def test_a_checkpoint_predating_the_ca_field_was_trained_with_ca(tmp_path):
    train(TINY, RunOptions(out=tmp_path, steps=1, threads=1), TinyDataset())
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    del state["preset"]["conditioning_augmentation"]
    torch.save(state, tmp_path / "checkpoint.pt")
    assert load_checkpoint(tmp_path / "checkpoint.pt", TINY)["step"] == 1
    with pytest.raises(
        CheckpointError, match=r"conditioning_augmentation: True \(checkpoint\) vs False"
    ):
        load_checkpoint(tmp_path / "checkpoint.pt", TINY.replace(conditioning_augmentation=False))


def test_a_preset_read_back_from_json_matches_its_own(tmp_path):
    """Tuples of tuples (`text_hard_weights`) come back from JSON as lists of lists."""
    weighted = TINY.replace(text_hard_weights=(("pattern", 5.0), ("shape", 1.0)))
    train(weighted, RunOptions(out=tmp_path, steps=1, threads=1), TinyDataset())
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    state["preset"] = json.loads(json.dumps(state["preset"]))
    assert state["preset"]["text_hard_weights"] == [["pattern", 5.0], ["shape", 1.0]]
    torch.save(state, tmp_path / "checkpoint.pt")
    assert load_checkpoint(tmp_path / "checkpoint.pt", weighted)["step"] == 1
    with pytest.raises(CheckpointError, match=r"text_hard_weights: \[\['pattern', 5.0\]"):
        load_checkpoint(tmp_path / "checkpoint.pt", TINY)


def _frozen_matcher(text_dim: int) -> JointEmbedding:
    return JointEmbedding(Tokenizer(["a", "red", "circle"]), text_dim).eval().requires_grad_(False)


def test_matching_term_is_the_joint_embeddings_info_nce_and_trains_only_the_images():
    torch.manual_seed(0)
    matcher = _frozen_matcher(16)
    fake = torch.rand(4, 3, 64, 64, requires_grad=True)
    phi_t, contrast = torch.randn(4, 16), torch.randn(4, 16)
    term = _matching_term(matcher, fake, phi_t, contrast)
    expected = info_nce(matcher.image(fake), phi_t, matcher.logit_scale, contrast)
    assert torch.equal(term, expected)
    assert term > 0
    term.backward()
    assert fake.grad.abs().sum() > 0
    assert all(p.grad is None for p in matcher.parameters())
    assert _matching_term(None, fake, phi_t, contrast).item() == 0.0


def test_matching_coefficient_changes_the_generator_update_and_not_the_discriminator_s():
    torch.manual_seed(0)
    stage1 = Stage1Generator(TINY).eval().requires_grad_(False)
    plain = build_models(TINY, 2, torch.device("cpu"), 6, stage1)
    matched = build_models(TINY, 2, torch.device("cpu"), 6, stage1)
    matched.generator.load_state_dict(plain.generator.state_dict())
    matched.discriminator.load_state_dict(plain.discriminator.state_dict())
    matched.matcher = _frozen_matcher(TINY.text_dim)
    matcher_before = {k: v.clone() for k, v in matched.matcher.state_dict().items()}
    real, phi_t, contrast = torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(4, 16), torch.randn(4, 16)
    logged = []
    for models, preset in ((plain, TINY), (matched, TINY.replace(stage2_matching_coef=1.0))):
        torch.manual_seed(1)  # the same z and the same wrong captions for both
        logged.append(train_step(models, real, phi_t, None, preset, contrast=contrast))
    assert "matching" not in logged[0] and logged[1]["matching"] > 0
    assert logged[0]["d_loss"] == logged[1]["d_loss"]
    assert_identical(plain.discriminator.state_dict(), matched.discriminator.state_dict())
    with pytest.raises(AssertionError, match="differ"):
        assert_identical(plain.generator.state_dict(), matched.generator.state_dict())
    assert_identical(matcher_before, matched.matcher.state_dict())


def test_contrast_coefficient_asks_d_to_reject_g_s_image_under_the_contrast_caption():
    """The G term −log(1 − D(fake, t')) changes G's update, not D's, and is logged in g_loss;
    without contrast captions (contrast_share = 0) there is no t', and no term."""
    torch.manual_seed(0)
    stage1 = Stage1Generator(TINY).eval().requires_grad_(False)
    off, on = TINY.replace(stage2_contrast_coef=0.0), TINY.replace(stage2_contrast_coef=1.0)
    start = build_models(off, 2, torch.device("cpu"), 6, stage1)
    real, phi_t, contrast = torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(4, 16), torch.randn(4, 16)
    for captions in (contrast, None):
        runs, logged = [], []
        for preset in (off, on):
            models = build_models(preset, 2, torch.device("cpu"), 6, stage1)
            models.generator.load_state_dict(start.generator.state_dict())
            models.discriminator.load_state_dict(start.discriminator.state_dict())
            torch.manual_seed(1)  # the same z and the same wrong captions for both
            logged.append(train_step(models, real, phi_t, None, preset, contrast=captions))
            runs.append(models)
        assert logged[0]["d_loss"] == logged[1]["d_loss"]
        assert_identical(runs[0].discriminator.state_dict(), runs[1].discriminator.state_dict())
        if captions is None:
            assert logged[0]["g_loss"] == logged[1]["g_loss"]
            assert_identical(runs[0].generator.state_dict(), runs[1].generator.state_dict())
            continue
        assert logged[1]["g_loss"] > logged[0]["g_loss"]  # plus a BCE term, always > 0
        with pytest.raises(AssertionError, match="differ"):
            assert_identical(runs[0].generator.state_dict(), runs[1].generator.state_dict())


def test_aux_weights_train_d_s_classifier_and_ask_g_for_the_caption_s_attributes():
    """The auxiliary classifier's weighted loss on real images joins D's update and, on G's
    images under their captions' labels, G's; the adversarial losses themselves are unchanged.
    Each stage reads its own weights."""
    torch.manual_seed(0)
    stage1 = Stage1Generator(TINY).eval().requires_grad_(False)
    every = tuple((name, 1.0) for name in ATTRIBUTES)
    no_pattern = (*every[:-1], ("pattern", 0.0))
    on = TINY.replace(stage1_aux_weights=every, stage2_aux_weights=no_pattern)
    off = on.replace(stage2_aux_weights=())
    start = build_models(on, 2, torch.device("cpu"), 6, stage1)
    real, phi_t = torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(4, 16)
    labels = torch.stack([torch.randint(n, (4,)) for n in ATTRIBUTE_SIZES], dim=1)
    attributes = start.discriminator(real, phi_t).attributes
    expected_aux_d = attribute_loss(attributes, labels, ATTRIBUTE_SIZES, [1.0] * 5 + [0.0])
    runs, logged = [], []
    for preset in (off, on):
        models = build_models(preset, 2, torch.device("cpu"), 6, stage1)
        models.generator.load_state_dict(start.generator.state_dict())
        models.discriminator.load_state_dict(start.discriminator.state_dict(), strict=False)
        torch.manual_seed(1)  # the same z and the same wrong captions for both
        logged.append(train_step(models, real, phi_t, labels, preset))
        runs.append(models)
    assert "aux_d" not in logged[0]
    assert logged[1]["aux_d"] == pytest.approx(expected_aux_d.item(), rel=1e-5)
    assert logged[1]["aux_g"] > 0
    assert logged[0]["d_loss"] == logged[1]["d_loss"]
    d_off, d_on = runs[0].discriminator.state_dict(), runs[1].discriminator.state_dict()
    assert any(not torch.equal(d_off[k], d_on[k]) for k in d_off)  # the shared layers moved
    with pytest.raises(AssertionError, match="differ"):
        assert_identical(runs[0].generator.state_dict(), runs[1].generator.state_dict())
    with pytest.raises(ValueError, match=r"attribute labels \[batch, 6\].*got \[4\]"):
        train_step(runs[1], real, phi_t, labels[:, 0], on)
    # Stage-I reads stage1_aux_weights, whatever Stage-II's are
    real1 = torch.rand(4, 3, 16, 16) * 2 - 1
    for preset, has_term in ((off, True), (on.replace(stage1_aux_weights=()), False)):
        stage1_models = build_models(preset, 1, torch.device("cpu"), 6, None)
        assert ("aux_d" in train_step(stage1_models, real1, phi_t, labels, preset)) is has_term


def test_the_spectral_term_asks_g_for_the_caption_s_pattern_and_leaves_d_alone(tmp_path):
    """G's loss gains the fixed judge's cross-entropy under the captions' patterns; D's update is
    the same with or without it, and a run whose samples lack the labels stops before training."""
    torch.manual_seed(0)
    shapes = ShapesDataset(presets.get("lite"), "train", size=200, with_embedding=False)
    judge = fit_pattern_judge(shapes, torch.device("cpu"))
    stage1 = Stage1Generator(TINY).eval().requires_grad_(False)
    on = TINY.replace(stage2_spectral_coef=1.0)
    start = build_models(on, 2, torch.device("cpu"), 6, stage1)
    real, phi_t = shapes.images2[:4].float() / 127.5 - 1, torch.randn(4, 16)
    labels = shapes.labels[:4]
    runs, logged = [], []
    for preset in (TINY, on):
        models = build_models(preset, 2, torch.device("cpu"), 6, stage1)
        models.generator.load_state_dict(start.generator.state_dict())
        models.discriminator.load_state_dict(start.discriminator.state_dict())
        if preset is on:
            models.judge = judge
        torch.manual_seed(1)
        logged.append(train_step(models, real, phi_t, labels, preset))
        runs.append(models)
    torch.manual_seed(1)
    z = torch.randn(4, TINY.z_dim)
    fake = start.generator(stage1(phi_t, z).image, phi_t).image
    expected = spectral_pattern_loss(judge, fake, labels[:, list(ATTRIBUTES).index("pattern")])
    assert "spectral" not in logged[0]
    assert logged[1]["spectral"] == pytest.approx(expected.item(), rel=1e-4)
    assert logged[0]["d_loss"] == logged[1]["d_loss"]
    assert_identical(runs[0].discriminator.state_dict(), runs[1].discriminator.state_dict())
    with pytest.raises(AssertionError, match="differ"):
        assert_identical(runs[0].generator.state_dict(), runs[1].generator.state_dict())
    with pytest.raises(ValueError, match=r"spectral term needs .*labels \[batch, 6\].*got \[4\]"):
        train_step(runs[1], real, phi_t, labels[:, 0], on)
    with pytest.raises(ValueError, match=r"got \[24, 1\].*stage2_spectral_coef \(0\) off"):
        s1 = write_generator_checkpoint(tmp_path / "s1.pt", on, stage1)
        options = RunOptions(out=tmp_path / "s2", stage=2, steps=1, threads=1, stage1_checkpoint=s1)
        train(on, options, TinyDataset())
    assert not (tmp_path / "s2").exists()


def test_a_stage2_run_with_matching_reads_images_with_the_shipped_joint_embedding_frozen():
    lite = presets.get("lite").replace(stage2_matching_coef=1.0)
    cpu = torch.device("cpu")
    matcher = build_models(lite, 2, cpu, 10, None).matcher
    assert isinstance(matcher, JointEmbedding) and not matcher.training
    assert not any(p.requires_grad for p in matcher.parameters())
    assert matcher.image.side == lite.stage2_side
    assert build_models(lite, 1, cpu, 10, None).matcher is None
    assert build_models(lite.replace(stage2_matching_coef=0.0), 2, cpu, 10, None).matcher is None


def test_bf16_is_only_the_default_where_the_gpu_has_it(monkeypatch):
    assert not runtime.fast_bf16(torch.device("cpu"))
    for capability, expected in (((7, 5), False), ((8, 0), True), ((9, 0), True)):  # T4, A100, H100
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device, c=capability: c)
        assert runtime.fast_bf16(torch.device("cuda")) is expected


def test_cpu_threads_follow_omp_num_threads_else_share_the_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert runtime.cpu_threads() == 3
    assert runtime.cpu_threads(processes=2) == 3  # asked per process
    for unusable in ("", "0", "four"):
        monkeypatch.setenv("OMP_NUM_THREADS", unusable)
        assert runtime.cpu_threads(processes=2) == 4
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert runtime.cpu_threads() == 8
    assert runtime.cpu_threads(processes=16) == 1
