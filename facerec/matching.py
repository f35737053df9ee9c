"""Distances between embeddings and one-to-one matching of a class photo's faces to a roster."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

from facerec.types import Decision, Match

# Open-set rule. A class photo's face is compared with the whole roster, so a stranger has one
# chance per student to fall under the accept threshold, and a face that looks like two students
# is a guess. A match is therefore automatic only when its distance is within the accept threshold
# AND every other student is at least this much farther; otherwise a person reviews it. Used when
# the model metadata has no "match_margin"; calibration: "match_rule" in the metadata JSON.
DEFAULT_MATCH_MARGIN = 0.05
# A student's distance is the mean over their closest reference photos, not the closest one: a
# stranger who happens to resemble one photo of a student rarely resembles two, while the student
# is near both. On the calibration class photos (model facenet512-siamese-20261128-90cc2318), both
# reach 99.87% automatic precision: the mean at the model's 1:1 threshold with 96.6% automatic
# recall, the closest photo only once its threshold is lowered to 0.98, with 95.9%.
REFERENCES_AVERAGED = 2


def face_distance(known: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Euclidean distance between unit embeddings (0 = identical, 2 = opposite).

    known: (M, D). candidates: (D,) -> returns (M,); (N, D) -> returns (N, M).
    """
    known = np.atleast_2d(np.asarray(known, np.float32))
    cand = np.asarray(candidates, np.float32)
    single = cand.ndim == 1
    cand = np.atleast_2d(cand)
    if known.shape[1] != cand.shape[1]:
        raise ValueError(f"embedding sizes differ: {known.shape[1]} vs {cand.shape[1]}")
    # |a - b|^2 = |a|^2 + |b|^2 - 2ab, clipped: rounding can make it slightly negative.
    sq = (cand**2).sum(1)[:, None] + (known**2).sum(1)[None, :] - 2.0 * cand @ known.T
    dist = np.sqrt(np.clip(sq, 0.0, None))
    return dist[0] if single else dist


def label_distances(
    probes: np.ndarray, gallery: np.ndarray, labels: Sequence[Hashable]
) -> tuple[list[Hashable], np.ndarray]:
    """Unique labels (first-seen order) and (P, L) distance of each probe to each label: the mean
    of its REFERENCES_AVERAGED closest gallery rows (a student may have several reference
    photos), or the one row of a label that has only one."""
    unique = list(dict.fromkeys(labels))
    rows: dict[Hashable, list[int]] = {label: [] for label in unique}
    for g, label in enumerate(labels):
        rows[label].append(g)
    dist = face_distance(gallery, probes)  # (P, G)
    out = np.empty((dist.shape[0], len(unique)), np.float32)
    for column, label in enumerate(unique):
        closest = np.sort(dist[:, rows[label]], axis=1)[:, :REFERENCES_AVERAGED]
        out[:, column] = closest.mean(axis=1)
    return unique, out


def match_faces(
    probes: np.ndarray,
    gallery: np.ndarray,
    labels: Sequence[Hashable],
    *,
    threshold: float | None = None,
    review_threshold: float | None = None,
) -> list[Match]:
    """Assign each probe face (e.g. from a class photo) to at most one gallery label, one-to-one.

    probes: (P, D) unit embeddings. gallery: (G, D) unit embeddings; labels: G labels (a label may
    repeat: several reference photos of one student).
    threshold / review_threshold: Euclidean distances; default to the shipped model's.
    The assignment minimises the total distance over all probes (Hungarian algorithm), where
    leaving a probe unknown costs review_threshold, so a stranger stays "unknown" and two faces
    never get the same student even when both look most like them.
    A match is "auto" only when its distance is <= threshold and every other label is at least
    the model's match margin (``match_margin``) farther; a face close to two labels, or given a
    label other than its nearest, is "review".
    Returns one Match per probe, in probe order.
    """
    threshold, review_threshold = _thresholds(threshold, review_threshold)
    margin = match_margin()
    probes = np.atleast_2d(np.asarray(probes, np.float32))
    if len(labels) != len(np.atleast_2d(gallery)) and len(labels) != 0:
        raise ValueError(f"{len(labels)} labels for {len(np.atleast_2d(gallery))} gallery rows")
    if len(probes) == 0 or probes.shape[1] == 0:
        return []
    if len(labels) == 0:
        return [Match(i, None, None, "unknown", []) for i in range(len(probes))]
    unique, dist = label_distances(probes, np.asarray(gallery, np.float32), labels)
    assigned = _assign(dist, review_threshold)
    return [
        _match(i, unique, dist[i], assigned.get(i), threshold, margin) for i in range(len(probes))
    ]


def match_margin() -> float:
    """How much farther (Euclidean) the runner-up label must be for an automatic match: the
    model metadata's "match_margin", else DEFAULT_MATCH_MARGIN."""
    from facerec.errors import FaceRecError
    from facerec.model import metadata

    try:
        return float(metadata().get("match_margin", DEFAULT_MATCH_MARGIN))
    except FaceRecError:  # no model installed: explicit thresholds still work
        return DEFAULT_MATCH_MARGIN


def _thresholds(threshold: float | None, review: float | None) -> tuple[float, float]:
    if threshold is None or review is None:
        from facerec.model import model_info

        info = model_info()
        threshold = info.threshold if threshold is None else threshold
        review = info.review_threshold if review is None else review
    return float(threshold), max(float(review), float(threshold))


def _assign(dist: np.ndarray, unknown_cost: float) -> dict[int, int]:
    """{probe: label column} minimising total cost; each probe may instead take its own
    "unknown" column costing unknown_cost, so no pair beyond it is ever chosen."""
    from scipy.optimize import linear_sum_assignment

    probes, labels = dist.shape
    big = unknown_cost * 10 + 10.0  # finite stand-in for "never": the solver rejects inf
    cost = np.full((probes, labels + probes), big, np.float64)
    cost[:, :labels] = np.where(dist <= unknown_cost, dist, big)
    cost[np.arange(probes), labels + np.arange(probes)] = unknown_cost
    rows, cols = linear_sum_assignment(cost)
    return {int(r): int(c) for r, c in zip(rows, cols, strict=True) if c < labels}


def _match(
    index: int,
    unique: list[Hashable],
    row: np.ndarray,
    column: int | None,
    threshold: float,
    margin: float,
) -> Match:
    order = np.argsort(row, kind="stable")[:3]
    candidates = [(unique[j], float(row[j])) for j in order]
    if column is None:
        return Match(index, None, None, "unknown", candidates)
    distance = float(row[column])
    runner_up = float(np.delete(row, column).min()) if len(row) > 1 else np.inf
    clear = distance <= threshold and runner_up - distance >= margin
    decision: Decision = "auto" if clear else "review"
    return Match(index, unique[column], distance, decision, candidates)
