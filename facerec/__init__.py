"""facerec: the RollCall face library (plain Python, no Django).

Importing this package is cheap: TensorFlow and the OpenCV detector load lazily, once per
process, the first time a function needs them. Distances are Euclidean between unit vectors.

    image = load_image(path_or_bytes)             # (H, W, 3) uint8 RGB
    faces = detect_faces(image)                   # [Face(box, landmarks, score)], every size
    crops = [align_face(image, f) for f in faces] # (160, 160, 3) uint8 each
    chips = face_chips(image, faces)              # dlib chips, if the model uses dlib
    vectors = embed_faces(crops, chips=chips)     # (N, D) float32 unit vectors
    calibration = calibrate_gallery(gallery, labels)  # this gallery's own accept threshold
    matches = match_faces(vectors, gallery, labels, calibration=calibration,
                          qualities=[face_quality(f, c) for f, c in zip(faces, crops)])
"""

from __future__ import annotations

# These modules import TensorFlow / OpenCV only inside function bodies, so importing them here
# keeps `import facerec` light for the web process.
from facerec.alignment import align_face
from facerec.detection import detect_faces
from facerec.errors import FaceRecError, ImageError
from facerec.imageio import check_image, load_image
from facerec.matching import (
    GalleryCalibration,
    calibrate_gallery,
    face_distance,
    match_faces,
    quality_problem,
)
from facerec.model import model_info, model_version
from facerec.pipeline import (
    analyze_photo,
    backbone_vectors,
    embed_faces,
    embed_reference_photo,
    face_chips,
    warm_up,
)
from facerec.quality import FaceQuality, face_quality
from facerec.types import AnalyzedFace, Face, Match, ModelInfo, PhotoAnalysis, TooSmallFace

__all__ = [
    "AnalyzedFace",
    "Face",
    "FaceQuality",
    "FaceRecError",
    "GalleryCalibration",
    "ImageError",
    "Match",
    "ModelInfo",
    "PhotoAnalysis",
    "TooSmallFace",
    "align_face",
    "analyze_photo",
    "backbone_vectors",
    "calibrate_gallery",
    "check_image",
    "detect_faces",
    "embed_faces",
    "embed_reference_photo",
    "face_chips",
    "face_distance",
    "face_quality",
    "load_image",
    "match_faces",
    "model_info",
    "model_version",
    "quality_problem",
    "warm_up",
]
