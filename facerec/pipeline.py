"""The product pipeline: photo -> faces -> aligned crops -> embeddings, with per-stage timings."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np

from facerec.errors import FaceRecError
from facerec.imageio import ImageSource, load_image
from facerec.types import AnalyzedFace, Face, PhotoAnalysis, TooSmallFace

if TYPE_CHECKING:
    from facerec.model import Head

# The smallest face of a class photo that is embedded and matched. Faces found below it are kept
# as "too small" (reported to the teacher, never matched); the quality of a small face's match
# is for the open-set decision to weigh. 20 px was the detector's search floor before.
MIN_FACE_TO_EMBED = 20
# A reference photo is what every later class photo is compared with, so it must show one clear
# face. Below ~60 px the backbone sees an upscaled blur; LFW faces are 90-130 px.
MIN_REFERENCE_FACE = 60
# Variance of the Laplacian of the 160x160 grey crop (the aligned face, so the face's size in the
# photo does not matter). With box margin 0.2, 200 random unblurred LFW crops score at least 16
# (1st percentile 18, median 47); 13 of them were below the old gate of 25 (soft or low-contrast
# press photos such as David_Dewhurst_0001, not blurred beyond recognition).
# A Gaussian blur of sigma 1.5 px on the 250x250 photo brings the median to 12, sigma 2 to 8 (at
# most 17), sigma 3 to 5 (at most 9). Same-person distances grew by only 0.07 at sigma 1.5 but
# went beyond the accept threshold for 9 of 30 pairs at sigma 3 (model ecdbbd87), so the gate
# refuses every sigma-3 blur and most sigma-2 ones, and no unblurred LFW photo of the sample.
MIN_REFERENCE_SHARPNESS = 12.0
# Another face makes a reference photo ambiguous only when it is nearly as prominent as the
# student's: prominence is the face's size weighted by how near the image centre it is (see
# ``_prominence``). Portraits often show a smaller or off-centre person behind the student
# (21 of 200 random LFW photos, all accepted at this ratio, the runner-up scoring 0.40-0.64 of
# the main face). Of the 10 annotated group photos with faces, 9 are still refused (0.75-0.99);
# the tenth, a mother in the centre with her daughter's head above, is accepted with the
# mother's face (0.51).
MAX_BACKGROUND_PROMINENCE = 0.7
_NUMBER_WORDS = dict(enumerate(["", "One", "Two", "Three", "Four", "Five", "Six", "Seven"]))


def embed_faces(
    crops: Sequence[np.ndarray] | np.ndarray,
    *,
    chips: Sequence[np.ndarray] | np.ndarray | None = None,
    batch_size: int = 32,
    head: Head | None = None,
) -> np.ndarray:
    """Product embeddings of aligned crops (from ``align_face``).

    crops: N arrays of (160, 160, 3) uint8 RGB, or one (N, 160, 160, 3) array.
    chips: the same N faces as dlib chips ((150, 150, 3) uint8 RGB, from ``face_chips``);
        required when the model uses the dlib backbone (``facerec.model.uses_dlib()``).
    head: the Siamese head to apply (a model trained on an installation's students); default
        the shipped model's.
    Returns (N, D) float32 unit vectors (D = model_info().embedding_dim); N = 0 gives (0, D).
    Each backbone runs in batches of ``batch_size``; the head maps their combined output.
    """
    from facerec.model import current_head

    return (head or current_head())(backbone_vectors(crops, chips=chips, batch_size=batch_size))


def backbone_vectors(
    crops: Sequence[np.ndarray] | np.ndarray,
    *,
    chips: Sequence[np.ndarray] | np.ndarray | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """The head's input: (N, D) float32 unit vectors fused from the model's backbones (the
    frozen part; any head of the same backbones, ``facerec.model.Head``, maps them)."""
    from facerec.model import DLIB, FACENET, backbone_dim, backbones, fuse

    used = backbones()
    if len(crops) == 0:
        return np.zeros((0, backbone_dim()), np.float32)
    # Refuse a call that cannot succeed before any backbone loads (seconds of TensorFlow).
    if any(b["name"] == DLIB for b in used) and (chips is None or len(chips) != len(crops)):
        raise ValueError("this model also needs each face's dlib chip (face_chips)")
    parts = []
    for backbone in used:
        if backbone["name"] == FACENET:
            parts.append(_facenet(np.stack([np.asarray(c, np.uint8) for c in crops]), batch_size))
        elif backbone["name"] == DLIB:
            from facerec.dlib_backbone import dlib_embed

            assert chips is not None  # checked above

            batch = np.stack([np.asarray(c, np.uint8) for c in chips])
            parts.append(dlib_embed(batch, batch_size=batch_size))
        else:
            raise ValueError(f"unknown backbone {backbone['name']!r} in the model metadata")
    return fuse(parts, [float(b.get("weight", 1.0)) for b in used])


def _facenet(batch: np.ndarray, batch_size: int) -> np.ndarray:
    from facerec.backbone import backbone_embed
    from facerec.model import uses_flip

    raw = backbone_embed(batch, batch_size=batch_size)
    if uses_flip():
        # The mirror image is a second view of the same face; the mean of both is steadier.
        raw = _normalize(raw + backbone_embed(batch[:, :, ::-1], batch_size=batch_size))
    return raw


def face_chips(image: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray] | None:
    """dlib chips of ``faces`` when the model uses the dlib backbone, else None (no dlib)."""
    from facerec.model import uses_dlib

    if not uses_dlib():
        return None
    from facerec.dlib_backbone import face_chip

    return [face_chip(image, face.box) for face in faces]


def warm_up() -> None:
    """Load every model the current metadata needs (detector, backbones, head) in this process,
    so the first real task does not pay for it. Call it in a worker, never in the web process."""
    from facerec.detection import detect_faces

    detect_faces(np.full((120, 160, 3), 128, np.uint8))
    image = np.full((200, 200, 3), 128, np.uint8)
    face = Face(box=(50, 40, 100, 120), landmarks=((80, 90),) * 5, score=1.0)
    from facerec.alignment import align_face

    embed_faces([align_face(image, face)], chips=face_chips(image, [face]))


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
    min_face_size: int = MIN_FACE_TO_EMBED,
    timings: dict[str, float] | None = None,
    head: Head | None = None,
) -> PhotoAnalysis:
    """Detect every face of a photo; align and embed (in one batch) those large enough.

    image: (H, W, 3) uint8 RGB, or anything ``load_image`` accepts (then decoded first).
    min_face_size: smallest face side (pixels of the photo) to embed; smaller faces the detector
        finds are returned in ``too_small``, never dropped.
    timings: if given, filled with milliseconds per stage: decode_ms, detect_ms, align_ms,
        embed_ms.
    head: the Siamese head to embed with (default the shipped model's); each face also keeps
        its backbone vector (``AnalyzedFace.backbone``).
    Crops are cut from the full-resolution photo, whatever scale the detector searched at.
    """
    from facerec.alignment import align_face
    from facerec.detection import detect_faces, smallest_face_searched
    from facerec.quality import face_quality

    with _timed(timings, "decode_ms"):
        pixels = image if isinstance(image, np.ndarray) else load_image(image)
    with _timed(timings, "detect_ms"):
        found = detect_faces(pixels)
    usable = [face for face in found if face.size >= min_face_size]
    small = [face for face in found if face.size < min_face_size]
    with _timed(timings, "align_ms"):
        crops = [align_face(pixels, face) for face in usable]
        small_crops = [align_face(pixels, face) for face in small]
        chips = face_chips(pixels, usable)
        qualities = [face_quality(face, crop) for face, crop in zip(usable, crops, strict=True)]
    with _timed(timings, "embed_ms"):
        raw = backbone_vectors(crops, chips=chips)
        vectors = _apply(head, raw)
    return PhotoAnalysis(
        faces=[
            AnalyzedFace(f, c, v, q, r)
            for f, c, v, q, r in zip(usable, crops, vectors, qualities, raw, strict=True)
        ],
        too_small=[TooSmallFace(f, c) for f, c in zip(small, small_crops, strict=True)],
        width=int(pixels.shape[1]),
        height=int(pixels.shape[0]),
        smallest_face_searched=smallest_face_searched(pixels.shape),
    )


def embed_reference_photo(
    image: np.ndarray | ImageSource,
    *,
    timings: dict[str, float] | None = None,
    head: Head | None = None,
) -> AnalyzedFace:
    """The student's face in a reference photo, checked for use as a gallery entry.

    A photo may show other people behind the student: the most prominent face (large and
    central) is used when every other face is clearly less prominent. The embedding is of the
    photo and its mirror image together where the model asks for it (``reference_backbone``).
    Raises FaceRecError with code no_face_found, several_faces, face_too_small or
    face_too_blurry, whose messages tell the admin what photo to upload instead.
    """
    from facerec.alignment import align_face
    from facerec.detection import detect_faces
    from facerec.quality import face_quality

    with _timed(timings, "decode_ms"):
        pixels = image if isinstance(image, np.ndarray) else load_image(image)
    with _timed(timings, "detect_ms"):
        # Faces under 20 px are never a usable reference; searching for them would only cost time.
        faces = detect_faces(pixels, min_face_size=MIN_FACE_TO_EMBED)
    face = _single_face(faces, pixels.shape)
    with _timed(timings, "align_ms"):
        crop = align_face(pixels, face)
        chips = face_chips(pixels, [face])
    _check_quality(face, crop)
    with _timed(timings, "embed_ms"):
        raw = backbone_vectors([crop], chips=chips)[0]
    with _timed(timings, "mirror_ms"):
        raw = reference_backbone(pixels, face, raw)
    vector = _apply(head, raw[None])[0]
    return AnalyzedFace(face, crop, vector, face_quality(face, crop), raw)


# A reference photo is embedded once and compared with every class photo after, so it may cost
# twice: the photo's mirror image is a second view of the student (the other side of the face
# turned to the light and the camera), and the mean of both backbone vectors is a steadier
# template. The mirror image is detected again, so its face is framed as the detector frames
# faces (a flipped crop of the first box is framed differently and did not help on LFW). On the
# open-set benchmark (10 rosters, 7 conditions) it raised the automatic recall of every condition
# by 0.4-2.0 points (colour 94.8% -> 95.2%), strangers auto-marked 16 -> 18 of 9,856, at most
# 0.2% in any condition; on class photos (5 rosters) recall 95.8% -> 96.2%, strangers 4 of 486
# either way (benchmarks/BENCHMARK.md, session 6).
MIRROR_MIN_IOU = 0.5


def reference_backbone(pixels: np.ndarray, face: Face, raw: np.ndarray) -> np.ndarray:
    """The backbone vector kept for a student's reference face: ``raw`` (the face's own), averaged
    with the same face's in the photo's mirror image when the model asks for it (metadata
    "reference_mirror"); ``raw`` alone when the detector does not find the face there."""
    from facerec.alignment import align_face
    from facerec.detection import detect_faces
    from facerec.model import uses_reference_mirror
    from facerec.types import box_iou

    if not uses_reference_mirror():
        return raw
    mirrored = np.ascontiguousarray(pixels[:, ::-1])
    x, y, w, h = face.box
    expected = (pixels.shape[1] - x - w, y, w, h)
    found = detect_faces(mirrored, min_face_size=MIN_FACE_TO_EMBED)
    best = max(found, key=lambda f: box_iou(f.box, expected), default=None)
    if best is None or box_iou(best.box, expected) < MIRROR_MIN_IOU:
        return raw
    crop = align_face(mirrored, best)
    other = backbone_vectors([crop], chips=face_chips(mirrored, [best]))[0]
    return _normalize((raw + other)[None])[0]


def _apply(head: Head | None, raw: np.ndarray) -> np.ndarray:
    from facerec.model import current_head

    return (head or current_head())(raw)


def _single_face(faces: list[Face], shape: tuple[int, ...]) -> Face:
    if not faces:
        raise FaceRecError(
            "no_face_found",
            "No face was found. Upload a well-lit photo that shows the student's face "
            "from the front.",
        )
    ranked = sorted(faces, key=lambda f: _prominence(f, shape), reverse=True)
    if len(ranked) > 1 and _prominence(ranked[1], shape) >= MAX_BACKGROUND_PROMINENCE * (
        _prominence(ranked[0], shape)
    ):
        count = _NUMBER_WORDS.get(len(faces), str(len(faces)))
        raise FaceRecError(
            "several_faces",
            f"{count} faces were found; upload a photo that shows only the student.",
        )
    return ranked[0]


def _prominence(face: Face, shape: tuple[int, ...]) -> float:
    """Face size in pixels times (1 - distance from the image centre / half the diagonal):
    the student of a portrait is large and central, a bystander smaller or off to the side."""
    height, width = shape[:2]
    cx, cy = face.center
    off_centre = np.hypot(cx - width / 2, cy - height / 2) / (np.hypot(width, height) / 2)
    return face.size * max(0.0, 1.0 - float(off_centre))


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
