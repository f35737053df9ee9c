"""The product pipeline: photo -> faces -> aligned crops -> embeddings, with per-stage timings."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from facerec.errors import FaceRecError
from facerec.imageio import ImageSource, load_image
from facerec.records import AnalyzedFace, Face

# A reference photo is what every later class photo is compared with, so it must show one clear
# face. Below ~60 px the backbone sees an upscaled blur; LFW faces are 90-130 px.
MIN_REFERENCE_FACE = 60
# Variance of the Laplacian of the 160x160 grey crop; 1% of LFW crops score below this.
MIN_REFERENCE_SHARPNESS = 25.0
_NUMBER_WORDS = dict(enumerate(["", "One", "Two", "Three", "Four", "Five", "Six", "Seven"]))


def embed_faces(crops: Sequence[np.ndarray] | np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """Product embeddings of aligned crops (from ``align_face``).

    crops: N arrays of (160, 160, 3) uint8 RGB, or one (N, 160, 160, 3) array.
    Returns (N, D) float32 unit vectors (D = model_info().embedding_dim); N = 0 gives (0, D).
    The backbone runs in batches of ``batch_size``; the shipped Siamese head maps its output.
    """
    from facerec.backbone import EMBEDDING_DIM, backbone_embed
    from facerec.model import current_head, uses_flip

    if len(crops) == 0:
        return np.zeros((0, EMBEDDING_DIM), np.float32)
    batch = np.stack([np.asarray(c, np.uint8) for c in crops])
    raw = backbone_embed(batch, batch_size=batch_size)
    if uses_flip():
        # The mirror image is a second view of the same face; the mean of both is steadier.
        raw = _normalize(raw + backbone_embed(batch[:, :, ::-1], batch_size=batch_size))
    return current_head()(raw)


def _normalize(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@contextmanager
def _timed(timings: dict[str, float] | None, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    if timings is not None:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0


def analyze_photo(
    image: np.ndarray | ImageSource,
    *,
    min_face_size: int = 20,
    timings: dict[str, float] | None = None,
) -> list[AnalyzedFace]:
    """Detect, align and embed every face of a photo; all faces embed in one batch.

    image: (H, W, 3) uint8 RGB, or anything ``load_image`` accepts (then decoded first).
    timings: if given, filled with milliseconds per stage: decode_ms, detect_ms, align_ms,
        embed_ms.
    Returns faces left to right, each with its box/landmarks in pixels of the decoded image.
    """
    from facerec.alignment import align_face
    from facerec.detection import detect_faces

    with _timed(timings, "decode_ms"):
        pixels = image if isinstance(image, np.ndarray) else load_image(image)
    with _timed(timings, "detect_ms"):
        faces = detect_faces(pixels, min_face_size=min_face_size)
    with _timed(timings, "align_ms"):
        crops = [align_face(pixels, face) for face in faces]
    with _timed(timings, "embed_ms"):
        vectors = embed_faces(crops)
    return [AnalyzedFace(f, c, v) for f, c, v in zip(faces, crops, vectors, strict=True)]


def embed_reference_photo(
    image: np.ndarray | ImageSource, *, timings: dict[str, float] | None = None
) -> AnalyzedFace:
    """The single face of a student's reference photo, checked for use as a gallery entry.

    Raises FaceRecError with code no_face_found, several_faces, face_too_small or
    face_too_blurry, whose messages tell the admin what photo to upload instead.
    """
    from facerec.alignment import align_face
    from facerec.detection import detect_faces

    with _timed(timings, "decode_ms"):
        pixels = image if isinstance(image, np.ndarray) else load_image(image)
    with _timed(timings, "detect_ms"):
        faces = detect_faces(pixels)
    face = _single_face(faces)
    with _timed(timings, "align_ms"):
        crop = align_face(pixels, face)
    _check_quality(face, crop)
    with _timed(timings, "embed_ms"):
        vector = embed_faces([crop])[0]
    return AnalyzedFace(face, crop, vector)


def _single_face(faces: list[Face]) -> Face:
    if not faces:
        raise FaceRecError(
            "no_face_found",
            "No face was found. Upload a well-lit photo that shows the student's face "
            "from the front.",
        )
    if len(faces) > 1:
        count = _NUMBER_WORDS.get(len(faces), str(len(faces)))
        raise FaceRecError(
            "several_faces",
            f"{count} faces were found; upload a photo that shows only the student.",
        )
    return faces[0]


def _check_quality(face: Face, crop: np.ndarray) -> None:
    if face.size < MIN_REFERENCE_FACE:
        raise FaceRecError(
            "face_too_small",
            f"The face is only {face.size} pixels wide; upload a closer photo where the face is "
            f"at least {MIN_REFERENCE_FACE} pixels wide.",
        )
    if sharpness(crop) < MIN_REFERENCE_SHARPNESS:
        raise FaceRecError(
            "face_too_blurry",
            "The face is too blurry to recognise; upload a sharp, well-focused photo.",
        )


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of a grey crop: low means little fine detail (blur)."""
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())
