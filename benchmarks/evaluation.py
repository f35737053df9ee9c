"""The LFW View 2 protocol: pair distances, per-fold accuracy with the other folds' threshold."""

from __future__ import annotations

import numpy as np

from facerec.training import accuracy, best_threshold


def pair_distances(embeddings: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Euclidean distance of rows ``left[i]`` and ``right[i]`` of (N, D) unit embeddings."""
    return np.linalg.norm(embeddings[left] - embeddings[right], axis=1)


def kfold_accuracy(distance: np.ndarray, same: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Per-fold accuracy, each fold's threshold chosen on the other folds (LFW View 2 rule)."""
    result = []
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        threshold = best_threshold(distance[train], same[train])
        result.append(accuracy(distance[test], same[test], threshold))
    return np.array(result)
