"""Distances between embeddings and one-to-one matching of a class photo's faces to a roster."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from facerec.quality import FaceQuality
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
    qualities: Sequence[FaceQuality | None] | None = None,
    calibration: GalleryCalibration | None = None,
    margin: float | None = None,
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
    qualities: one FaceQuality per probe (None for a face without one): a face that
        ``quality_problem`` finds hard to recognise is never "auto", at most "review".
    calibration: this gallery's own threshold (``calibrate_gallery``), used as the accept
        threshold when ``threshold`` is not given.
    margin: the runner-up margin for "auto" (Euclidean); default the shipped model's
        ``match_margin`` (pass the serving model's when another head embedded the faces).
    Returns one Match per probe, in probe order.
    """
    if threshold is None and calibration is not None:
        threshold = calibration.threshold
    threshold, review_threshold = _thresholds(threshold, review_threshold)
    margin = match_margin() if margin is None else float(margin)
    probes = np.atleast_2d(np.asarray(probes, np.float32))
    if len(labels) != len(np.atleast_2d(gallery)) and len(labels) != 0:
        raise ValueError(f"{len(labels)} labels for {len(np.atleast_2d(gallery))} gallery rows")
    if len(probes) == 0 or probes.shape[1] == 0:
        return []
    if len(labels) == 0:
        return [Match(i, None, None, "unknown", []) for i in range(len(probes))]
    if qualities is not None and len(qualities) != len(probes):
        raise ValueError(f"{len(qualities)} qualities for {len(probes)} probes")
    unique, dist = label_distances(probes, np.asarray(gallery, np.float32), labels)
    assigned = _assign(dist, review_threshold)
    matches = [
        _match(i, unique, dist[i], assigned.get(i), threshold, margin) for i in range(len(probes))
    ]
    for i, match in enumerate(matches):
        problem = quality_problem(qualities[i]) if qualities is not None else None
        if problem and match.decision == "auto":
            matches[i] = replace(match, decision="review", note=problem)
    return matches


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


# --- calibration on the installation's own gallery ----------------------------------------------

# The share of different-student pairs of the gallery that may fall under the calibrated
# threshold. A stranger in a class photo is compared with every student, so a per-pair rate f
# becomes about (number of students) x f per stranger's face: 1e-4 keeps a 50-student course's
# strangers near 0.5%.
GALLERY_FAR = 1e-4
# Fewer different-student pairs than this and the gallery says little about its impostors: the
# model's threshold is kept.
MIN_IMPOSTOR_PAIRS = 20


@dataclass(frozen=True)
class GalleryCalibration:
    """The accept threshold that one gallery (a course's reference photos) supports.

    threshold: Euclidean distance; never above the model's own accept threshold.
    impostors: how many different-student distances it was computed from.
    far: the share of them that fall at or under ``threshold`` (the requested rate, or less).
    closest_impostor: the smallest different-student distance (None with fewer than 2 students).
    """

    threshold: float
    impostors: int
    far: float
    closest_impostor: float | None


def impostor_distances(gallery: np.ndarray, labels: Sequence[Hashable]) -> np.ndarray:
    """Distances from each reference photo to every OTHER student, scored as a class-photo face
    is (``label_distances``: the mean of that student's closest photos). (G * (L - 1),) float32,
    for G photos of L students; different students' photos of one school are a free sample of
    how close that school's strangers come to a student."""
    gallery = np.atleast_2d(np.asarray(gallery, np.float32))
    if len(labels) == 0:
        return np.zeros(0, np.float32)
    unique, dist = label_distances(gallery, gallery, labels)
    own = np.array([[label == u for u in unique] for label in labels])
    return dist[~own].astype(np.float32)


def calibrate_gallery(
    gallery: np.ndarray,
    labels: Sequence[Hashable],
    *,
    far: float = GALLERY_FAR,
    model_threshold: float | None = None,
) -> GalleryCalibration:
    """The accept threshold for this gallery: the largest distance at which at most ``far`` of
    its different-student distances are accepted, capped at the model's threshold.

    gallery: (G, D) unit embeddings, labels: G student labels (as for ``match_faces``).
    With fewer than MIN_IMPOSTOR_PAIRS distances, the model's threshold.
    Recompute it whenever the gallery changes (a photo added or removed, another model).
    """
    cap = _thresholds(model_threshold, model_threshold)[0]
    impostors = np.sort(impostor_distances(gallery, labels))
    closest = float(impostors[0]) if len(impostors) else None
    if len(impostors) < MIN_IMPOSTOR_PAIRS:
        return GalleryCalibration(cap, int(len(impostors)), 0.0, closest)
    allowed = int(np.floor(far * len(impostors)))  # how many may be accepted
    # Strictly under the (allowed + 1)-th closest, so at most ``allowed`` are accepted.
    threshold = min(cap, float(np.nextafter(impostors[allowed], -np.inf)))
    accepted = int(np.searchsorted(impostors, threshold, side="right"))
    return GalleryCalibration(threshold, int(len(impostors)), accepted / len(impostors), closest)


# --- face quality -------------------------------------------------------------------------------

# A face is decided automatically only when all of these hold; else a person reviews it.
# The open-set benchmark (benchmarks/README.md) found faces of 37-61 px, greyscale, JPEG-30,
# strongly side-lit, motion-blurred (sharpness down to ~6) and tightly cropped faces no riskier
# for strangers than clean ones once the threshold is calibrated on the gallery: gating them
# (size < 60, sharpness < 10) sent no fewer strangers to "auto" but cost up to 90% of the
# automatic recall of a condition. So the limits lie OUTSIDE what was measured: there a person
# decides. (Clean LFW faces: 400 random photos of people outside the benchmark are at least
# 77 px, sharpness 14, brightness 71..190, contrast 17 in 99.5% of cases.)
MIN_AUTO_FACE = 36  # pixels of the source photo (shorter box side)
MIN_AUTO_SHARPNESS = 6.0  # Laplacian variance of the 160x160 crop (a sigma-3 Gaussian blur: ~5)
MIN_AUTO_BRIGHTNESS = 50.0  # mean grey level of the inner face, 0..255
MAX_AUTO_BRIGHTNESS = 220.0
MIN_AUTO_CONTRAST = 15.0  # grey-level standard deviation of the inner face


def quality_problem(quality: FaceQuality | None) -> str | None:
    """Why a face should not be decided automatically (a sentence for the reviewer), or None
    when it can be (and when no quality was measured)."""
    if quality is None:
        return None
    checks = (
        (quality.size < MIN_AUTO_FACE, f"the face is only {quality.size} px wide"),
        (quality.sharpness < MIN_AUTO_SHARPNESS, "the face is blurred"),
        (quality.brightness < MIN_AUTO_BRIGHTNESS, "the face is too dark"),
        (quality.brightness > MAX_AUTO_BRIGHTNESS, "the face is overexposed"),
        (quality.contrast < MIN_AUTO_CONTRAST, "the face has too little contrast"),
    )
    reasons = [reason for failed, reason in checks if failed]
    return "; ".join(reasons) + ": a person should confirm" if reasons else None
