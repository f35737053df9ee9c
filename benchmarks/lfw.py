"""`python -m benchmarks lfw`: accuracy and speed of the whole pipeline, printed as one table.

LFW View 2: every pair image goes through detection -> alignment -> embedding from the raw
250x250 photo. When the detector finds no face, a centre crop is used and counted (LFW photos are
centred on the labelled person). The Siamese rows train one head per fold on LFW people outside
that fold (View 2 folds share no person), so no test person is ever seen in training.
"""

from __future__ import annotations

import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.evaluation import kfold_accuracy, pair_distances
from benchmarks.lfw_pairs import pair_fold_people, read_pairs
from facerec.training import tar_at_far
from facerec.types import box_iou

IOU_MATCH = 0.4  # a detection counts as a marked face when their boxes overlap by IoU >= 0.4
QUICK_PAIRS_PER_FOLD = 60  # --quick: the first 60 same and 60 different pairs of each fold


@dataclass
class Row:
    name: str
    value: str
    note: str = ""


def normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class LfwData:
    """Pairs, image list and cached backbone embeddings for the benchmark."""

    def __init__(self, datasets: Path, quick: bool, log=sys.stderr) -> None:
        from facerec.training import embeddings as dataset_embeddings

        self.root = datasets / "lfw"
        pairs = read_pairs(datasets / "lfw_pairs.txt")
        if quick:
            pairs = _quick_subset(pairs)
        self.pairs = pairs
        files = sorted({p.left for p in pairs} | {p.right for p in pairs})
        if quick:
            self.files = files
        else:
            self.files = dataset_embeddings.list_images(self.root)
        self.log = log
        self.det = dataset_embeddings.detections_for(self.root, self.files if quick else None, log)
        self.index = {str(f): i for i, f in enumerate(self.det["files"])}
        self.left = np.array([self.index[p.left] for p in pairs])
        self.right = np.array([self.index[p.right] for p in pairs])
        self.same = np.array([p.same for p in pairs])
        self.fold = np.array([p.fold for p in pairs])
        self.labels = np.array([f.split("/")[0] for f in self.det["files"]])
        self.quick = quick

    def backbone(self, method: str, flip: bool) -> np.ndarray:
        from facerec.training import embeddings as dataset_embeddings

        files = self.files if self.quick else None
        plain = dataset_embeddings.embeddings(
            self.root, method, flip=False, files=files, log=self.log
        )
        if not flip:
            return plain
        mirror = dataset_embeddings.embeddings(
            self.root, method, flip=True, files=files, log=self.log
        )
        return normalize(plain + mirror)

    def pair_images_without_face(self) -> tuple[int, int]:
        used = np.unique(np.concatenate([self.left, self.right]))
        return int((~self.det["found"][used]).sum()), len(used)


def _quick_subset(pairs):
    out, seen = [], {}
    for p in pairs:
        key = (p.fold, p.same)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= QUICK_PAIRS_PER_FOLD:
            out.append(p)
    return out


def fold_scores(data: LfwData, embed_fold: Callable[[int], np.ndarray]) -> tuple[np.ndarray, float]:
    """(fold accuracies, pooled TAR@FAR0.1%) with the pairs of test fold k scored on the (N, D)
    embeddings ``embed_fold(k)``: per-fold heads or centring may differ from fold to fold."""
    distance = np.zeros(len(data.pairs))
    for k in np.unique(data.fold):
        y = embed_fold(int(k))
        test = data.fold == k
        distance[test] = pair_distances(y, data.left[test], data.right[test])
    return kfold_accuracy(distance, data.same, data.fold), tar_at_far(distance, data.same, 1e-3)


def lfw_scores(data: LfwData, x: np.ndarray) -> tuple[np.ndarray, float]:
    return fold_scores(data, lambda _: x)


def fold_heads(data: LfwData, x: np.ndarray, epochs: int, seed: int = 0) -> tuple[list, int]:
    """One head per test fold, trained on ``x`` of the people outside that fold (View 2 folds
    share no person); returns (heads by fold, folds where the trained head was kept)."""
    from facerec.training import TrainConfig, train_head

    fold_people = pair_fold_people(data.pairs)
    heads, kept = [], 0
    for k in sorted(fold_people):
        outside = ~np.isin(data.labels, list(fold_people[k]))
        config = TrainConfig(epochs=epochs, seed=seed + k)
        print(f"fold {k + 1}: training head on {outside.sum()} images", file=data.log, flush=True)
        result = train_head(x[outside], data.labels[outside], config, log=data.log)
        kept += result.improved
        heads.append(result.head)
    return heads, kept


def heads_scores(
    data: LfwData, heads_by_fold: list[list], views: list[np.ndarray]
) -> tuple[np.ndarray, float]:
    """(fold accuracies, pooled TAR@FAR0.1%) when each test fold's faces are the mean of every
    given head (of that fold) applied to every view (a single head and view: the product)."""
    return fold_scores(
        data, lambda k: normalize(sum(head(v) for head in heads_by_fold[k] for v in views))
    )


def siamese_per_fold(data: LfwData, x: np.ndarray, epochs: int) -> tuple[np.ndarray, float, int]:
    """Per-fold heads trained on people outside the test fold; returns (fold accuracies,
    pooled TAR@FAR0.1%, folds where the trained head was kept)."""
    heads, kept = fold_heads(data, x, epochs)
    accs, tar = heads_scores(data, [[h] for h in heads], [x])
    return accs, tar, kept


def fmt_acc(accs: np.ndarray) -> str:
    return f"{accs.mean() * 100:.2f}% +- {accs.std() * 100:.2f}"


def lfw_rows(data: LfwData, product_flip: bool, epochs: int) -> list[Row]:
    from facerec.alignment import DEFAULT_METHOD

    rows = []
    missing, used = data.pair_images_without_face()
    rows.append(
        Row(
            "LFW pair images with no face detected",
            f"{missing} of {used}",
            "centre crop used instead (counted in every row below)",
        )
    )
    other = "landmarks" if DEFAULT_METHOD == "box" else "box"
    # The other alignment is measured without flip only: it is a comparison, not the product.
    for method, flip in ((other, False), (DEFAULT_METHOD, False), (DEFAULT_METHOD, True)):
        accs, tar = lfw_scores(data, data.backbone(method, flip))
        label = f"LFW backbone, {method} crop" + (" + flip" if flip else "")
        rows.append(Row(label, fmt_acc(accs), f"TAR@FAR0.1% {tar * 100:.2f}%"))
    x = data.backbone(DEFAULT_METHOD, product_flip)
    accs, tar, kept = siamese_per_fold(data, x, epochs)
    flip_note = " + flip" if product_flip else ""
    rows.append(
        Row(
            f"LFW Siamese (product), {DEFAULT_METHOD} crop{flip_note}",
            fmt_acc(accs),
            f"TAR@FAR0.1% {tar * 100:.2f}%; head kept in {kept}/10 folds",
        )
    )
    return rows


def read_marked_faces(group_dir: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    """{file: [(x, y, w, h)]} from dlib's training.xml and testing.xml."""
    marked: dict[str, list] = {}
    for name in ("training.xml", "testing.xml"):
        for image in ET.parse(group_dir / name).getroot().iter("image"):
            boxes = [
                tuple(int(b.get(k)) for k in ("left", "top", "width", "height"))
                for b in image.iter("box")
            ]
            marked.setdefault(image.get("file"), []).extend(boxes)
    return marked


Box = tuple[int, int, int, int]  # x, y, width, height in pixels


def match_marked(marked: list[Box], found: list[Box]) -> set[int]:
    """Indices of the ``marked`` faces that a detection in ``found`` matches: one detection per
    marked face (the pairing with the most overlap), counted when their IoU is >= IOU_MATCH.
    The detections left over (``len(found) - len(result)``) are the photo's false faces."""
    from scipy.optimize import linear_sum_assignment

    overlap = np.array([[box_iou(m, f) for f in found] for m in marked], float)
    overlap = overlap.reshape(len(marked), len(found))
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    return {r for r, c in zip(rows, cols, strict=True) if overlap[r, c] >= IOU_MATCH}


def detector_counts(group_dir: Path) -> tuple[int, int, int, int]:
    """(found, marked, false detections, negatives' detections) on the annotated group photos,
    plus detections on the no-face photo."""
    from facerec.detection import detect_faces
    from facerec.imageio import load_image

    found = marked_total = false = 0
    for name, marked in read_marked_faces(group_dir).items():
        faces = detect_faces(load_image(group_dir / name))
        hits = len(match_marked(marked, [f.box for f in faces]))
        found += hits
        false += len(faces) - hits
        marked_total += len(marked)
    dogs = len(detect_faces(load_image(group_dir / "no_faces_dogs.jpg")))
    return found, marked_total, false, dogs


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up: the first call loads models
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def speed_rows(datasets: Path, quick: bool) -> list[Row]:
    import cv2

    from facerec.backbone import backbone_embed
    from facerec.detection import detect_faces
    from facerec.imageio import load_image
    from facerec.pipeline import embed_faces

    repeats = 3 if quick else 10
    small = load_image(datasets / "lfw" / "Abel_Pacheco" / "Abel_Pacheco_0001.jpg")
    group = load_image(datasets / "group_photos" / "friends_multiface.jpg")
    full_hd = cv2.resize(group, (1920, 1080), interpolation=cv2.INTER_LINEAR)
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (32, 160, 160, 3), dtype=np.uint8)
    rows = [
        Row(
            "detect, 250x250 LFW photo",
            f"{_median_ms(lambda: detect_faces(small), repeats):.0f} ms",
            "median",
        ),
        Row(
            "detect, 1920x1080 photo (6 faces)",
            f"{_median_ms(lambda: detect_faces(full_hd), repeats):.0f} ms",
            f"median; {len(detect_faces(full_hd))} faces found",
        ),
    ]
    chips = rng.integers(0, 256, (32, 150, 150, 3), dtype=np.uint8)

    def product(batch):
        return embed_faces(batch, chips=chips[: len(batch)])

    for label, fn in (
        ("FaceNet backbone", backbone_embed),
        ("product (backbones + head)", product),
    ):
        one = _median_ms(lambda fn=fn: fn(crops[:1]), repeats)
        many = _median_ms(lambda fn=fn: fn(crops), max(2, repeats // 3)) / 32
        rows.append(
            Row(
                f"embed per face, {label}", f"{one:.0f} ms at batch 1", f"{many:.1f} ms at batch 32"
            )
        )
    return rows


def run(datasets: Path, *, quick: bool = False, log=sys.stderr) -> list[Row]:
    from facerec.model import metadata

    rows: list[Row] = []
    group_dir = datasets / "group_photos"
    if (datasets / "lfw").is_dir() and (datasets / "lfw_pairs.txt").is_file():
        data = LfwData(datasets, quick, log)
        epochs = 4 if quick else 12
        rows += lfw_rows(data, bool(metadata().get("flip", False)), epochs)
    else:
        rows.append(Row("LFW", "skipped", f"no lfw/ and lfw_pairs.txt under {datasets}"))
    if group_dir.is_dir():
        found, marked, false, dogs = detector_counts(group_dir)
        rows.append(
            Row(
                "detector recall, annotated group photos",
                f"{found}/{marked} = {found / marked * 100:.1f}%",
                f"IoU >= {IOU_MATCH}; {false} false detections; {dogs} on no_faces_dogs.jpg",
            )
        )
        rows += speed_rows(datasets, quick)
    else:
        rows.append(Row("detector", "skipped", f"no group_photos/ under {datasets}"))
    return rows


def format_table(rows: list[Row]) -> str:
    widths = [max(len(r.name) for r in rows), max(len(r.value) for r in rows)]
    lines = [
        f"| {'measure':<{widths[0]}} | {'result':<{widths[1]}} | note",
        f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 2)}|------",
    ]
    lines += [f"| {r.name:<{widths[0]}} | {r.value:<{widths[1]}} | {r.note}" for r in rows]
    return "\n".join(lines)
