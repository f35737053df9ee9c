"""Cheap measures of how recognisable a detected face is, taken when it is aligned.

The embedding's distances were calibrated on well-lit, sharp, colour, ~100 px LFW faces. A face
far from that (tiny, blurred, dark, flat) gives distances that no
longer mean what the threshold assumes: such faces drift towards each other, so a stranger can
fall under the accept threshold. ``match_faces`` therefore never decides such a face
automatically; it goes to a person for review. Every measure costs well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facerec.types import Face


@dataclass(frozen=True)
class FaceQuality:
    """Measures of one aligned face.

    size: shorter side of the detector's box, in pixels of the SOURCE photo (not the crop).
    sharpness: variance of the Laplacian of the grey 160x160 crop (blur and upscaled small
        faces score low).
    brightness: mean grey level of the inner face (the crop's central 60%), 0..255.
    contrast: standard deviation of that grey level, 0..~128.
    side_light: |mean of the left half - mean of the right half| / mean of both, of the inner
        face, 0..2 (0 = evenly lit; a face lit from one side is bright on one half only).
    colour: mean chroma of the inner face, |(R - G, (R + G) / 2 - B)| in 0..255 levels
        (0 = a greyscale photo; clean colour LFW faces: 1st percentile 28, median 63).
    score: the detector's confidence, 0..1.
    """

    size: int
    sharpness: float
    brightness: float
    contrast: float
    side_light: float
    colour: float
    score: float


def face_quality(face: Face, crop: np.ndarray) -> FaceQuality:
    """Quality of ``face`` (as detected in the source photo) from its aligned ``crop``
    ((S, S, 3) uint8 RGB, from ``align_face``)."""
    import cv2

    crop = np.ascontiguousarray(crop)
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    inner = _inner(grey).astype(np.float32)
    rgb = _inner(crop).astype(np.float32)
    half = inner.shape[1] // 2
    left, right = float(inner[:, :half].mean()), float(inner[:, half:].mean())
    rg = rgb[..., 0] - rgb[..., 1]
    yb = (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2]
    return FaceQuality(
        size=int(face.size),
        sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        brightness=float(inner.mean()),
        contrast=float(inner.std()),
        side_light=abs(left - right) / max((left + right) / 2, 1.0),
        colour=float(np.hypot(rg, yb).mean()),
        score=float(face.score),
    )


def _inner(image: np.ndarray) -> np.ndarray:
    """The central 60% of a crop: the face itself, little hair or background."""
    height, width = image.shape[:2]
    dy, dx = int(height * 0.2), int(width * 0.2)
    return image[dy : height - dy, dx : width - dx]
