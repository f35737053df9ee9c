"""Detect and embed every image of a folder-per-person dataset once, cached on disk.

The trainer and the benchmarks both need backbone embeddings of all of LFW (13,233 photos). Each
costs ~30 ms to detect (OpenCV's MTCNN) and ~25 ms per crop to embed (the FaceNet-512 backbone,
``BACKBONE_NAME``) on a 2-core CPU, so results are cached under
``cache_dir()`` keyed by the dataset's path and the pipeline settings; a rerun takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from facerec.alignment import Method
from facerec.datasets import cache_dir, people_images
from facerec.detection import central_face, settings_key
from facerec.types import Face

CACHE_FORMAT = 1


def _key(root: Path, *parts: str) -> str:
    text = "|".join([str(root.resolve()), str(CACHE_FORMAT), *parts])
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def list_images(root: Path) -> list[str]:
    """Every image path relative to root, sorted, as "Person/file.jpg"."""
    return [f"{p}/{path.name}" for p, paths in people_images(root).items() for path in paths]


def _files_tag(files: list[str] | None) -> str:
    if files is None:
        return ""
    return hashlib.sha1("\n".join(files).encode()).hexdigest()[:12]


def _detections_path(root: Path, tag: str, mirrored: bool) -> Path:
    parts = ["mirrored"] if mirrored else []
    parts += [tag] if tag else []
    return cache_dir() / f"detections-{_key(root, settings_key(), *parts)}.npz"


def detections(
    root: Path, files: list[str] | None = None, *, mirrored: bool = False, log=sys.stderr
) -> dict:
    """Detections for ``files`` (relative paths; default every image under root):
    {"files": [...], "boxes": (N,4), "landmarks": (N,5,2), "scores": (N,), "found": (N,) bool,
    "shapes": (N,2)}; the central face per image, or a centre-crop box where none was found.

    mirrored=True detects on the horizontally mirrored photos (coordinates are in the mirrored
    image): the benchmark's second view of each face, framed by the detector itself.
    """
    from facerec.detection import detect_faces

    path = _detections_path(root, _files_tag(files), mirrored)
    if path.exists():
        data = np.load(path, allow_pickle=False)
        return {k: data[k] for k in data.files}
    files = list_images(root) if files is None else files
    n = len(files)
    out: dict[str, np.ndarray] = {
        "files": np.array(files),
        "boxes": np.zeros((n, 4), np.float32),
        "landmarks": np.zeros((n, 5, 2), np.float32),
        "scores": np.zeros(n, np.float32),
        "found": np.zeros(n, bool),
        "shapes": np.zeros((n, 2), np.int32),
    }
    start = time.time()
    for i, name in enumerate(files):
        image = _load(root / name, mirrored)
        out["shapes"][i] = image.shape[:2]
        # 20 px: the search these cached LFW detections were made with (the central face is large).
        face = central_face(detect_faces(image, min_face_size=20), image.shape)
        if face is None:
            face = fallback_face(image.shape)
        else:
            out["found"][i] = True
        out["boxes"][i] = face.box
        out["landmarks"][i] = face.landmarks
        out["scores"][i] = face.score
        if i % 500 == 0:
            print(f"detect {i}/{n} {time.time() - start:.0f}s", file=log, flush=True)
    np.savez(path, allow_pickle=False, **out)
    return out


def _load(path: Path, mirrored: bool) -> np.ndarray:
    from facerec.imageio import load_image

    image = load_image(path)
    return np.ascontiguousarray(image[:, ::-1]) if mirrored else image


def detections_for(root: Path, files: list[str] | None, log, *, mirrored: bool = False) -> dict:
    """Detections of ``files``, taken from the whole-dataset cache when it already exists."""
    full_path = _detections_path(root, "", mirrored)
    if files is None or not full_path.exists():
        return detections(root, files, mirrored=mirrored, log=log)
    full = detections(root, mirrored=mirrored, log=log)
    index = {str(f): i for i, f in enumerate(full["files"])}
    rows = np.array([index[f] for f in files])
    return {k: v[rows] for k, v in full.items()}


def fallback_face(shape: tuple[int, ...]) -> Face:
    """A centre box covering the middle 40% x 50% of the image, used when detection fails.

    LFW photos are centred on the labelled face, so this is where a face most likely is; the
    landmarks are the mean LFW landmark positions scaled to the image.
    """
    h, w = shape[0], shape[1]
    box = (round(w * 0.3), round(h * 0.25), round(w * 0.4), round(h * 0.5))
    rel = ((0.435, 0.46), (0.565, 0.46), (0.5, 0.54), (0.445, 0.62), (0.555, 0.62))
    return Face(box=box, landmarks=tuple((x * w, y * h) for x, y in rel), score=0.0)


def embeddings(
    root: Path,
    method: Method,
    *,
    flip: bool,
    files: list[str] | None = None,
    margin: float | None = None,
    mirrored: bool = False,
    log=sys.stderr,
) -> np.ndarray:
    """Backbone embeddings (N, 512) of every image's central face, aligned by ``method``.

    flip=True: the embedding of the horizontally mirrored crop (not yet combined).
    margin: box margin (default the product's BOX_MARGIN).
    mirrored=True: the face as the detector frames it in the mirrored photo.
    """
    from facerec.alignment import BOX_MARGIN, TEMPLATE_160, align_face
    from facerec.backbone import backbone_embed

    margin = BOX_MARGIN if margin is None else margin
    det = detections_for(root, files, log, mirrored=mirrored)
    # The key covers the alignment settings, so changing them never reuses stale embeddings.
    settings = margin if method == "box" else TEMPLATE_160.round(2).tolist()
    tag = f"{method}-{'flip' if flip else 'plain'}-{settings}" + ("-mirrored" if mirrored else "")
    subset = _files_tag(files)
    key = _key(root, settings_key(), tag, *([subset] if subset else []))
    path = cache_dir() / f"backbone-{key}.npy"
    if path.exists():
        return np.load(path)
    full_path = cache_dir() / f"backbone-{_key(root, settings_key(), tag)}.npy"
    if files is not None and full_path.exists():
        # A subset (e.g. bench --quick) of an already embedded dataset: reuse those rows.
        full_files = detections(root, mirrored=mirrored, log=log)["files"]
        index = {str(f): i for i, f in enumerate(full_files)}
        return np.load(full_path)[[index[f] for f in files]]
    n = len(det["files"])
    out = np.zeros((n, 512), np.float32)
    chunk, start = 64, time.time()
    for lo in range(0, n, chunk):
        crops = []
        for i in range(lo, min(n, lo + chunk)):
            image = _load(root / str(det["files"][i]), mirrored)
            x, y, w, h = (int(v) for v in det["boxes"][i])
            face = Face(
                box=(x, y, w, h),
                landmarks=tuple((float(p[0]), float(p[1])) for p in det["landmarks"][i]),
                score=float(det["scores"][i]),
            )
            crop = align_face(image, face, method=method, margin=margin)
            crops.append(crop[:, ::-1] if flip else crop)
        out[lo : lo + len(crops)] = backbone_embed(np.stack(crops))
        if lo % 1024 == 0:
            print(f"embed {tag} {lo}/{n} {time.time() - start:.0f}s", file=log, flush=True)
    np.save(path, out)
    return out


def dlib_embeddings(root: Path, files: list[str] | None = None, *, log=sys.stderr) -> np.ndarray:
    """(N, 128) float32 unit dlib descriptors of the central face of ``files`` (default every
    image under root), in the order of ``detections_for(root, files)``: the same cached MTCNN
    box, dlib's chip of it, the TensorFlow port of dlib's network. Cached like ``embeddings``."""
    from facerec.dlib_backbone import CHIP_PADDING, CHIP_SIZE, dlib_embed, face_chip
    from facerec.imageio import load_image

    tag = f"dlib-chip{CHIP_SIZE}-{CHIP_PADDING}"
    full_path = cache_dir() / f"dlib-{_key(root, settings_key(), tag)}.npy"
    if full_path.exists():
        full = np.load(full_path)
        if files is None:
            return full
        index = {str(f): i for i, f in enumerate(detections(root, log=log)["files"])}
        return full[[index[f] for f in files]]
    det = detections_for(root, files, log)
    n = len(det["files"])
    out = np.zeros((n, 128), np.float32)
    chunk, start = 64, time.time()
    for lo in range(0, n, chunk):
        chips = [
            face_chip(load_image(root / str(det["files"][i])), tuple(det["boxes"][i]))
            for i in range(lo, min(n, lo + chunk))
        ]
        out[lo : lo + len(chips)] = dlib_embed(np.stack(chips))
        if lo % 1024 == 0:
            print(f"embed {tag} {lo}/{n} {time.time() - start:.0f}s", file=log, flush=True)
    if files is None:
        np.save(full_path, out)
    return out


def main() -> None:
    root = Path(sys.argv[1])
    det = detections(root)
    print(json.dumps({"images": len(det["files"]), "found": int(det["found"].sum())}))


if __name__ == "__main__":
    main()
