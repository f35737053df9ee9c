"""Training the Siamese network on cached backbone embeddings.

The Keras model is the classic Siamese set-up: two towers sharing weights, a Euclidean distance
layer and a contrastive loss on same/different pairs. The backbone is frozen, so a tower's input
is the backbone embedding (computed once and cached) and only the head is trained; this keeps
training to a minute on a CPU. The head is residual with a zero-initialised last layer and L2
normalisation, so before training it returns the backbone embedding unchanged and it can only be
kept when it beats the backbone on people it never saw.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from facerec.model import Head
from facerec.training.metrics import accuracy, best_threshold, tar_at_far, threshold_at_far


@dataclass
class TrainConfig:
    hidden: tuple[int, ...] = ()  # hidden Dense sizes before the zero-initialised projection
    # Contrastive margins. Different people are pushed until `margin` apart (backbone distances
    # of strangers are mostly 1.2-1.5); same-person pairs closer than `positive_margin` cost
    # nothing. Measured on held-out people of LFW folds 2-10 with heads on the FaceNet-512
    # backbone (backbone.BACKBONE_NAME; the backbone alone: 98.23%): plain contrastive
    # (positive_margin 0) always lost, 93-98.4%, because pulling every same-person pair to
    # distance 0 squeezed the space; positive_margin 0.6-0.8 and margin 1.3-1.5 all gave 98.6-98.8%.
    margin: float = 1.4
    positive_margin: float = 0.7
    epochs: int = 6
    pairs_per_epoch: int = 30_000
    batch_size: int = 256
    learning_rate: float = 1e-4
    # Strong weight decay keeps the head near the identity: LFW has ~1,700 people with 2+ photos,
    # far fewer than the backbone's 10,000 training identities, and a freer head overfit them.
    l2: float = 1e-2
    hard_fraction: float = 0.5  # share of negative pairs drawn from each face's nearest strangers
    max_images_per_person: int = 30  # so a few much-photographed people do not dominate
    validation_people: float = 0.15  # share of people (with 2+ images) held out for validation
    seed: int = 0


@dataclass
class TrainResult:
    head: Head
    improved: bool
    validation: dict = field(default_factory=dict)
    history: list = field(default_factory=list)


def split_people(labels: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean row masks (train, validation) holding out ``share`` of the people with 2+ images;
    no person is on both sides, so validation measures faces the head never saw."""
    rng = np.random.default_rng(seed)
    people, counts = np.unique(labels, return_counts=True)
    multi = people[counts >= 2]
    held = set(rng.choice(multi, size=max(1, int(len(multi) * share)), replace=False).tolist())
    val = np.array([label in held for label in labels])
    return ~val, val


def validation_pairs(labels: np.ndarray, rng: np.random.Generator, count: int = 3000):
    """Up to ``count`` same-person and as many different-person (left, right, same) index pairs.

    Same-person pairs are drawn person first, then two of their photos, so that (as in LFW's
    own pairs) a few people with hundreds of photos do not make up most of the validation.
    """
    groups = [rows for rows in _index_by_person(labels).values() if len(rows) >= 2]
    if not groups:
        raise ValueError("validation needs people with at least two images")
    seen: set[tuple[int, int]] = set()
    for _ in range(count * 3):
        rows = groups[rng.integers(len(groups))]
        a, b = sorted(rng.choice(rows, 2, replace=False).tolist())
        seen.add((a, b))
        if len(seen) == count:
            break
    pos = np.array(sorted(seen))
    neg = _random_negatives(labels, len(pos), rng)
    left = np.concatenate([pos[:, 0], neg[:, 0]])
    right = np.concatenate([pos[:, 1], neg[:, 1]])
    same = np.concatenate([np.ones(len(pos), bool), np.zeros(len(neg), bool)])
    return left, right, same


def _index_by_person(labels: np.ndarray, cap: int | None = None, rng=None) -> dict:
    by_person: dict = {}
    for i, label in enumerate(labels):
        by_person.setdefault(label, []).append(i)
    if cap is not None and rng is not None:
        by_person = {
            k: (list(rng.choice(v, cap, replace=False)) if len(v) > cap else v)
            for k, v in by_person.items()
        }
    return by_person


def _random_negatives(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 2) pairs of different people: two people uniformly, then one photo of each (so
    much-photographed people are not most of the strangers either)."""
    groups = list(_index_by_person(labels).values())
    a = rng.integers(0, len(groups), size=count * 2)
    b = rng.integers(0, len(groups), size=count * 2)
    keep = a != b
    a, b = a[keep][:count], b[keep][:count]
    return np.array(
        [[rng.choice(groups[i]), rng.choice(groups[j])] for i, j in zip(a, b, strict=True)]
    )


def _hard_negatives(x: np.ndarray, labels: np.ndarray, k: int = 20) -> np.ndarray:
    """(N, k) indices of each row's k nearest rows of other people (backbone space)."""
    out = np.zeros((len(x), k), np.int64)
    for lo in range(0, len(x), 2048):
        sim = x[lo : lo + 2048] @ x.T
        sim[labels[lo : lo + 2048, None] == labels[None, :]] = -np.inf
        out[lo : lo + 2048] = np.argpartition(-sim, k, axis=1)[:, :k]
    return out


def training_pairs(
    labels: np.ndarray, hard: np.ndarray, config: TrainConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One epoch of balanced pairs: (left, right, same as float 1/0)."""
    by_person = _index_by_person(labels, config.max_images_per_person, rng)
    groups = [v for v in by_person.values() if len(v) >= 2]
    half = config.pairs_per_epoch // 2
    owners = rng.integers(0, len(groups), size=half)
    pos = np.array([rng.choice(groups[g], 2, replace=False) for g in owners])
    n_hard = int(half * config.hard_fraction)
    people = list(_index_by_person(labels).values())
    anchors = np.array(
        [rng.choice(people[p]) for p in rng.integers(0, len(people), n_hard)], dtype=np.int64
    )
    hard_pairs = np.stack([anchors, hard[anchors, rng.integers(0, hard.shape[1], n_hard)]], 1)
    neg = np.concatenate([hard_pairs, _random_negatives(labels, half - n_hard, rng)])
    left = np.concatenate([pos[:, 0], neg[:, 0]])
    right = np.concatenate([pos[:, 1], neg[:, 1]])
    same = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.float32)
    order = rng.permutation(len(left))
    return left[order], right[order], same[order]


def build_siamese(dim: int, config: TrainConfig):
    """(siamese, tower): Keras models. siamese([a, b]) -> distance; tower(x) -> unit vector."""
    import keras
    from keras import layers, ops

    reg = keras.regularizers.L2(config.l2)
    inputs = keras.Input((dim,), name="backbone_embedding")
    h = inputs
    for i, units in enumerate(config.hidden):
        h = layers.Dense(units, activation="relu", kernel_regularizer=reg, name=f"hidden_{i}")(h)
    # Zero init: the tower starts as the identity on the (already unit) backbone embedding.
    h = layers.Dense(dim, kernel_initializer="zeros", kernel_regularizer=reg, name="residual")(h)
    summed = layers.Add(name="skip")([inputs, h])
    out = layers.UnitNormalization(name="l2_normalize")(summed)
    tower = keras.Model(inputs, out, name="tower")

    left = keras.Input((dim,), name="left")
    right = keras.Input((dim,), name="right")
    distance = layers.Lambda(
        lambda t: ops.sqrt(
            ops.maximum(ops.sum(ops.square(t[0] - t[1]), axis=1, keepdims=True), 1e-12)
        ),
        name="euclidean_distance",
    )([tower(left), tower(right)])
    siamese = keras.Model([left, right], distance, name="siamese")
    siamese.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss=contrastive_loss(config.margin, config.positive_margin),
    )
    return siamese, tower


def contrastive_loss(margin: float, positive_margin: float = 0.0):
    """Hadsell et al. 2006: same pairs pay max(d - positive_margin, 0)^2 (plain d^2 with the
    default 0), different pairs pay max(margin - d, 0)^2."""
    from keras import ops

    def loss(same, distance):
        same = ops.cast(same, distance.dtype)
        return ops.mean(
            same * ops.square(ops.maximum(distance - positive_margin, 0.0))
            + (1.0 - same) * ops.square(ops.maximum(margin - distance, 0.0))
        )

    return loss


def head_from_tower(tower) -> Head:
    dense = [layer for layer in tower.layers if layer.__class__.__name__ == "Dense"]
    return Head([(layer.get_weights()[0], layer.get_weights()[1]) for layer in dense])


def evaluate_head(head: Head, x: np.ndarray, pairs) -> dict:
    """Accuracy (best threshold, 2-fold: threshold from one half applied to the other),
    TAR at FAR 0.1% and the distance thresholds at FAR 0.1% and 1% on validation pairs."""
    left, right, same = pairs
    y = head(x)
    distance = np.linalg.norm(y[left] - y[right], axis=1)
    half = np.arange(len(same)) % 2 == 0
    accs = [
        accuracy(distance[~h], same[~h], best_threshold(distance[h], same[h]))
        for h in (half, ~half)
    ]
    return {
        "accuracy": float(np.mean(accs)),
        "tar_at_far_0.1%": tar_at_far(distance, same, 1e-3),
        "threshold_far_0.1%": threshold_at_far(distance, same, 1e-3),
        "threshold_far_1%": threshold_at_far(distance, same, 1e-2),
        "best_threshold": best_threshold(distance, same),
        "pairs": int(len(same)),
    }


def train_head(
    x: np.ndarray, labels: np.ndarray, config: TrainConfig | None = None, *, log=sys.stderr
) -> TrainResult:
    """Train the Siamese head on backbone embeddings ``x`` (N, D) of people ``labels`` (N,).

    Holds out config.validation_people of the people; returns the trained head only if its
    validation accuracy beats the backbone alone (the identity head), else the identity head.
    """
    import keras

    config = config or TrainConfig()
    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    labels = np.asarray(labels)
    train, val = split_people(labels, config.validation_people, config.seed)
    val_pairs = validation_pairs(labels[val], np.random.default_rng(config.seed + 1))
    baseline = evaluate_head(Head.identity(x.shape[1]), x[val], val_pairs)
    print(f"backbone alone on held-out people: {baseline['accuracy']:.4f}", file=log, flush=True)

    xt, lt = x[train], labels[train]
    hard = _hard_negatives(xt, lt)
    siamese, tower = build_siamese(x.shape[1], config)
    best, best_score, history = None, baseline["accuracy"], []
    for epoch in range(config.epochs):
        left, right, same = training_pairs(lt, hard, config, rng)
        fit = siamese.fit(
            [xt[left], xt[right]], same, batch_size=config.batch_size, epochs=1, verbose=0
        )
        head = head_from_tower(tower)
        scores = evaluate_head(head, x[val], val_pairs)
        history.append({"epoch": epoch + 1, "loss": float(fit.history["loss"][-1]), **scores})
        print(
            f"epoch {epoch + 1}: loss {history[-1]['loss']:.4f} "
            f"val acc {scores['accuracy']:.4f} tar@0.1% {scores['tar_at_far_0.1%']:.4f}",
            file=log,
            flush=True,
        )
        if scores["accuracy"] > best_score:
            best, best_score = head, scores["accuracy"]
    if best is None:
        return TrainResult(Head.identity(x.shape[1]), False, baseline, history)
    return TrainResult(
        best, True, evaluate_head(best, x[val], val_pairs) | {"baseline": baseline}, history
    )
