"""What `python -m stackgan_lite evaluate` measures on the embedded dataset, in one function.

For N test captions (the test split draws every (shape, colour) pair, the held-out ones too),
one seeded image each from Stage-I or Stage-II (or a StackGAN-v2 tree's first or last scale, the
same sides), scored with the shipped shapes classifier:

- classifier score (IS with the shapes classifier; maximum K = 24) and its ceiling, the score
  of the real test images at the same side;
- FID against the real test images' classifier features (Stage-I images are upsampled to the
  classifier's 64 px first, so "Stage-II FID < Stage-I FID" means Stage-II added detail);
- caption consistency per attribute, on seen and on held-out (shape, colour) pairs (Stage-I:
  every attribute but the pattern, which 16 px cannot show), and each attribute's confusion
  matrix over all N (rows: the caption's value, columns: the value drawn);
- R-precision of the generated images with the joint text-image embedding;
- diversity: mean pairwise feature distance of images generated for one caption, beside the
  same figure for real images of that caption's class (a collapsed generator gives ~0).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from stackgan_lite import presets, text
from stackgan_lite.data.shapes import (
    ATTRIBUTES,
    NUM_CLASSES,
    ShapesDataset,
    class_index,
    is_held_out,
)
from stackgan_lite.metrics import (
    Score,
    caption_consistency,
    classify,
    confusion_matrix,
    feature_statistics,
    frechet_distance,
    resize,
    sample_images,
)
from stackgan_lite.metrics.shapes_classifier import load_classifier
from stackgan_lite.stackgan_v2 import TreeGenerator

__all__ = ["evaluate_lite", "generator_for_stage"]


def generator_for_stage(g1: nn.Module, g2: nn.Module | None, stage: int):
    """`generate(phi_t, z) -> images` for Stage-I, or Stage-II fed by Stage-I. Given a
    StackGAN-v2 tree as `g1`, stage 1 is its first scale and stage 2 its last (the same sides)."""
    if isinstance(g1, TreeGenerator):
        scale = 0 if stage == 1 else -1
        return lambda phi_t, z: g1(phi_t, z).images[scale]
    if stage == 1:
        return lambda phi_t, z: g1(phi_t, z).image
    return lambda phi_t, z: g2(g1(phi_t, z).image, phi_t).image


def _diversity(features: Tensor) -> float:
    """Mean pairwise Euclidean distance between the rows of `features`."""
    distances = torch.cdist(features, features)
    n = len(features)
    return (distances.sum() / (n * (n - 1))).item()


def evaluate_lite(
    g1: nn.Module,
    g2: nn.Module | None = None,
    *,
    stage: int = 2,
    n: int = 1000,
    seed: int = 0,
    splits: int = 10,
    preset: str | None = None,
) -> dict[str, Any]:
    """The JSON-ready figures described in the module docstring (`preset`: g1's by default)."""
    preset = preset or g1.preset.name
    p = presets.get(preset)
    if stage == 2 and g2 is None and not isinstance(g1, TreeGenerator):
        raise ValueError("stage 2 needs the Stage-II generator g2")
    data = ShapesDataset(p, "test", size=n, seed=seed)
    items = [data[i] for i in range(n)]  # one caption (and its embedding) per test image
    embeddings = torch.stack([item.embedding for item in items])
    captions = [item.caption for item in items]
    labels = data.labels
    classifier = load_classifier(preset)
    side = p.stage1_side if stage == 1 else p.stage2_side
    real = data.images1 if stage == 1 else data.images2
    real_out = classify(classifier, real.float() / 127.5 - 1)
    real_score = Score.of_logits(real_out.logits, name="classifier score", splits=splits, seed=seed)
    real_stats = feature_statistics(classify(classifier, data.images2.float() / 127.5 - 1).features)

    models = [g1] if g2 is None else [g1, g2]
    images = sample_images(
        generator_for_stage(g1, g2, stage), embeddings, z_dim=p.z_dim, seed=seed, models=models
    )
    out = classify(classifier, images)
    score = Score.of_logits(out.logits, name="classifier score", splits=splits, seed=seed)
    held_out = torch.as_tensor(is_held_out(labels))
    # 16 px averages the 4-px pattern away, so Stage-I is held to the coarse attributes only
    names = [a for a in ATTRIBUTES if stage == 2 or a != "pattern"]
    columns = [list(ATTRIBUTES).index(a) for a in names]
    predicted, wanted = out.attributes[:, columns], torch.as_tensor(labels)[:, columns]
    consistency = {
        "seen": caption_consistency(predicted[~held_out], wanted[~held_out], names),
        "held_out": caption_consistency(predicted[held_out], wanted[held_out], names),
    }
    confusion = {
        name: confusion_matrix(predicted[:, i], wanted[:, i], len(ATTRIBUTES[name])).tolist()
        for i, name in enumerate(names)
    }
    joint = text.load_text_encoder(p)
    with torch.no_grad():
        image_emb = joint.embed_images(resize(images, p.stage2_side))
    r_precision = text.r_precision(joint.embed_text(captions), image_emb, seed=seed, labels=labels)

    # diversity: 16 samples for each of 8 captions vs 16 real images of the caption's class
    per_caption, captions_used = 16, 8
    generate = generator_for_stage(g1, g2, stage)
    fake_div, real_div = [], []
    classes = torch.as_tensor(class_index(labels))
    for i in range(captions_used):
        same = sample_images(
            generate,
            embeddings[i : i + 1].expand(per_caption, -1),
            z_dim=p.z_dim,
            seed=seed + i,
            models=models,
        )
        fake_div.append(_diversity(classify(classifier, same).features))
        real_same = real_out.features[classes == classes[i]][:per_caption]
        if len(real_same) >= 2:  # a small N may hold a single image of the class: no pair
            real_div.append(_diversity(real_same))

    return {
        "preset": preset,
        "stage": stage,
        "side": side,
        "classifier_score": score.mean,
        "classifier_score_std": score.std,
        "classifier_score_real": real_score.mean,
        "classifier_score_real_std": real_score.std,
        "classifier_score_max": NUM_CLASSES,
        "fid": frechet_distance(*real_stats, *feature_statistics(out.features)),
        "caption_consistency": consistency,
        "confusion": confusion,
        "r_precision": r_precision,
        "diversity": float(np.mean(fake_div)),
        "diversity_real": float(np.mean(real_div)) if real_div else float("nan"),
        "n": n,
        "splits": splits,
        "seed": seed,
        "held_out_n": int(held_out.sum()),
        "score": dataclasses.asdict(score),
    }
