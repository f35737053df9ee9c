"""A reference photo is embedded together with its mirror image: a steadier template."""

from __future__ import annotations

import numpy as np
import pytest

from facerec import embed_reference_photo
from facerec.alignment import align_face
from facerec.detection import central_face, detect_faces
from facerec.model import current_head
from facerec.pipeline import MIN_FACE_TO_EMBED, backbone_vectors, face_chips

pytestmark = [pytest.mark.datasets, pytest.mark.slow, pytest.mark.usefixtures("models_loaded")]


def own_view(pixels: np.ndarray) -> np.ndarray:
    """The backbone vector of the photo's face, as the reference pipeline detects it."""
    face = central_face(detect_faces(pixels, min_face_size=MIN_FACE_TO_EMBED), pixels.shape)
    assert face is not None
    return backbone_vectors([align_face(pixels, face)], chips=face_chips(pixels, [face]))[0]


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_the_reference_vector_is_the_mean_of_the_photo_and_its_mirror_image(lfw_photo):
    photo = lfw_photo("Abel_Pacheco", 1)
    mirror = np.ascontiguousarray(photo[:, ::-1])

    reference = embed_reference_photo(photo)

    expected = unit(own_view(photo) + own_view(mirror))
    assert reference.backbone is not None
    assert np.allclose(reference.backbone, expected, atol=1e-5)
    assert np.allclose(reference.embedding, current_head()(expected[None])[0], atol=1e-5)
    assert not np.allclose(reference.backbone, own_view(photo), atol=1e-3)


def test_a_model_without_reference_mirror_embeds_the_photo_once(lfw_photo, monkeypatch):
    monkeypatch.setattr("facerec.model.uses_reference_mirror", lambda: False)
    photo = lfw_photo("Abel_Pacheco", 1)

    reference = embed_reference_photo(photo)

    assert np.allclose(reference.backbone, own_view(photo), atol=1e-5)
