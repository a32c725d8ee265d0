import math

import numpy as np
import pytest
import torch
from scipy.special import softmax
from scipy.stats import ortho_group
from torch import nn

from stackgan_lite.data.shapes import ATTRIBUTES, NUM_CLASSES, ShapesDataset, class_index
from stackgan_lite.metrics import (
    ClassifierOutput,
    InceptionClassifier,
    Score,
    caption_consistency,
    classify,
    confusion_matrix,
    eval_mode,
    evaluate_generator,
    feature_statistics,
    fid,
    finetune_inception,
    frechet_distance,
    inception_score,
    load_classifier,
    load_inception,
    resize,
    sample_images,
    shapes_accuracy,
    train_classifier,
)
from stackgan_lite.metrics.shapes_classifier import WEIGHTS


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    return np.eye(k)[labels]


# --- Inception Score ------------------------------------------------------------------------


def test_is_of_confident_predictions_spread_evenly_over_k_classes_is_k():
    probs = one_hot(np.arange(700) % 7, 7)  # every split of 70 rows holds 10 of each class
    mean, std = inception_score(probs, splits=10)
    assert mean == pytest.approx(7.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_is_of_identical_rows_is_one():
    probs = np.tile([0.1, 0.2, 0.7], (50, 1))
    assert inception_score(probs, splits=5) == pytest.approx((1.0, 0.0), abs=1e-12)


def test_class_sorted_rows_score_one_and_a_shuffle_fixes_it():
    sorted_labels = np.repeat(np.arange(10), 100)  # split k holds only class k
    probs = one_hot(sorted_labels, 10)
    assert inception_score(probs, splits=10)[0] == pytest.approx(1.0, abs=1e-12)
    shuffled, _ = inception_score(probs, splits=10, shuffle_seed=0)
    assert shuffled > 8.0
    assert inception_score(probs, splits=10, shuffle_seed=0)[0] == shuffled  # seeded


@pytest.mark.parametrize("seed", range(5))
def test_is_lies_between_one_and_k_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 30))
    logits = rng.normal(scale=rng.uniform(0.1, 10), size=(int(rng.integers(10, 300)), k))
    mean, std = inception_score(logits=logits, splits=int(rng.integers(1, 10)))
    assert 1.0 - 1e-12 <= mean <= k + 1e-12
    assert std >= 0.0


def test_logits_path_equals_softmax_then_probs_and_accepts_torch():
    logits = np.random.default_rng(0).normal(scale=3, size=(200, 12))
    expected = inception_score(softmax(logits, axis=1), splits=4)
    assert inception_score(logits=logits, splits=4) == pytest.approx(expected, abs=1e-12)
    as_torch = inception_score(logits=torch.from_numpy(logits).float(), splits=4)
    assert as_torch == pytest.approx(expected, rel=1e-5)


def test_splits_are_contiguous_floor_ranges():
    # N = 10, S = 3 → rows [0, 3), [3, 6), [6, 10): the first two splits hold one class each
    probs = one_hot(np.array([0, 0, 0, 1, 1, 1, 0, 1, 0, 1]), 2)
    mean, std = inception_score(probs, splits=3)
    assert mean == pytest.approx((1 + 1 + 2) / 3, abs=1e-12)
    assert std == pytest.approx(np.std([1, 1, 2]), abs=1e-12)  # ddof = 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"probs": np.full((20, 4), 0.3)}, "sum to 1.*logits="),
        ({"probs": np.tile([1.5, -0.5], (20, 1))}, "negative.*logits="),
        ({"logits": np.array([[0.0, np.nan]] * 20)}, "NaN or inf"),
        ({"probs": np.array([[0.5, np.inf]] * 20)}, "NaN or inf"),
        ({"logits": np.zeros((5, 3))}, "splits ≤ N"),
        ({"probs": np.full((20, 2), 0.5), "logits": np.zeros((20, 2))}, "exactly one"),
        ({}, "exactly one"),
        ({"logits": np.zeros(20)}, "2-D"),
    ],
)
def test_is_rejects_bad_input_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        inception_score(**kwargs, splits=10)


class Passthrough(nn.Module):
    """A 'feature extractor' that returns its input: torchmetrics then scores given features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_is_agrees_with_torchmetrics_to_1e_9():
    from torchmetrics.image.inception import InceptionScore

    n, k, splits = 1000, 20, 10
    logits = torch.randn(n, k, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 4
    metric = InceptionScore(feature=Passthrough(k), splits=splits)
    metric.update(logits)
    torch.manual_seed(123)
    theirs_mean, theirs_std = metric.compute()
    # torchmetrics shuffles with torch.randperm, splits with torch.chunk (equal to our
    # contiguous splits when S divides N) and uses ddof = 1
    torch.manual_seed(123)
    permutation = torch.randperm(n)
    mean, std = inception_score(logits=logits[permutation], splits=splits)
    assert mean == pytest.approx(theirs_mean.item(), abs=1e-9)
    assert std * math.sqrt(splits / (splits - 1)) == pytest.approx(theirs_std.item(), abs=1e-9)


# --- FID --------------------------------------------------------------------------------------


def test_fid_of_a_set_with_itself_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 16)) @ np.diag(np.arange(1, 17))
    assert fid(features, features) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances():
    # Σ₁ = R diag(a) Rᵀ, Σ₂ = R diag(b) Rᵀ → d² = ‖Δμ‖² + Σ (√a − √b)²
    rng = np.random.default_rng(1)
    d = 8
    rotation = ortho_group.rvs(d, random_state=2)
    a, b = rng.uniform(0.1, 4, d), rng.uniform(0.1, 4, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    for r in (np.eye(d), rotation):
        sigma1, sigma2 = r @ np.diag(a) @ r.T, r @ np.diag(b) @ r.T
        assert frechet_distance(mu1, sigma1, mu2, sigma2) == pytest.approx(expected, rel=1e-9)
        assert frechet_distance(mu2, sigma2, mu1, sigma1) == pytest.approx(expected, rel=1e-9)


def test_fid_of_samples_approaches_the_closed_form():
    rng = np.random.default_rng(3)
    mu1, mu2, s1, s2 = np.array([0.0, 1, 2]), np.array([1.0, 1, 0]), np.array([1.0, 2, 0.5]), 1.5
    x1 = mu1 + s1 * rng.normal(size=(200_000, 3))
    x2 = mu2 + s2 * rng.normal(size=(200_000, 3))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((s1 - s2) ** 2)  # 5 + 0.5
    assert fid(x1, x2) == pytest.approx(expected, rel=0.01)


def test_fid_survives_singular_covariances_and_rejects_invalid_ones():
    rng = np.random.default_rng(4)
    few = rng.normal(size=(10, 32))  # N < d: rank-deficient covariances
    assert np.isfinite(fid(few, rng.normal(size=(10, 32))))
    not_a_covariance = np.diag([1.0, -1.0])
    with pytest.raises(ValueError, match="imaginary"):
        frechet_distance(np.zeros(2), not_a_covariance, np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="at least 2"):
        fid(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="same feature extractor"):
        fid(np.zeros((5, 3)), np.zeros((5, 4)))


def test_feature_statistics_use_ddof_1():
    x = np.random.default_rng(5).normal(size=(20, 3))
    mu, sigma = feature_statistics(torch.from_numpy(x))
    np.testing.assert_allclose(mu, x.mean(0))
    np.testing.assert_allclose(sigma, (x - x.mean(0)).T @ (x - x.mean(0)) / 19)


def test_fid_agrees_with_torchmetrics():
    from torchmetrics.image.fid import FrechetInceptionDistance

    rng = np.random.default_rng(6)
    d = 24
    real = rng.normal(size=(600, d)) @ rng.normal(size=(d, d))
    fake = 0.5 + rng.normal(size=(400, d)) @ rng.normal(size=(d, d))
    metric = FrechetInceptionDistance(feature=Passthrough(d))
    metric.update(torch.from_numpy(real), real=True)
    metric.update(torch.from_numpy(fake), real=False)
    assert fid(real, fake) == pytest.approx(metric.compute().item(), rel=1e-8)


# --- caption consistency ----------------------------------------------------------------------


def test_caption_consistency_per_attribute_and_all():
    true = torch.tensor([[0, 1], [1, 1], [2, 0], [0, 0]])
    pred = torch.tensor([[0, 1], [1, 0], [2, 0], [1, 1]])
    shares = caption_consistency(pred, true, names=["shape", "colour"])
    assert shares == {"shape": 0.75, "colour": 0.5, "all": 0.5}
    with pytest.raises(ValueError, match="same shape"):
        caption_consistency(pred[:, :1], true)


def test_confusion_matrix_rows_are_the_caption_and_agree_with_consistency():
    true = torch.tensor([0, 0, 0, 1, 2, 2, 3])
    pred = torch.tensor([0, 1, 1, 1, 0, 2, 3])
    counts = confusion_matrix(pred, true, k=4)
    assert counts.tolist() == [[1, 2, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 1]]
    assert counts.sum(axis=1).tolist() == [3, 1, 2, 1]  # images per caption value
    share = caption_consistency(pred[:, None], true[:, None], names=["a"])["a"]
    assert counts.trace() / counts.sum() == pytest.approx(share)
    assert confusion_matrix(np.array([], dtype=int), np.array([], dtype=int), 3).sum() == 0
    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix(pred[:3], true, k=4)
    with pytest.raises(ValueError, match=r"0 … 2 for an attribute with 3 values"):
        confusion_matrix(pred, true, k=3)


# --- running classifiers and generators -------------------------------------------------------

K = 4
LEVELS = torch.linspace(-0.75, 0.75, K)  # class k is drawn as a flat image of grey LEVELS[k]


class GreyLevelClassifier(nn.Module):
    """Recognises the grey level of a flat image; has BatchNorm to catch train-mode scoring."""

    score_name = "toy score"
    attribute_names = ("level",)

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(1)  # identity in eval mode (running mean 0, var 1)

    def forward(self, images):
        grey = self.norm(images.mean(dim=(1, 2, 3))[:, None])
        logits = -200.0 * (grey - LEVELS) ** 2
        return ClassifierOutput(logits, grey, logits.argmax(1, keepdim=True))


class GreyLevelGenerator(nn.Module):
    """The class comes from a one-hot 'embedding'; z and CA-like internal noise add texture."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = []

    def forward(self, embeddings, z):
        self.calls.append((self.training, torch.is_grad_enabled()))
        level = LEVELS[embeddings.argmax(1)]
        noise = 0.01 * z[:, :1, None, None] + 0.01 * torch.randn(len(z), 1, 1, 1)
        return (level[:, None, None, None] + noise).expand(-1, 3, 8, 8)


def test_eval_mode_restores_each_submodule():
    net = nn.Sequential(nn.BatchNorm1d(2), nn.BatchNorm1d(2)).train()
    net[1].eval()  # a deliberately frozen part
    with eval_mode(net):
        assert not any(m.training for m in net.modules())
    assert net.training and net[0].training and not net[1].training


def test_eval_mode_skips_none_and_is_the_one_viz_uses():
    from stackgan_lite import runtime, viz

    net = nn.BatchNorm1d(2).train()
    with eval_mode(None, net, None):
        assert not net.training
    assert net.training
    assert viz.eval_mode is eval_mode is runtime.eval_mode


def test_classify_runs_in_eval_mode_and_restores_train_mode():
    classifier = GreyLevelClassifier().train()
    images = LEVELS[torch.arange(40) % K][:, None, None, None].expand(-1, 3, 8, 8)
    out = classify(classifier, images, batch_size=16)
    assert classifier.training
    # in train mode BatchNorm would standardise each batch and scramble the levels
    assert torch.equal(out.attributes[:, 0], torch.arange(40) % K)
    assert out.logits.shape == (40, K)


def test_evaluate_generator_is_seeded_and_scores_a_perfect_generator_k():
    generator, classifier = GreyLevelGenerator().train(), GreyLevelClassifier().train()
    classes = torch.arange(200) % K
    embeddings = torch.eye(K)[classes]
    torch.manual_seed(0)
    expected_next = torch.rand(3)
    torch.manual_seed(0)
    result = evaluate_generator(
        generator,
        embeddings,
        classifier,
        z_dim=5,
        splits=1,  # one split holds every class equally often: IS = K exactly
        seed=1,
        batch_size=64,
        labels=classes[:, None],
    )
    assert torch.equal(torch.rand(3), expected_next)  # the caller's RNG stream is untouched
    assert result.score.mean == pytest.approx(K, rel=1e-6)
    assert (result.score.n, result.score.splits, result.score.seed) == (200, 1, 1)
    assert result.consistency == {"level": 1.0, "all": 1.0}
    assert result.fid is None
    assert generator.calls == [(False, False)] * 4  # eval mode, no grad, 4 batches
    assert generator.training and classifier.training  # modes given back
    again = evaluate_generator(
        generator, embeddings, classifier, z_dim=5, splits=1, seed=1, batch_size=64
    )
    assert again.score == result.score
    assert str(result.score) == "toy score 4.000 ± 0.000 (N=200, splits=1, seed=1)"


def test_sample_images_gives_the_images_that_are_scored():
    generator = GreyLevelGenerator()
    embeddings = torch.eye(K)[torch.arange(30) % K]
    a = sample_images(generator, embeddings, z_dim=5, seed=3, batch_size=8)
    b = sample_images(lambda e, z: generator(e, z), embeddings, z_dim=5, seed=3, batch_size=8)
    assert a.shape == (30, 3, 8, 8) and torch.equal(a, b)
    assert not torch.equal(a, sample_images(generator, embeddings, z_dim=5, seed=4, batch_size=8))
    classifier = GreyLevelClassifier()
    real = feature_statistics(classify(classifier, a).features)
    result = evaluate_generator(
        generator, embeddings, classifier, z_dim=5, seed=3, batch_size=8, real_statistics=real
    )
    assert result.fid == pytest.approx(0.0, abs=1e-9)
    assert result.score == Score.of_logits(
        classify(classifier, a).logits, name="toy score", splits=10, seed=3
    )


def test_classifier_inputs_must_be_float_images_in_minus_one_one():
    for images in (torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.full((2, 3, 8, 8), 255.0)):
        with pytest.raises(ValueError, match=r"x / 127\.5 - 1"):
            resize(images, 16)
    assert resize(torch.ones(2, 3, 8, 8), 16).shape == (2, 3, 16, 16)


def test_generate_must_return_rgb_batches():
    with pytest.raises(ValueError, match=r"\[B, 3, s, s\]"):
        sample_images(lambda e, z: torch.zeros(len(e), 8, 8), torch.zeros(4, 2), z_dim=2)


# --- the paper's protocol: Inception-v3 on the user's weights ---------------------------------


@pytest.fixture(scope="module")
def inception_file(tmp_path_factory):
    """A torchvision inception_v3 state dict with random weights and 5 classes."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("inception") / "inception_5.pt"
    torch.save(InceptionClassifier(num_classes=5).net.state_dict(), path)
    return path


def test_inception_classifier_path_on_random_weights(inception_file):
    classifier = load_inception(inception_file, num_classes=5)
    assert not classifier.training and classifier.score_name == "Inception Score"
    seen = []
    classifier.net.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = classify(classifier, images)
    assert seen == [(2, 3, 299, 299)]  # bilinear resize to the paper's 299 × 299
    assert out.logits.shape == (2, 5) and out.features.shape == (2, 2048)  # pool features
    torch.testing.assert_close(out.logits, classifier.net.fc(out.features))


def test_load_inception_explains_missing_and_incompatible_files(inception_file, tmp_path):
    with pytest.raises(ValueError, match="num_classes=5"):
        load_inception(inception_file, num_classes=200)
    with pytest.raises(FileNotFoundError, match="finetune_inception"):
        load_inception(tmp_path / "missing.pt", num_classes=5)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a torch"):
        load_inception(tmp_path / "junk.pt", num_classes=5)
    torch.save({"fc.weight": torch.zeros(5, 2048)}, tmp_path / "partial.pt")
    with pytest.raises(ValueError, match="not a torchvision inception_v3"):
        load_inception(tmp_path / "partial.pt", num_classes=5)


@pytest.mark.slow
def test_finetune_inception_writes_weights_that_load(inception_file, tmp_path):
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    path = tmp_path / "finetuned.pt"
    report = finetune_inception(
        list(zip(images, [0, 3], strict=True)),
        num_classes=5,
        epochs=1,
        out_path=path,
        init_path=inception_file,
        batch_size=2,
    )
    assert set(report) == {"train_loss", "train_accuracy"} and math.isfinite(report["train_loss"])
    assert not (tmp_path / "finetuned.pt.tmp").exists()
    before = load_inception(inception_file, num_classes=5).net.fc.weight
    after = load_inception(path, num_classes=5).net.fc.weight
    assert not torch.equal(before, after)  # one Adam step moved the weights


# --- the shapes classifier (shipped weights) ----------------------------------------------------


@pytest.fixture(scope="module")
def shapes_classifier():
    return load_classifier("lite")


@pytest.fixture(scope="module")
def held_out_images():
    # seed 1: images the classifier never saw (it trained on "all", reported on seed-0 "test")
    return ShapesDataset("lite", "test", size=400, seed=1, with_embedding=False)


def test_shipped_classifier_is_small_and_loads_weights_only():
    assert WEIGHTS.stat().st_size < 2_000_000
    saved = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert saved["attributes"] == {k: list(v) for k, v in ATTRIBUTES.items()}


def test_shipped_classifier_is_accurate_on_held_out_images(shapes_classifier, held_out_images):
    accuracy, score = shapes_accuracy(shapes_classifier, held_out_images, side=64)
    assert min(accuracy.values()) >= 0.98, accuracy
    # the real-image ceiling is what a perfect, certain classifier scores on the same images
    # (below K = 24 because 40 images per split never hold the 24 classes equally often)
    classes = class_index(held_out_images.labels).numpy()
    perfect, _ = inception_score(one_hot(classes, NUM_CLASSES), splits=10, shuffle_seed=0)
    assert perfect * 0.97 < score.mean <= perfect < NUM_CLASSES
    assert score.name == "classifier score"


def test_shipped_classifier_reads_upsampled_stage1_images(shapes_classifier, held_out_images):
    accuracy, score = shapes_accuracy(shapes_classifier, held_out_images, side=16)
    coarse = ("shape", "colour", "size", "position", "background")
    assert min(accuracy[a] for a in coarse) >= 0.9, accuracy
    # the 4-px pattern averages out at 16 px: the classifier must not claim to see it
    assert accuracy["pattern"] < 0.6
    with torch.no_grad():
        _, log_probs = shapes_classifier.attribute_log_probs(held_out_images.images1 / 127.5 - 1)
    pattern = list(ATTRIBUTES).index("pattern")
    assert log_probs[pattern].exp().max(dim=1).values.mean() < 0.5  # near uniform (0.25)
    assert score.mean <= shapes_accuracy(shapes_classifier, held_out_images, side=64)[1].mean


def test_classifier_score_class_is_the_product_of_shape_and_colour_heads(
    shapes_classifier, held_out_images
):
    images = held_out_images.images2[:16].float() / 127.5 - 1
    out = classify(shapes_classifier, images)
    assert out.logits.shape == (16, NUM_CLASSES) and out.features.shape == (16, 128)
    # log p(s, c | x) = log p(s | x) + log p(c | x) is a normalised distribution over the pairs
    torch.testing.assert_close(out.logits.logsumexp(dim=1), torch.zeros(16))
    assert torch.equal(out.logits.argmax(dim=1), class_index(out.attributes))


def test_load_classifier_errors_say_what_to_do(tmp_path):
    with pytest.raises(ValueError, match="load_inception"):
        load_classifier("cub")
    with pytest.raises(FileNotFoundError, match="train-classifier"):
        load_classifier("lite", tmp_path / "missing.pt")
    torch.save({"state_dict": {}, "attributes": {"shape": ["blob"]}}, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="different dataset attributes"):
        load_classifier("lite", tmp_path / "old.pt")


def test_train_classifier_writes_loadable_weights_and_reports(tmp_path):
    path = tmp_path / "classifier.pt"
    report = train_classifier("lite", steps=2, seed=0, out_path=path, train_size=64, test_size=40)
    assert set(report["test_accuracy_64px"]) == {*ATTRIBUTES, "all"}
    assert report["real_score_16px"]["n"] == 40 and report["score_max"] == NUM_CLASSES
    assert not load_classifier("lite", path).training
