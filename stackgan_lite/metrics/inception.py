"""The paper's Inception Score protocol for CUB-200-2011 and Oxford-102.

StackGAN's authors score birds and flowers with an Inception-v3 fine-tuned on the dataset,
images resized to 299 × 299 (bilinear) and scaled to [-1, 1]. Their evaluation script builds
it with 50 classes for birds and 20 for flowers (the test splits' classes), so pass
`num_classes=50` / `20` to load their models; `finetune_inception` expects labels 0 … K-1. ImageNet weights cannot be downloaded here, so the package never fetches any: the user
supplies a fine-tuned weights file (`load_inception`), or fine-tunes one (`finetune_inception`,
from random weights or from a torchvision state dict the user has, e.g. ImageNet weights).

Weights files hold a torchvision `inception_v3` state dict (aux classifier dropped), so a model
fine-tuned with plain torchvision code loads here too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torchvision.models import inception_v3
from torchvision.models.feature_extraction import create_feature_extractor

from stackgan_lite import runtime
from stackgan_lite.metrics.evaluation import ClassifierOutput, eval_mode, resize

__all__ = ["InceptionClassifier", "finetune_inception", "load_inception"]


class InceptionClassifier(nn.Module):
    """Images [B, 3, s, s] in [-1, 1], any side → logits [B, K] and 2048-d pool features.

    torchvision's `inception_v3(weights=None)` has `transform_input=False`, so it takes the
    [-1, 1] input of the original TF model directly.
    """

    score_name = "Inception Score"
    side = 299

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(
                "num_classes must be ≥ 2 (the authors' models: 50 for birds, 20 for flowers), "
                f"got {num_classes}"
            )
        net = inception_v3(
            weights=None, aux_logits=False, init_weights=False, num_classes=num_classes
        )
        # one pass gives both outputs, and the parameter names stay torchvision's
        self.net = create_feature_extractor(net, {"flatten": "features", "fc": "logits"})
        self.num_classes = num_classes

    def forward(self, images: Tensor) -> ClassifierOutput:
        out = self.net(resize(images, self.side))
        return ClassifierOutput(out["logits"], out["features"])


def _torchvision_state(path: str | os.PathLike) -> dict[str, Tensor]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no Inception-v3 weights at {path}: the paper's IS needs an Inception-v3 fine-tuned "
            "on the dataset's classes; make one with stackgan_lite.metrics.finetune_inception "
            "(nothing is downloaded)"
        )
    try:
        state = runtime.load_torch_file(path)
    except Exception as error:
        raise ValueError(f"{path} is not a torch state dict file: {error}") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, expected a state dict")
    # DistributedDataParallel prefixes names with "module."; the aux classifier is not used
    return {
        k.removeprefix("module."): v
        for k, v in state.items()
        if not k.removeprefix("module.").startswith("AuxLogits.")
    }


def load_inception(path: str | os.PathLike, num_classes: int) -> InceptionClassifier:
    """The fine-tuned Inception-v3 in `path` (a torchvision state dict), in eval mode."""
    state = _torchvision_state(path)
    fc = state.get("fc.weight")
    if fc is not None and fc.shape[0] != num_classes:
        raise ValueError(
            f"{path} classifies {fc.shape[0]} classes, not {num_classes}: "
            f"pass num_classes={fc.shape[0]} or the weights fine-tuned for this dataset"
        )
    classifier = InceptionClassifier(num_classes)
    try:
        classifier.net.load_state_dict(state)
    except RuntimeError as error:
        raise ValueError(
            f"{path} is not a torchvision inception_v3 state dict: {error}".splitlines()[0]
        ) from None
    return classifier.eval()


def _image_and_class(item: Any) -> tuple[Tensor, int]:
    """(image, class id) from an `(image, class_id)` pair or a dataset record with `image2`
    and `labels` = LongTensor([class_id]) fields (the package's CUB / flowers datasets)."""
    if hasattr(item, "image2"):
        return item.image2, int(item.labels[0])
    image, label = item
    return image, int(label)


def _collate(items: list[Any]) -> tuple[Tensor, Tensor]:
    images, labels = zip(*map(_image_and_class, items), strict=True)
    return torch.stack(images), torch.tensor(labels)


@torch.no_grad()
def _accuracy(classifier: InceptionClassifier, loader: DataLoader, device: torch.device) -> float:
    correct = total = 0
    with eval_mode(classifier):
        for images, labels in loader:
            logits = classifier(images.to(device)).logits
            correct += (logits.argmax(1).cpu() == labels).sum().item()
            total += len(labels)
    return correct / total


def finetune_inception(
    dataset: Dataset,
    *,
    num_classes: int,
    epochs: int,
    out_path: str | os.PathLike,
    init_path: str | os.PathLike | None = None,
    val_dataset: Dataset | None = None,
    batch_size: int = 32,
    lr: float = 1e-4,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> dict[str, float]:
    """Fine-tune Inception-v3 on a dataset's classes (cross-entropy, Adam) and save it.

    `dataset` items: `(image [3, s, s] in [-1, 1], class_id)` or records with `image2` and
    `labels` fields. `init_path`: a torchvision inception_v3 state dict to start from (its
    classification layer is replaced when the class counts differ); random weights otherwise.
    Written to a temporary file and renamed, so an interrupted run never leaves half a file.
    Returns the last epoch's training loss and accuracy, and the held-out accuracy when
    `val_dataset` is given.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be ≥ 1, got {epochs}")
    torch.manual_seed(seed)
    device = torch.device(device)
    classifier = InceptionClassifier(num_classes)
    if init_path is not None:
        state = _torchvision_state(init_path)
        if state.get("fc.weight") is not None and state["fc.weight"].shape[0] != num_classes:
            # e.g. ImageNet's 1000 classes: keep the trunk, start a new classification layer
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = classifier.net.load_state_dict(state, strict=False)
        if unexpected or set(missing) - {"fc.weight", "fc.bias"}:
            raise ValueError(
                f"{init_path} is not a torchvision inception_v3 state dict "
                f"(missing {sorted(missing)[:3]}…, unexpected {sorted(unexpected)[:3]}…)"
            )
    classifier.to(device).train()
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        collate_fn=_collate,
        generator=torch.Generator().manual_seed(seed),
    )
    optimizer = torch.optim.Adam(classifier.parameters(), lr=lr)
    for _ in range(epochs):
        loss_sum = correct = seen = 0
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            logits = classifier(images).logits
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(labels)
            correct += (logits.argmax(1) == labels).sum().item()
            seen += len(labels)
    runtime.save_torch_file(out_path, classifier.net.state_dict())
    report = {"train_loss": loss_sum / seen, "train_accuracy": correct / seen}
    if val_dataset is not None:
        val = DataLoader(val_dataset, batch_size=batch_size, collate_fn=_collate)
        report["val_accuracy"] = _accuracy(classifier, val, device)
    return report
