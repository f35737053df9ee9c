"""Plain data returned by the public API. No heavy imports here: the web process uses them."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from facerec.quality import FaceQuality

Point = tuple[float, float]
Decision = Literal["auto", "review", "unknown"]


@dataclass(frozen=True)
class Face:
    """One detected face.

    box: (x, y, width, height) in pixels of the image given to ``detect_faces``.
    landmarks: 5 (x, y) points in pixels: left eye, right eye, nose, mouth left, mouth right
        ("left" is the subject's left as seen in the image, i.e. the smaller x for a frontal face).
    score: detector confidence in 0..1.
    """

    box: tuple[int, int, int, int]
    landmarks: tuple[Point, ...]
    score: float

    @property
    def size(self) -> int:
        """Shorter side of the box in pixels."""
        return min(self.box[2], self.box[3])

    @property
    def center(self) -> Point:
        x, y, w, h = self.box
        return (x + w / 2, y + h / 2)


def box_iou(a: tuple, b: tuple) -> float:
    """Intersection over union of two (x, y, width, height) boxes."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union else 0.0


@dataclass(frozen=True)
class AnalyzedFace:
    """A face, its aligned crop (size x size x 3 uint8 RGB), embedding ((D,) float32, unit) and
    quality measures (``facerec.quality.FaceQuality``, None where they were not taken).

    backbone: the head's input for this face ((D,) float32, the backbones' fused unit vector), so
    that another head (a model trained on the installation's students) can embed it again
    without the image; None where it was not kept."""

    face: Face
    crop: np.ndarray = field(repr=False)
    embedding: np.ndarray = field(repr=False)
    quality: FaceQuality | None = None
    backbone: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TooSmallFace:
    """A face the detector found but too small to recognise: no embedding, never matched.

    crop: (size, size, 3) uint8 RGB, upscaled from the few pixels there are, for a person to see.
    """

    face: Face
    crop: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class PhotoAnalysis:
    """Everything ``analyze_photo`` found in one photo; no face found is left out.

    faces: faces large enough to recognise, embedded, left to right.
    too_small: faces smaller than the ``min_face_size`` asked for, left to right, not embedded.
    width, height: pixels of the decoded photo; every box and landmark is in these pixels.
    smallest_face_searched: the smallest face side (pixels) the detector could find in this photo
        (12 px, more in photos too large to search at full resolution).
    """

    faces: list[AnalyzedFace]
    too_small: list[TooSmallFace]
    width: int
    height: int
    smallest_face_searched: int


@dataclass(frozen=True)
class ModelInfo:
    """The shipped product model, read from its metadata JSON.

    threshold: accept a match when distance <= threshold (Euclidean, unit vectors, 0..2).
    review_threshold: distance in (threshold, review_threshold] means a person should review.
    """

    version: str
    threshold: float
    review_threshold: float
    embedding_dim: int
    trained_on: str
    metrics: dict = field(default_factory=dict)
    created: str = ""
    backbone: str = ""


@dataclass(frozen=True)
class Match:
    """Result for one probe face of ``match_faces``.

    index: row of the probe in ``probes``.
    label: matched gallery label, or None when the decision is "unknown".
    distance: the label's distance: the mean Euclidean distance to its two closest gallery rows
        (its only row when it has one); None when unknown, the nearest labels are still listed
        in ``candidates``.
    decision: "auto" (distance <= threshold and every other label at least ``match_margin``
        farther), "review" (otherwise, up to review_threshold), else "unknown".
    candidates: up to 3 (label, distance) pairs, closest first, regardless of the assignment.
    note: why a match that the distances alone would accept was sent to review (e.g. "the face
        is 38 px wide"), for the person reviewing it; "" otherwise.
    """

    index: int
    label: Hashable | None
    distance: float | None
    decision: Decision
    candidates: list[tuple[Hashable, float]] = field(default_factory=list)
    note: str = ""
