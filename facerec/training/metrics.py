"""Verification metrics on pairs: the best threshold, and true-accept rate at a false-accept rate.

Training uses them to calibrate a head's thresholds; the benchmarks use them to score it.
"""

from __future__ import annotations

import numpy as np


def best_threshold(distance: np.ndarray, same: np.ndarray) -> float:
    """The distance threshold (accept if <=) with the highest accuracy on these pairs."""
    order = np.argsort(distance)
    d, s = distance[order], same[order].astype(np.int64)
    # Accepting the first k pairs: correct = positives among them + negatives after them.
    correct = (
        np.concatenate([[0], np.cumsum(s)])
        + (len(s) - s.sum())
        - np.concatenate([[0], np.cumsum(1 - s)])
    )
    k = int(np.argmax(correct))
    if k == 0:
        return float(d[0]) - 1e-6
    if k == len(d):
        return float(d[-1])
    return float((d[k - 1] + d[k]) / 2)


def accuracy(distance: np.ndarray, same: np.ndarray, threshold: float) -> float:
    return float(np.mean((distance <= threshold) == same.astype(bool)))


def threshold_at_far(distance: np.ndarray, same: np.ndarray, far: float) -> float:
    """Largest threshold whose false-accept rate on the different-person pairs is <= far."""
    negatives = np.sort(distance[~same.astype(bool)])
    allowed = int(np.floor(far * len(negatives)))  # how many impostors may be accepted
    if allowed >= len(negatives):
        return float(negatives[-1])
    # Accept strictly below the (allowed+1)-th closest impostor.
    return float(np.nextafter(negatives[allowed], -np.inf))


def tar_at_far(distance: np.ndarray, same: np.ndarray, far: float = 1e-3) -> float:
    """True-accept rate at the threshold where the false-accept rate is <= far."""
    threshold = threshold_at_far(distance, same, far)
    return float(np.mean(distance[same.astype(bool)] <= threshold))
