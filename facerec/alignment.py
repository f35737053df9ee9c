"""Cropping a detected face to the 160x160 input of the backbone.

Two ways, both measured on LFW (see benchmarks/BENCHMARK.md):
- "box": the detector's box grown by a margin and stretched to size x size, as FaceNet's own
  training crops were made;
- "landmarks": a similarity transform (rotation, uniform scale, shift) putting the 5 landmarks
  on a template. The template is the mean landmark position inside "box" crops of LFW, so the
  backbone sees faces framed as in training, only with head tilt removed.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from facerec.types import Face

Method = Literal["box", "landmarks"]
DEFAULT_METHOD: Method = "box"
# Total margin added to the box, as a fraction of sqrt(box area); see benchmarks/BENCHMARK.md.
BOX_MARGIN = 0.2

# (x, y) of left eye, right eye, nose, mouth left, mouth right in a 160x160 "box" crop with margin
# 0.35: the mean over MTCNN detections of all 13,233 LFW photos (facerec.alignment.lfw_template gave
# [[55.9, 66.5], [106.9, 65.7], [81.9, 90.3], [59.9, 111.7], [104.9, 111.0]]), made symmetric
# about the vertical centre line so a mirrored crop is aligned like the original.
TEMPLATE_160 = np.array(
    [[54.5, 66.1], [105.5, 66.1], [80.0, 90.3], [57.5, 111.4], [102.5, 111.4]], dtype=np.float64
)


def align_face(
    image: np.ndarray,
    face: Face,
    *,
    size: int = 160,
    method: Method = DEFAULT_METHOD,
    margin: float = BOX_MARGIN,
) -> np.ndarray:
    """Crop ``face`` out of an (H, W, 3) uint8 RGB image as a (size, size, 3) uint8 RGB array.

    margin: for "box", the total margin as a fraction of sqrt(box area) (the product's is
    BOX_MARGIN; other values are for the benchmark's comparisons).
    Parts of the crop outside the image repeat the border pixels.
    """
    import cv2

    if method == "box":
        matrix = box_matrix(face.box, size, margin)
    elif method == "landmarks":
        matrix = landmark_matrix(np.asarray(face.landmarks, np.float64), size)
    else:
        raise ValueError(f"unknown alignment method {method!r}")
    return cv2.warpAffine(
        np.ascontiguousarray(image),
        matrix,
        (size, size),
        flags=cv2.INTER_AREA if _shrinks(matrix) else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def _shrinks(matrix: np.ndarray) -> bool:
    return abs(np.linalg.det(matrix[:, :2])) < 1.0


def expanded_box(
    box: tuple[int, int, int, int], margin: float = BOX_MARGIN
) -> tuple[float, float, float, float]:
    """(x, y, w, h) of the box grown by margin * sqrt(w * h) in total on each axis."""
    x, y, w, h = (float(v) for v in box)
    grow = margin * np.sqrt(max(w * h, 1.0))
    return (x - grow / 2, y - grow / 2, w + grow, h + grow)


def box_matrix(box: tuple[int, int, int, int], size: int, margin: float = BOX_MARGIN) -> np.ndarray:
    """2x3 affine matrix mapping the box, grown by ``margin``, onto a size x size square."""
    x, y, w, h = expanded_box(box, margin)
    sx, sy = size / max(w, 1.0), size / max(h, 1.0)
    return np.array([[sx, 0.0, -x * sx], [0.0, sy, -y * sy]])


def landmark_matrix(points: np.ndarray, size: int) -> np.ndarray:
    """2x3 similarity matrix (least squares, Umeyama) from 5 landmarks to the template."""
    target = TEMPLATE_160 * (size / 160.0)
    src_mean, dst_mean = points.mean(axis=0), target.mean(axis=0)
    src, dst = points - src_mean, target - dst_mean
    # Complex-number least squares: dst ~ a * src with a = scale * e^{i angle}.
    zs = src[:, 0] + 1j * src[:, 1]
    zd = dst[:, 0] + 1j * dst[:, 1]
    denom = np.vdot(zs, zs).real
    a = np.vdot(zs, zd) / denom if denom > 0 else 1.0 + 0j
    rot = np.array([[a.real, -a.imag], [a.imag, a.real]])
    shift = dst_mean - rot @ src_mean
    return np.hstack([rot, shift[:, None]])


def lfw_template(boxes: np.ndarray, landmarks: np.ndarray, size: int = 160) -> np.ndarray:
    """Mean landmark positions (5, 2) inside "box" crops, for refreshing TEMPLATE_160."""
    mapped = []
    for box, points in zip(boxes, landmarks, strict=True):
        m = box_matrix(tuple(box), size)
        mapped.append(points @ m[:, :2].T + m[:, 2])
    return np.mean(mapped, axis=0)
