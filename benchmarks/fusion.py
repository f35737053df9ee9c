"""`python -m benchmarks fusion`: LFW View 2 with the second backbone (dlib) and both.

Rows: FaceNet alone, dlib alone, the plain weighted sum of both cosine similarities (no
training; the dlib weight fixed, or chosen on the nine other folds), and the Siamese head over
both (one head per test fold, trained on the LFW people outside that fold, as ``bench`` does).
Every image goes through the whole pipeline (MTCNN -> FaceNet box crop / dlib chip -> both
networks), embeddings cached by ````facerec.training.embeddings``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.evaluation import kfold_accuracy, pair_distances
from benchmarks.lfw import Row, fmt_acc, fold_scores
from benchmarks.lfw_pairs import Pair, pair_fold_people, read_pairs
from facerec.model import fuse
from facerec.training import tar_at_far

DLIB_WEIGHTS = (1.0, 2.0, 2.5, 3.0)  # the plain-sum weights tabled (the issue measured 2-3)


@dataclass
class FusionData:
    """Pairs (indices into the image rows) and both backbones' unit embeddings per image."""

    pairs: list[Pair]
    left: np.ndarray
    right: np.ndarray
    same: np.ndarray
    fold: np.ndarray
    labels: np.ndarray  # person per image row
    facenet: np.ndarray  # (N, 512)
    dlib: np.ndarray  # (N, 128)
    log: object = sys.stderr

    @classmethod
    def build(cls, files, facenet, dlib, pairs: list[Pair], log=sys.stderr) -> FusionData:
        """Keep the pairs whose two images are among ``files`` (normally all of them)."""
        index = {str(f): i for i, f in enumerate(files)}
        pairs = [p for p in pairs if p.left in index and p.right in index]
        return cls(
            pairs=pairs,
            left=np.array([index[p.left] for p in pairs]),
            right=np.array([index[p.right] for p in pairs]),
            same=np.array([p.same for p in pairs]),
            fold=np.array([p.fold for p in pairs]),
            labels=np.array([str(f).split("/")[0] for f in files]),
            facenet=np.asarray(facenet, np.float32),
            dlib=np.asarray(dlib, np.float32),
            log=log,
        )

    def fused(self, dlib_weight: float) -> np.ndarray:
        return fuse([self.facenet, self.dlib], [1.0, dlib_weight])


def load(datasets: Path, log=sys.stderr) -> FusionData:
    """All of LFW from the caches (computed on first use: ~25 min on a quiet 2-core machine)."""
    from facerec.alignment import DEFAULT_METHOD
    from facerec.training import embeddings as cache
    from facerec.training.embeddings import dlib_embeddings

    root = datasets / "lfw"
    files = [str(f) for f in cache.detections(root, log=log)["files"]]
    facenet = cache.embeddings(root, DEFAULT_METHOD, flip=False, log=log)
    dlib = dlib_embeddings(root, log=log)
    return FusionData.build(files, facenet, dlib, read_pairs(datasets / "lfw_pairs.txt"), log)


def choose_per_fold(distances: dict, same: np.ndarray, fold: np.ndarray):
    """Per-fold accuracy when each test fold k uses the option (a dlib weight) that scores best
    on the other folds, and its threshold is chosen on those folds *in that option's own
    distances*: options differ in scale, so thresholds never cross from one to another.
    ``distances``: {option: (pairs,) distances}, in preference order for ties.
    Returns (accuracies per fold, the option chosen per fold)."""
    from facerec.training import accuracy, best_threshold

    options = list(distances)
    accs, chosen = [], []
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        best = max(
            options,
            key=lambda o: kfold_accuracy(distances[o][train], same[train], fold[train]).mean(),
        )
        threshold = best_threshold(distances[best][train], same[train])
        accs.append(accuracy(distances[best][test], same[test], threshold))
        chosen.append(best)
    return np.array(accs), chosen


def weighted_sum_scores(data: FusionData, weights=(1.0, 1.5, 2.0, 2.5, 3.0, 4.0)):
    """The plain sum with the dlib weight chosen per test fold on the nine other folds; the
    TAR is that of the weight chosen most often (distances of different weights don't mix)."""
    distances = {w: pair_distances(data.fused(w), data.left, data.right) for w in weights}
    accs, chosen = choose_per_fold(distances, data.same, data.fold)
    usual = max(set(chosen), key=chosen.count)
    return accs, tar_at_far(distances[usual], data.same, 1e-3), chosen


def fold_heads(data: FusionData, x_for, config_for, log=sys.stderr):
    """One head per test fold k, trained on ``x_for(k)`` of the people outside that fold;
    returns (heads, folds where the head beat the plain sum on its validation people)."""
    from facerec.training import train_head

    fold_people = pair_fold_people(data.pairs)
    heads, kept = [], 0
    for k in sorted(fold_people):
        outside = ~np.isin(data.labels, list(fold_people[k]))
        print(f"fold {k + 1}: training head on {outside.sum()} images", file=log, flush=True)
        x = x_for(k)
        result = train_head(x[outside], data.labels[outside], config_for(k), log=log)
        kept += result.improved
        heads.append(result.head)
    return heads, kept


def own_space_accuracy(data: FusionData, embed_by_fold, inputs_by_fold) -> np.ndarray:
    """Fold accuracies with fold k's threshold chosen on the other nine folds' pairs embedded
    by fold k's own head. (Taking the other folds' distances under *their* heads, as the
    FaceNet-only benchmark does, breaks when one fold keeps the plain sum and the others a
    head: the two spaces have different scales, 0.68 against 1.13 here.) Those folds' people
    trained head k, so this threshold is, if anything, biased against the head."""
    from facerec.training import accuracy, best_threshold

    accs = []
    for k in np.unique(data.fold):
        y = embed_by_fold[k](inputs_by_fold[k])
        distance = pair_distances(y, data.left, data.right)
        test = data.fold == k
        threshold = best_threshold(distance[~test], data.same[~test])
        accs.append(accuracy(distance[test], data.same[test], threshold))
    return np.array(accs)


def rows(data: FusionData, *, config_for) -> list[Row]:
    out = []
    for label, x in (("FaceNet alone", data.facenet), ("dlib alone", data.dlib)):
        accs, tar = fold_scores(data, lambda _, x=x: x)
        out.append(Row(f"LFW {label}", fmt_acc(accs), f"TAR@FAR0.1% {tar * 100:.2f}%"))
    for w in DLIB_WEIGHTS:
        accs, tar = fold_scores(data, lambda _, w=w: data.fused(w))
        out.append(
            Row(
                f"LFW plain sum, dlib weight {w:g}",
                fmt_acc(accs),
                f"TAR@FAR0.1% {tar * 100:.2f}%; no training",
            )
        )
    accs, tar, chosen = weighted_sum_scores(data)
    out.append(
        Row(
            "LFW plain sum, weight from other folds",
            fmt_acc(accs),
            f"TAR@FAR0.1% {tar * 100:.2f}%; weights {','.join(f'{w:g}' for w in chosen)}",
        )
    )
    # Each fold's head sits on the plain sum with that fold's weight (chosen on the other nine).
    inputs = {w: data.fused(w) for w in set(chosen)}
    heads, kept = fold_heads(data, lambda k: inputs[chosen[k]], config_for, data.log)
    accs = own_space_accuracy(
        data, [lambda x, h=h: h(x) for h in heads], [inputs[w] for w in chosen]
    )
    out.append(
        Row(
            "LFW Siamese over both",
            fmt_acc(accs),
            f"per-fold heads, kept in {kept}/10 folds; threshold from the other nine folds "
            "embedded by the test fold's own head",
        )
    )
    return out


def _median_ms(fn, repeats: int) -> float:
    import statistics
    import time

    fn()  # warm-up: the first call loads models
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _identity_model(folder: Path, backbones_meta: list[dict] | None) -> Path:
    """A metadata JSON with no head (identity) over the given backbones, for timing only."""
    import json

    from facerec.model import metadata

    meta = {k: v for k, v in metadata().items() if k != "backbones"}
    meta |= {"version": "timing", "weights": None}
    if backbones_meta:
        meta |= {
            "backbones": backbones_meta,
            "embedding_dim": sum(b["dim"] for b in backbones_meta),
        }
    else:
        meta["embedding_dim"] = 512
    path = folder / f"timing-{len(backbones_meta or [])}.json"
    path.write_text(json.dumps(meta))
    return path


def speed_rows(datasets: Path, *, repeats: int = 5, dlib_native: int = 8) -> list[Row]:
    """analyze_photo on a 30-face 1920x1080 class photo composed from LFW, with FaceNet alone
    and with both backbones (head cost is a matrix product, left out); per-face embedding cost
    of the dlib network in TensorFlow and, for comparison, in dlib itself."""
    import os
    import tempfile

    from benchmarks.synth import build_roster, compose_class_photo
    from facerec.dlib_backbone import dlib_descriptors, weights_path
    from facerec.imageio import load_image
    from facerec.pipeline import analyze_photo, face_chips
    from facerec.training.fusion import backbones_entry

    roster = build_roster(datasets / "lfw", enrolled=30, strangers=0, seed=1)
    photo = compose_class_photo(
        [(p, paths[0]) for p, paths in roster.probes.items()], width=1920, height=1080, seed=1
    )
    image = load_image(photo.jpeg)
    out, saved = [], os.environ.get("ROLLCALL_FACE_MODEL")
    with tempfile.TemporaryDirectory() as folder:
        for label, meta in (("FaceNet alone", None), ("FaceNet + dlib", backbones_entry(2.5))):
            os.environ["ROLLCALL_FACE_MODEL"] = str(_identity_model(Path(folder), meta))
            found = len(analyze_photo(image).faces)  # warm-up: loads the models
            runs = []
            for _ in range(repeats):
                timings: dict[str, float] = {}
                analyze_photo(image, timings=timings)
                runs.append(timings)
            total = float(np.median([sum(t.values()) for t in runs]))
            stages = ", ".join(f"{k[:-3]} {np.median([t[k] for t in runs]):.0f}" for k in runs[0])
            out.append(
                Row(
                    f"30-face 1920x1080 photo, {label}",
                    f"{total:.0f} ms",
                    f"median of {repeats}; {found} faces; median ms per stage: {stages}",
                )
            )
        chips = np.stack(face_chips(image, [f.face for f in analyze_photo(image).faces]))
    if saved is None:
        os.environ.pop("ROLLCALL_FACE_MODEL", None)
    else:
        os.environ["ROLLCALL_FACE_MODEL"] = saved
    one = _median_ms(lambda: dlib_descriptors(chips[:1]), repeats)
    batch = _median_ms(lambda: dlib_descriptors(chips), repeats) / len(chips)
    out.append(
        Row(
            "dlib network in TensorFlow, per face",
            f"{one:.0f} ms at batch 1",
            f"{batch:.1f} ms at batch {len(chips)}",
        )
    )
    if dlib_native:
        import dlib

        net = dlib.face_recognition_model_v1(str(weights_path()))
        native = (
            _median_ms(lambda: net.compute_face_descriptor(list(chips[:dlib_native])), 1)
            / dlib_native
        )
        out.append(
            Row("dlib network in dlib, per face", f"{native:.0f} ms", f"batch {dlib_native}")
        )
    return out


def run_fusion(datasets: Path, *, log=sys.stderr) -> list[Row]:
    from facerec.training import TrainConfig

    data = load(datasets, log)
    return rows(data, config_for=lambda k: TrainConfig(seed=k)) + speed_rows(datasets)
