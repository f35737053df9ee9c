"""`python -m facerec train`: train, compare with the current model, and save a versioned head."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from facerec.model import DEFAULT_METADATA, Head, current_head, metadata
from facerec.training.siamese import (
    TrainConfig,
    evaluate_head,
    split_people,
    train_head,
    validation_pairs,
)

FAR_ACCEPT = 1e-3  # auto-accept threshold: 0.1% of strangers' pairs would pass
FAR_REVIEW = 1e-2  # review band up to 1%: a person checks these


def train_and_save(
    data: Path,
    out: Path | None,
    *,
    epochs: int | None = None,
    force: bool = False,
    flip: bool | None = None,
    log=sys.stderr,
) -> int:
    """Train on a folder-per-person dataset; write the head only if it beats the backbone and
    the current model on held-out people (or with force). Returns a process exit code."""
    from facerec.alignment import DEFAULT_METHOD
    from facerec.training import embeddings as dataset_embeddings

    if flip is None:
        flip = bool(metadata().get("flip", False)) if _has_current() else True
    x = dataset_embeddings.embeddings(data, DEFAULT_METHOD, flip=False, log=log)
    if flip:
        x = _normalize(x + dataset_embeddings.embeddings(data, DEFAULT_METHOD, flip=True, log=log))
    det = dataset_embeddings.detections(data, log=log)
    labels = np.array([str(f).split("/")[0] for f in det["files"]])
    config = TrainConfig(epochs=epochs or TrainConfig.epochs)
    result = train_head(x, labels, config, log=log)
    _, val = split_people(labels, config.validation_people, config.seed)
    pairs = validation_pairs(labels[val], np.random.default_rng(config.seed + 1))
    current = evaluate_head(current_head(), x[val], pairs) if _has_current() else None
    new = evaluate_head(result.head, x[val], pairs)
    backbone = evaluate_head(Head.identity(x.shape[1]), x[val], pairs)
    current_acc = current["accuracy"] if current else float("nan")
    print(
        f"held-out accuracy: backbone {backbone['accuracy']:.4f}, current {current_acc:.4f}, "
        f"new {new['accuracy']:.4f}",
        file=log,
    )
    better = result.improved and (current is None or new["accuracy"] > current["accuracy"])
    if not (better or force or current is None):
        print("The new head is not better on unseen people; the current model is kept.", file=log)
        return 0
    if current is None and not result.improved:
        # Nothing ships yet: ship the backbone itself (identity head), calibrated on these people.
        print("The head did not beat the backbone; shipping the identity head.", file=log)
        new = backbone
    meta = _metadata(result.head, new, data, labels, val, det, config, flip, result.history)
    meta["metrics"]["backbone_validation_accuracy"] = round(backbone["accuracy"], 4)
    _carry_over_match_rule(meta)
    path = save_model(result.head, meta, out)
    print(f"wrote {path} (version {meta['version']})", file=log)
    return 0


def _carry_over_match_rule(meta: dict) -> None:
    """Keep the class-photo match margin of the current model (set by the attendance calibration,
    not by this trainer), flagged for recalibration: it was measured with the old head."""
    if not _has_current() or "match_margin" not in metadata():
        return
    old = metadata()
    meta["match_margin"] = old["match_margin"]
    meta["match_rule"] = (
        f"carried over from {old['version']}; recalibrate for this head with "
        "`python -m benchmarks attendance` (the accept threshold here is the 1:1 rule). "
        f"Previous rule: {old.get('match_rule', '')}"
    )


def _has_current() -> bool:
    try:
        metadata()
    except Exception:  # noqa: BLE001 - no shipped model yet
        return False
    return True


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _metadata(head, scores, data, labels, val, det, config, flip, history) -> dict:
    from facerec.alignment import BOX_MARGIN, DEFAULT_METHOD
    from facerec.backbone import BACKBONE_NAME

    digest = hashlib.sha1(b"".join(k.tobytes() for k, _ in head.weights)).hexdigest()[:8]
    today = dt.datetime.now(dt.UTC)
    return {
        "version": f"facenet512-siamese-{today:%Y%m%d}-{digest}",
        "created": today.isoformat(timespec="seconds"),
        "backbone": BACKBONE_NAME,
        "embedding_dim": int(head.weights[-1][0].shape[1]),
        "alignment": {"method": DEFAULT_METHOD, "box_margin": BOX_MARGIN, "size": 160},
        "flip": flip,
        "distance": "euclidean between unit vectors",
        "threshold": round(scores["threshold_far_0.1%"], 4),
        "threshold_rule": f"largest distance with false-accept rate <= {FAR_ACCEPT:.1%} on "
        "validation pairs of held-out people",
        "review_threshold": round(max(scores["threshold_far_1%"], scores["threshold_far_0.1%"]), 4),
        "review_rule": f"false-accept rate <= {FAR_REVIEW:.0%} on the same pairs",
        "trained_on": (
            f"{Path(data).name} (every person in the folder): {len(set(labels[~val]))} people / "
            f"{int((~val).sum())} images for training, {len(set(labels[val]))} held-out people / "
            f"{int(val.sum())} images for validation"
        ),
        "detector_misses": int((~det["found"]).sum()),
        "metrics": {
            "validation_accuracy": round(scores["accuracy"], 4),
            "validation_tar_at_far_0.1%": round(scores["tar_at_far_0.1%"], 4),
            "validation_pairs": scores["pairs"],
            "backbone_validation_accuracy": None,
        },
        "training": {
            "loss": (
                f"contrastive, margin {config.margin} (different people), "
                f"{config.positive_margin} (same person)"
            ),
            "learning_rate": config.learning_rate,
            "l2": config.l2,
            "hidden": list(config.hidden),
            "epochs_run": len(history),
            "pairs_per_epoch": config.pairs_per_epoch,
            "hard_negative_fraction": config.hard_fraction,
            "seed": config.seed,
        },
        "weights": "siamese-head.npz",
    }


def save_model(head: Head, meta: dict, out: Path | None) -> Path:
    folder = Path(out) if out else DEFAULT_METADATA.parent
    folder.mkdir(parents=True, exist_ok=True)
    head.save(folder / meta["weights"])
    path = folder / "siamese-head.json"
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path
