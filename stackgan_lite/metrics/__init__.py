"""Evaluation: Inception Score, FID, caption consistency, and the classifiers behind them.

    scores.py      the numbers (numpy, float64): IS, Fréchet distance, caption consistency
    evaluation.py  running classifiers and generators: eval mode, no_grad, batched, seeded
    inception.py   the paper's protocol: Inception-v3 fine-tuned on CUB / Oxford-102 classes
    shapes_classifier.py   the small CNN that scores the embedded dataset (shipped weights)

The IS computed with a classifier other than ImageNet's Inception-v3 is called a
"classifier score" here, and is never comparable with published Inception Scores.
R-precision needs the joint text-image embedding, so it lives beside it: `text.r_precision`.
"""

from stackgan_lite.metrics.evaluation import (
    ClassifierOutput,
    GeneratorEvaluation,
    Score,
    classify,
    eval_mode,
    evaluate_generator,
    resize,
    sample_images,
)
from stackgan_lite.metrics.inception import InceptionClassifier, finetune_inception, load_inception
from stackgan_lite.metrics.scores import (
    caption_consistency,
    confusion_matrix,
    feature_statistics,
    fid,
    frechet_distance,
    inception_score,
)
from stackgan_lite.metrics.shapes_classifier import (
    ShapesClassifier,
    load_classifier,
    shapes_accuracy,
    train_classifier,
)

__all__ = [
    "ClassifierOutput",
    "GeneratorEvaluation",
    "InceptionClassifier",
    "Score",
    "ShapesClassifier",
    "caption_consistency",
    "classify",
    "confusion_matrix",
    "eval_mode",
    "evaluate_generator",
    "feature_statistics",
    "fid",
    "finetune_inception",
    "frechet_distance",
    "inception_score",
    "load_classifier",
    "load_inception",
    "resize",
    "sample_images",
    "shapes_accuracy",
    "train_classifier",
]
