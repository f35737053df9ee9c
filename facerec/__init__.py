"""facerec: the RollCall face library (plain Python, no Django).

Importing this package is cheap: TensorFlow and the OpenCV detector load lazily, once per
process, the first time a function needs them. Distances are Euclidean between unit vectors.

    image = load_image(path_or_bytes)             # (H, W, 3) uint8 RGB
    faces = detect_faces(image)                   # [Face(box, landmarks, score)]
    crops = [align_face(image, f) for f in faces] # (160, 160, 3) uint8 each
    chips = face_chips(image, faces)              # dlib chips, if the model uses dlib
    vectors = embed_faces(crops, chips=chips)     # (N, D) float32 unit vectors
    matches = match_faces(vectors, gallery, labels)
"""

from __future__ import annotations

# These modules import TensorFlow / OpenCV only inside function bodies, so importing them here
# keeps `import facerec` light for the web process.
from facerec.alignment import align_face
from facerec.detection import detect_faces
from facerec.errors import FaceRecError, ImageError
from facerec.imageio import load_image
from facerec.matching import face_distance, match_faces
from facerec.model import model_info, model_version
from facerec.pipeline import (
    analyze_photo,
    embed_faces,
    embed_reference_photo,
    face_chips,
    warm_up,
)
from facerec.types import AnalyzedFace, Face, Match, ModelInfo

__all__ = [
    "AnalyzedFace",
    "Face",
    "FaceRecError",
    "ImageError",
    "Match",
    "ModelInfo",
    "align_face",
    "analyze_photo",
    "detect_faces",
    "embed_faces",
    "embed_reference_photo",
    "face_chips",
    "face_distance",
    "load_image",
    "match_faces",
    "model_info",
    "model_version",
    "warm_up",
]
