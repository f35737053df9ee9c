"""`python -m facerec train` (default): the Siamese head over both backbones.

The tower's input is one vector per face: the FaceNet (512-d) and dlib (128-d) unit
embeddings, dlib's scaled by sqrt(weight), concatenated and normalised (``model.fuse``), so
an untrained head *is* the plain weighted sum of both cosine similarities. The head, its loss
and the threshold calibration are those of the FaceNet-only trainer (``training.train_head``,
``trainer._metadata``); the dlib weight is chosen on the held-out validation people.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from facerec.model import DLIB, FACENET, Head, backbones, current_head, fuse
from facerec.training.siamese import (
    TrainConfig,
    evaluate_head,
    split_people,
    train_head,
    validation_pairs,
)

WEIGHT_CANDIDATES = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0)


def model_inputs(used: list[dict], facenet: np.ndarray, dlib: np.ndarray) -> np.ndarray:
    """The head input of a model whose metadata names ``used`` backbones."""
    parts = {FACENET: facenet, DLIB: dlib}
    return fuse([parts[b["name"]] for b in used], [float(b.get("weight", 1.0)) for b in used])


def backbones_entry(dlib_weight: float) -> list[dict]:
    from facerec.alignment import BOX_MARGIN
    from facerec.backbone import BACKBONE_NAME
    from facerec.dlib_backbone import CHIP_PADDING, CHIP_SIZE, DLIB_BACKBONE_NAME

    return [
        {
            "name": FACENET,
            "description": BACKBONE_NAME,
            "dim": 512,
            "weight": 1.0,
            "input": f"MTCNN box + {BOX_MARGIN:g} margin stretched to 160x160",
        },
        {
            "name": DLIB,
            "description": DLIB_BACKBONE_NAME,
            "dim": 128,
            "weight": dlib_weight,
            "input": f"dlib 5-point shape predictor inside the MTCNN box, get_face_chip "
            f"{CHIP_SIZE}x{CHIP_SIZE}, padding {CHIP_PADDING}",
        },
    ]


def choose_weight(facenet, dlib, labels, config: TrainConfig) -> tuple[float, dict]:
    """The dlib weight whose plain sum scores best on the validation people (never on a test
    fold); returns (weight, {weight: validation accuracy})."""
    _, val = split_people(labels, config.validation_people, config.seed)
    pairs = validation_pairs(labels[val], np.random.default_rng(config.seed + 1))
    scores: dict[float, float] = {}
    for w in WEIGHT_CANDIDATES:
        x = fuse([facenet[val], dlib[val]], [1.0, w])
        scores[w] = evaluate_head(Head.identity(x.shape[1]), x, pairs)["accuracy"]
    return max(scores, key=lambda w: scores[w]), scores


def train_fused(
    facenet: np.ndarray,
    dlib: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    *,
    dlib_weight: float | None = None,
    log=sys.stderr,
):
    """(TrainResult, dlib weight) for a head over both backbones' embeddings of ``labels``."""
    if dlib_weight is None:
        dlib_weight, scores = choose_weight(facenet, dlib, labels, config)
        print(f"dlib weight {dlib_weight:g} (validation accuracy {scores})", file=log, flush=True)
    x = fuse([facenet, dlib], [1.0, dlib_weight])
    return train_head(x, labels, config, log=log), dlib_weight


def train_and_save(
    data: Path,
    out: Path | None,
    *,
    epochs: int | None = None,
    force: bool = False,
    config: TrainConfig | None = None,
    log=sys.stderr,
) -> int:
    """Train on a folder-per-person dataset; write the model only if the new head beats the
    current model on the held-out validation people (or with ``force``). Exit code."""
    from facerec.alignment import DEFAULT_METHOD
    from facerec.training import embeddings as cache
    from facerec.training import trainer

    facenet = cache.embeddings(data, DEFAULT_METHOD, flip=False, log=log)
    dlib = cache.dlib_embeddings(data, log=log)
    det = cache.detections(data, log=log)
    labels = np.array([str(f).split("/")[0] for f in det["files"]])
    config = config or TrainConfig(epochs=epochs or TrainConfig.epochs)
    result, weight = train_fused(facenet, dlib, labels, config, log=log)

    _, val = split_people(labels, config.validation_people, config.seed)
    pairs = validation_pairs(labels[val], np.random.default_rng(config.seed + 1))
    x = fuse([facenet, dlib], [1.0, weight])
    new = evaluate_head(result.head, x[val], pairs)
    plain = evaluate_head(Head.identity(x.shape[1]), x[val], pairs)
    current = evaluate_head(current_head(), model_inputs(backbones(), facenet, dlib)[val], pairs)
    print(
        f"held-out accuracy: current model {current['accuracy']:.4f}, plain sum "
        f"{plain['accuracy']:.4f}, new head {new['accuracy']:.4f}",
        file=log,
    )
    if not result.improved:
        new = plain  # the head did not beat the plain sum: ship the sum (identity head)
    if not (new["accuracy"] > current["accuracy"] or force):
        print("Not better than the current model on unseen people; it is kept.", file=log)
        return 0
    meta = trainer._metadata(
        result.head, new, data, labels, val, det, config, False, result.history
    )
    meta["version"] = meta["version"].replace("facenet512-", "facenet512-dlib128-")
    meta["backbone"] = " + ".join(b["description"] for b in backbones_entry(weight))
    meta["backbones"] = backbones_entry(weight)
    meta["embedding_dim"] = int(x.shape[1])
    meta["metrics"]["plain_sum_validation_accuracy"] = round(plain["accuracy"], 4)
    meta["metrics"]["previous_model_validation_accuracy"] = round(current["accuracy"], 4)
    meta["metrics"]["backbone_validation_accuracy"] = round(
        evaluate_head(Head.identity(512), facenet[val], pairs)["accuracy"], 4
    )
    trainer._carry_over_match_rule(meta)
    path = trainer.save_model(result.head, meta, out)
    print(f"wrote {path} (version {meta['version']})", file=log)
    return 0
