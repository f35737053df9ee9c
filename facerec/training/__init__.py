"""Training the Siamese head on a folder-per-person dataset (plain Python, Keras loads lazily).

- ``siamese``: the head, its contrastive loss, the pairs it trains on, and the training loop;
- ``metrics``: thresholds and accuracy on same/different pairs (how a head is calibrated);
- ``embeddings``: backbone embeddings of a whole dataset, computed once and cached on disk;
- ``trainer``: ``python -m facerec train``: train, compare with the shipped head, save.
"""

from __future__ import annotations

from facerec.training.metrics import accuracy, best_threshold, tar_at_far, threshold_at_far
from facerec.training.siamese import (
    TrainConfig,
    TrainResult,
    build_siamese,
    contrastive_loss,
    evaluate_head,
    head_from_tower,
    split_people,
    train_head,
    training_pairs,
    validation_pairs,
)
from facerec.training.trainer import save_model, train_and_save

__all__ = [
    "TrainConfig",
    "TrainResult",
    "accuracy",
    "best_threshold",
    "build_siamese",
    "contrastive_loss",
    "evaluate_head",
    "head_from_tower",
    "save_model",
    "split_people",
    "tar_at_far",
    "threshold_at_far",
    "train_and_save",
    "train_head",
    "training_pairs",
    "validation_pairs",
]
