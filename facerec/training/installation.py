"""One installation's own Siamese head: trained on its students, judged on students it never saw.

A school's reference photos (and faces its teachers confirmed in class photos) are a small
folder-per-person dataset. ``train_installation_head`` fine-tunes the serving head on them with
the product's Siamese set-up (shared towers, contrastive loss, see ``siamese``), starting from
that head so that a run that finds nothing better returns it unchanged. ``evaluate_openset``
scores any head on held-out students the way class photos are decided (open set: half of them
enrolled, the other half strangers), so a challenger and the serving champion are compared on
the same faces. Plain numpy and Keras (loaded lazily); no Django.

Shapes: ``x`` is (N, D) float32 backbone vectors (``facerec.backbone_vectors``), ``labels`` (N,)
student ids; distances are Euclidean between unit vectors.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from facerec.matching import calibrate_gallery, match_faces
from facerec.model import Head
from facerec.quality import FaceQuality
from facerec.training.metrics import threshold_at_far
from facerec.training.siamese import (
    TrainConfig,
    _hard_negatives,
    build_siamese,
    evaluate_head,
    head_from_tower,
    training_pairs,
    validation_pairs,
)

# A school has tens to a few thousand students with a few photos each: far fewer pairs than LFW,
# so an epoch is smaller; the head starts from the serving one and moves little.
INSTALLATION_CONFIG = TrainConfig(epochs=4, pairs_per_epoch=6000, validation_people=0.15)
# Accept and review thresholds of a trained head, from its validation students' pairs.
FAR_ACCEPT = 1e-3
FAR_REVIEW = 1e-2
# Held-out students' first photos are their gallery (as an admin's reference photos); the rest are
# their faces in class.
REFERENCES = 2


@dataclass
class InstallationTraining:
    """A trained head and how it was made. ``improved`` is False when no epoch beat the head it
    started from (then ``head`` is that head). ``threshold`` and ``review_threshold`` are
    calibrated on this installation's validation students (never trained on)."""

    head: Head
    improved: bool
    threshold: float
    review_threshold: float
    validation: dict = field(default_factory=dict)
    history: list = field(default_factory=list)


def split_students(
    labels: np.ndarray, *, heldout: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean row masks (train, held out): ``heldout`` students with 2+ photos are held out,
    whole (by student, never by photo), chosen at random with ``seed``."""
    labels = np.asarray(labels)
    people, counts = np.unique(labels, return_counts=True)
    multi = people[counts >= 2]
    count = min(heldout, len(multi))
    held = set(np.random.default_rng(seed).choice(multi, size=count, replace=False).tolist())
    mask = np.array([label in held for label in labels.tolist()], dtype=bool)
    return ~mask, mask


def train_installation_head(
    x: np.ndarray,
    labels: np.ndarray,
    *,
    start: Head,
    start_thresholds: tuple[float, float],
    config: TrainConfig | None = None,
    progress: Callable[[int, int, dict], None] | None = None,
) -> InstallationTraining:
    """Fine-tune ``start`` on backbone vectors ``x`` of ``labels`` (students).

    config.validation_people of the students (2+ photos) are kept out of training to choose the
    epoch and calibrate the thresholds. ``start_thresholds`` (accept, review) are kept when the
    head does not change. progress(epoch, epochs, scores) is called after each epoch.
    Raises ValueError when there are too few students with 2+ photos to train.
    """
    import keras

    config = config or INSTALLATION_CONFIG
    labels = np.asarray(labels)
    people, counts = np.unique(labels, return_counts=True)
    if (counts >= 2).sum() < 4:
        raise ValueError("training needs at least 4 students with 2 or more photos")
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    share = max(2, int(round((counts >= 2).sum() * config.validation_people)))
    train, val = split_students(labels, heldout=share, seed=config.seed + 7)
    pairs = validation_pairs(labels[val], np.random.default_rng(config.seed + 1), count=3000)
    baseline = evaluate_head(start, x[val], pairs)

    xt, lt = x[train], labels[train]
    hard = _hard_negatives(xt, lt, k=min(20, max(1, len(xt) - int(counts.max()) - 1)))
    siamese, tower = build_siamese(x.shape[1], config)
    _start_tower_from(tower, start)
    best, best_score, history = None, baseline["accuracy"], []
    for epoch in range(config.epochs):
        left, right, same = training_pairs(lt, hard, config, rng)
        fit = siamese.fit(
            [xt[left], xt[right]], same, batch_size=config.batch_size, epochs=1, verbose=0
        )
        head = head_from_tower(tower)
        scores = evaluate_head(head, x[val], pairs)
        history.append({"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]), **scores})
        if progress is not None:
            progress(epoch + 1, config.epochs, history[-1])
        if scores["accuracy"] > best_score:
            best, best_score = head, scores["accuracy"]
    if best is None:
        accept, review = start_thresholds
        return InstallationTraining(start, False, accept, review, baseline, history)
    accept, review = calibrate_thresholds(best, x[val], labels[val])
    # A few validation students give a few hundred different-student pairs: at FAR 0.1% the
    # threshold sits just under their closest pair, a noisy and loose estimate. The head starts
    # from ``start`` and moves little, so it is never allowed looser than the start's thresholds.
    accept = min(accept, start_thresholds[0])
    review = max(accept, min(review, start_thresholds[1]))
    validation = evaluate_head(best, x[val], pairs) | {"start": baseline}
    return InstallationTraining(best, True, accept, review, validation, history)


def _start_tower_from(tower, start: Head) -> None:
    """Load the start head's weights into a tower of the same shape (else it starts as the
    identity, the backbone alone)."""
    dense = [layer for layer in tower.layers if layer.__class__.__name__ == "Dense"]
    if len(dense) != len(start.weights):
        return
    if any(
        d.get_weights()[0].shape != k.shape for d, (k, _) in zip(dense, start.weights, strict=True)
    ):
        return
    for layer, (kernel, bias) in zip(dense, start.weights, strict=True):
        layer.set_weights([kernel, bias])


def calibrate_thresholds(head: Head, x: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accept, review) distances at FAR_ACCEPT and FAR_REVIEW of every different-student pair
    of these (held-out) photos; review is never below accept."""
    y = head(x)
    dist = np.linalg.norm(y[:, None, :] - y[None, :, :], axis=2)
    upper = np.triu_indices(len(y), k=1)
    same = (labels[:, None] == labels[None, :])[upper]
    distance = dist[upper]
    accept = threshold_at_far(distance, same, FAR_ACCEPT)
    review = max(accept, threshold_at_far(distance, same, FAR_REVIEW))
    return round(float(accept), 4), round(float(review), 4)


@dataclass(frozen=True)
class OpenSetScores:
    """How class-photo decisions come out on held-out students (counts of faces).

    precision: automatic marks that named the right student / all automatic marks.
    recall: enrolled faces marked automatically and rightly / enrolled faces.
    false_accept_rate: strangers' faces marked automatically (as anyone) / strangers' faces.
    review_load: faces sent to a person / all faces.
    accuracy: faces decided rightly with no person (enrolled: auto and right; stranger:
        unknown) / all faces.
    """

    enrolled_faces: int
    stranger_faces: int
    auto_right: int
    auto_wrong: int
    strangers_auto: int
    strangers_unknown: int
    reviews: int
    students: int

    @property
    def faces(self) -> int:
        return self.enrolled_faces + self.stranger_faces

    @property
    def precision(self) -> float:
        marks = self.auto_right + self.auto_wrong + self.strangers_auto
        return self.auto_right / marks if marks else 1.0

    @property
    def recall(self) -> float:
        return self.auto_right / self.enrolled_faces if self.enrolled_faces else 0.0

    @property
    def false_accept_rate(self) -> float:
        return self.strangers_auto / self.stranger_faces if self.stranger_faces else 0.0

    @property
    def review_load(self) -> float:
        return self.reviews / self.faces if self.faces else 0.0

    @property
    def accuracy(self) -> float:
        return (self.auto_right + self.strangers_unknown) / self.faces if self.faces else 0.0

    def as_dict(self) -> dict:
        counts = {k: getattr(self, k) for k in self.__dataclass_fields__}
        rates = ("precision", "recall", "false_accept_rate", "review_load", "accuracy")
        return counts | {k: round(getattr(self, k), 4) for k in rates} | {"faces": self.faces}


def evaluate_openset(
    head: Head,
    x: np.ndarray,
    labels: np.ndarray,
    *,
    threshold: float,
    review_threshold: float,
    margin: float,
    seed: int = 0,
    shown: np.ndarray | None = None,
    found: np.ndarray | None = None,
    qualities: Sequence[FaceQuality | None] | None = None,
) -> OpenSetScores:
    """Score ``head`` on held-out students' backbone vectors ``x`` as class photos are decided.

    The students (2+ photos) are split in two halves; each half in turn is enrolled (its first
    REFERENCES photos, at most all but one, are the gallery) while the other half are strangers.
    Each "class photo" holds one face of every enrolled and stranger student still having one,
    decided together by ``facerec.match_faces`` with the gallery's own calibration capped at
    ``threshold`` (as a course's class photo is), the review band up to ``review_threshold`` and
    the runner-up ``margin``.
    shown: (N, D) the same photos as a class photo shows them (e.g. degraded), used for every
        face that is not a gallery row; default ``x``. found: (N,) bool, False where the
        detector found no face in the shown photo (an enrolled face missed, a stranger unknown).
    qualities: N ``FaceQuality`` of the shown faces (None: not measured), as the capture passes.
    """
    labels = np.asarray(labels)
    y = head(np.asarray(x, np.float32))
    z = y if shown is None else head(np.asarray(shown, np.float32))
    seen = np.ones(len(labels), bool) if found is None else np.asarray(found, bool)
    people = [p for p, n in zip(*np.unique(labels, return_counts=True), strict=True) if n >= 2]
    order = np.random.default_rng(seed).permutation(len(people))
    half = len(order) // 2
    halves = [[people[i] for i in order[:half]], [people[i] for i in order[half:]]]
    totals = dict.fromkeys(OpenSetScores.__dataclass_fields__, 0)
    totals["students"] = len(people)
    faces = _Faces(y, z, seen, qualities)
    for enrolled, strangers in (halves, halves[::-1]):
        _score_fold(faces, labels, enrolled, strangers, totals, threshold, review_threshold, margin)
    return OpenSetScores(**totals)


@dataclass
class _Faces:
    gallery: np.ndarray
    shown: np.ndarray
    found: np.ndarray
    qualities: Sequence[FaceQuality | None] | None


def _score_fold(faces: _Faces, labels, enrolled, strangers, totals, threshold, review, margin):
    rows = {p: np.flatnonzero(labels == p) for p in [*enrolled, *strangers]}
    gallery_rows, gallery_labels, probes = [], [], {}
    for person in enrolled:
        refs = min(REFERENCES, len(rows[person]) - 1)
        gallery_rows += rows[person][:refs].tolist()
        gallery_labels += [person] * refs
        probes[person] = rows[person][refs:].tolist()
    for person in strangers:
        probes[person] = rows[person].tolist()
    if not gallery_rows:
        return
    gallery = faces.gallery[gallery_rows]
    calibration = calibrate_gallery(gallery, gallery_labels, model_threshold=threshold)
    known = set(enrolled)
    for shot in range(max((len(v) for v in probes.values()), default=0)):
        shown = [(p, v[shot]) for p, v in probes.items() if shot < len(v)]
        for person, _ in (s for s in shown if not faces.found[s[1]]):
            _count(totals, person in known, person, None)  # the detector missed the face
        shown = [(p, row) for p, row in shown if faces.found[row]]
        if not shown:
            continue
        quality = None if faces.qualities is None else [faces.qualities[r] for _, r in shown]
        matches = match_faces(
            faces.shown[[row for _, row in shown]],
            gallery,
            gallery_labels,
            threshold=calibration.threshold,
            review_threshold=review,
            margin=margin,
            qualities=quality,
        )
        for (person, _), match in zip(shown, matches, strict=True):
            _count(totals, person in known, person, match)


def _count(totals: dict, enrolled: bool, person, match) -> None:
    totals["enrolled_faces" if enrolled else "stranger_faces"] += 1
    if match is None:
        totals["strangers_unknown"] += 0 if enrolled else 1
    elif match.decision == "review":
        totals["reviews"] += 1
    elif match.decision == "auto":
        if not enrolled:
            totals["strangers_auto"] += 1
        elif match.label == person:
            totals["auto_right"] += 1
        else:
            totals["auto_wrong"] += 1
    elif not enrolled:
        totals["strangers_unknown"] += 1


def promotion_verdict(challenger: OpenSetScores, champion: OpenSetScores) -> list[str]:
    """Why the challenger may not replace the champion (empty: it may). It must be at least as
    precise and more accurate on the same held-out students."""
    reasons = []
    if challenger.precision < champion.precision:
        reasons.append(
            f"less precise: {challenger.precision:.2%} of its automatic marks are right, "
            f"the serving model's {champion.precision:.2%}"
        )
    if challenger.accuracy <= champion.accuracy:
        reasons.append(
            f"not more accurate: it decides {challenger.accuracy:.2%} of the faces rightly "
            f"without a person, the serving model {champion.accuracy:.2%}"
        )
    return reasons
