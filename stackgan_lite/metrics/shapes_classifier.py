"""The classifier behind the embedded dataset's "classifier score", FID and caption consistency.

ImageNet's Inception-v3 cannot be downloaded here, and would not know our shapes anyway, so a
small CNN trained on the dataset's attribute labels stands in for it. Its Inception Score is
called the classifier score: its maximum is K = NUM_CLASSES = 24 (shape × colour pairs), its
realistic ceiling is the score of held-out real images, and it is never comparable with a
published Inception Score.

One softmax head per attribute. The score's class is the (shape, colour) pair, and its
distribution is the product of the two heads,

    log p(shape = s, colour = c | x) = log p(s | x) + log p(c | x),

rather than a seventh head of its own: the image fixes shape and colour through different
evidence (outline, paint), the product is exactly normalised, and the class the score counts is
always the pair of attributes that caption consistency checks.

Images of any side are resized (bilinear) to 64 px first. Training shows it, half the time,
the 16-px Stage-I view upsampled the same way, so it is calibrated on both: on a 16-px image
the pattern (a 4-px detail) is invisible, and the pattern head says so instead of guessing.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stackgan_lite import presets, runtime
from stackgan_lite.data.shapes import ATTRIBUTES, NUM_CLASSES, ShapesDataset
from stackgan_lite.metrics.evaluation import ClassifierOutput, Score, classify, resize

__all__ = [
    "WEIGHTS",
    "ShapesClassifier",
    "load_classifier",
    "shapes_accuracy",
    "train_classifier",
]

WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "classifier_lite.pt"
CLASS_ATTRIBUTES = ("shape", "colour")  # the class is their pair, ordered as class_index


def _shapes_preset(name: str) -> presets.Preset:
    """The preset `name`, refused unless it is scored on the embedded shapes dataset."""
    p = presets.get(name)
    if p.dataset != "shapes":
        raise ValueError(
            f"the {name} preset is scored with an Inception-v3 fine-tuned on its classes: "
            "use stackgan_lite.metrics.load_inception(path, num_classes)"
        )
    return p


def _down(in_ch: int, out_ch: int) -> nn.Sequential:
    """4×4 conv, stride 2, + BatchNorm + ReLU: half the side. Each window spans one period of
    the 4-px pattern, so the first layer can already see it."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


class ShapesClassifier(nn.Module):
    """Images [B, 3, s, s] in [-1, 1] → ClassifierOutput(logits over the 24 (shape, colour)
    classes, 128-d features, predicted attributes [B, 6])."""

    score_name = "classifier score"
    side = 64
    feature_dim = 128

    def __init__(self, attributes: dict[str, tuple[str, ...]] = ATTRIBUTES) -> None:
        super().__init__()
        self.attribute_names = tuple(attributes)
        # 64 → 32 → 16 → 8 → 4; the 4×4 map is flattened, not pooled, to keep the position
        self.trunk = nn.Sequential(
            _down(3, 16),
            _down(16, 32),
            _down(32, 64),
            _down(64, 64),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, self.feature_dim),
            nn.ReLU(inplace=True),
        )
        self.heads = nn.ModuleList(nn.Linear(self.feature_dim, len(v)) for v in attributes.values())
        self._class_heads = [self.attribute_names.index(a) for a in CLASS_ATTRIBUTES]

    def attribute_log_probs(self, images: Tensor) -> tuple[Tensor, list[Tensor]]:
        """(features [B, 128], [log p(attribute a | x) [B, |a|] for each attribute])."""
        features = self.trunk(resize(images, self.side))
        return features, [F.log_softmax(head(features), dim=1) for head in self.heads]

    def forward(self, images: Tensor) -> ClassifierOutput:
        features, log_probs = self.attribute_log_probs(images)
        shape, colour = (log_probs[i] for i in self._class_heads)
        # log p(s, c | x) = log p(s | x) + log p(c | x); flattened row-major, index s·6 + c
        logits = (shape[:, :, None] + colour[:, None, :]).flatten(1)
        attributes = torch.stack([lp.argmax(dim=1) for lp in log_probs], dim=1)
        return ClassifierOutput(logits, features, attributes)


def _signed(images: Tensor) -> Tensor:
    """uint8 [0, 255] → float [-1, 1], as ShapesDataset returns them."""
    return images.float() / 127.5 - 1.0


def _views(dataset: ShapesDataset, side: int) -> Tensor:
    """The dataset's real images at `side`: its Stage-II images, or its Stage-I ones."""
    images = dataset.images2 if side == dataset.preset.stage2_side else dataset.images1
    if images.shape[-1] != side:
        raise ValueError(
            f"the {dataset.preset.name} preset has sides {dataset.preset.stage1_side} and "
            f"{dataset.preset.stage2_side}, not {side}"
        )
    return _signed(images)


def shapes_accuracy(
    classifier: ShapesClassifier,
    dataset: ShapesDataset,
    *,
    side: int,
    splits: int = 10,
    seed: int = 0,
) -> tuple[dict[str, float], Score]:
    """Per-attribute accuracy (and "all") on `dataset`'s real images at `side`, and their
    classifier score: the ceiling a generator of that side can reach on these captions."""
    out = classify(classifier, _views(dataset, side))
    correct = out.attributes == dataset.labels
    accuracy = {
        a: correct[:, i].float().mean().item() for i, a in enumerate(classifier.attribute_names)
    }
    accuracy["all"] = correct.all(dim=1).float().mean().item()
    score = Score.of_logits(out.logits, name=classifier.score_name, splits=splits, seed=seed)
    return accuracy, score


def train_classifier(
    preset: str = "lite",
    *,
    steps: int,
    seed: int,
    out_path: str | os.PathLike = WEIGHTS,
    train_size: int = 20_000,
    test_size: int = 2_000,
    batch_size: int = 128,
    lr: float = 2e-3,
    device: torch.device | str = "cpu",
) -> dict:
    """Train the shapes classifier on the "all" split (every class), save it, report on "test".

    The loss is the sum of the heads' cross-entropies. Adam with a cosine learning-rate decay;
    half of each batch is shown as the Stage-I view, upsampled. Written to a temporary file
    and renamed, so an interrupted run never leaves half a file. Returns, JSON-ready, the
    held-out accuracy per attribute and the real-image classifier score (the ceiling) at both
    sides, beside its maximum K.
    """
    p = _shapes_preset(preset)
    torch.manual_seed(seed)
    device = torch.device(device)
    train = ShapesDataset(p, "all", size=train_size, seed=seed, with_embedding=False)
    test = ShapesDataset(p, "test", size=test_size, seed=seed, with_embedding=False)
    classifier = ShapesClassifier().to(device).train()
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        i = torch.randint(len(train), (batch_size,), generator=generator)
        half = batch_size // 2
        images = torch.cat(
            [
                _signed(train.images2[i[:half]]),
                resize(_signed(train.images1[i[half:]]), p.stage2_side),
            ]
        )
        _, log_probs = classifier.attribute_log_probs(images.to(device))
        labels = train.labels[i].to(device)
        loss = sum(F.nll_loss(lp, labels[:, a]) for a, lp in enumerate(log_probs))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()

    state = {k: v.cpu() for k, v in classifier.state_dict().items()}
    runtime.save_torch_file(
        out_path, {"state_dict": state, "attributes": {k: list(v) for k, v in ATTRIBUTES.items()}}
    )

    report: dict = {"preset": preset, "steps": steps, "seed": seed, "train_size": train_size}
    for side in (p.stage2_side, p.stage1_side):
        accuracy, score = shapes_accuracy(classifier, test, side=side, seed=seed)
        report[f"test_accuracy_{side}px"] = accuracy
        report[f"real_score_{side}px"] = dataclasses.asdict(score)  # the ceiling, JSON-ready
    report["score_max"] = NUM_CLASSES
    return report


def load_classifier(
    preset: str = "lite", path: str | os.PathLike | None = None
) -> ShapesClassifier:
    """The shipped (or the given) shapes classifier, in eval mode, on the CPU."""
    _shapes_preset(preset)
    path = Path(path) if path is not None else WEIGHTS
    retrain = "retrain it with python -m stackgan_lite train-classifier"
    if not path.is_file():
        raise FileNotFoundError(f"no classifier weights at {path}; {retrain}")
    saved = runtime.load_torch_file(path)
    if saved.get("attributes") != {k: list(v) for k, v in ATTRIBUTES.items()}:
        raise ValueError(f"{path} was trained on different dataset attributes; {retrain}")
    classifier = ShapesClassifier()
    classifier.load_state_dict(saved["state_dict"])
    return classifier.eval()
