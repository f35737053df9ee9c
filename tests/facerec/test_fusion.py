"""A model over both backbones: its metadata, its input and the product embedding it gives."""

from __future__ import annotations

import json

import numpy as np
import pytest

import facerec
from facerec.model import Head, backbones, current_head, fuse, metadata, uses_dlib
from facerec.training import save_model
from facerec.training.fusion import backbones_entry


def unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def two_backbone_model(tmp_path, monkeypatch):
    """A small trained-looking head over FaceNet + dlib (640-d), saved as the trainer saves."""
    rng = np.random.default_rng(3)
    head = Head([(rng.normal(0, 0.01, (640, 640)).astype(np.float32), np.zeros(640, np.float32))])
    meta = dict(metadata())
    meta |= {
        "version": "facenet512-dlib128-siamese-test",
        "backbones": backbones_entry(2.5),
        "embedding_dim": 640,
        "threshold": 0.9,
        "review_threshold": 1.0,
    }
    path = save_model(head, meta, tmp_path)
    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(path))
    return path, head


def test_the_fused_input_is_the_weighted_sum_of_both_cosine_similarities():
    facenet, dlib = unit(2, 512, 0), unit(2, 128, 1)

    x = fuse([facenet, dlib], [1.0, 2.5])

    expected = (facenet[0] @ facenet[1] + 2.5 * (dlib[0] @ dlib[1])) / 3.5
    assert x.shape == (2, 640)
    assert x[0] @ x[1] == pytest.approx(expected, abs=1e-6)
    assert np.linalg.norm(x, axis=1) == pytest.approx([1, 1], abs=1e-6)


def test_a_model_without_backbones_in_its_metadata_is_facenet_alone(tmp_path, monkeypatch):
    meta = {k: v for k, v in metadata().items() if k != "backbones"}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(meta | {"weights": None}))
    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(path))

    assert [b["name"] for b in backbones()] == ["facenet"]
    assert not uses_dlib()


def test_the_metadata_round_trips_through_the_model_folder(two_backbone_model):
    path, head = two_backbone_model

    info = facerec.model_info()

    assert facerec.model_version() == "facenet512-dlib128-siamese-test"
    assert (info.embedding_dim, info.threshold, info.review_threshold) == (640, 0.9, 1.0)
    assert [(b["name"], b["dim"], b["weight"]) for b in backbones()] == [
        ("facenet", 512, 1.0),
        ("dlib", 128, 2.5),
    ]
    assert uses_dlib()
    assert np.array_equal(current_head().weights[0][0], head.weights[0][0])


@pytest.mark.slow
def test_the_fused_embedding_of_a_real_face_is_one_640_d_unit_vector(two_backbone_model, lfw_photo):
    faces = facerec.analyze_photo(lfw_photo("Colin_Powell", 1)).faces

    assert len(faces) == 1
    assert faces[0].embedding.shape == (640,)
    assert np.linalg.norm(faces[0].embedding) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow
def test_the_two_backbone_model_keeps_a_person_closer_than_a_stranger(
    two_backbone_model, lfw_photo
):
    first, second, stranger = (
        facerec.embed_reference_photo(lfw_photo(name, n)).embedding
        for name, n in (("Tony_Blair", 1), ("Tony_Blair", 2), ("Serena_Williams", 1))
    )

    assert np.linalg.norm(first - second) < np.linalg.norm(first - stranger)


def test_crops_without_dlib_chips_are_refused_by_a_two_backbone_model(two_backbone_model):
    with pytest.raises(ValueError, match="dlib chip"):
        facerec.embed_faces(np.zeros((1, 160, 160, 3), np.uint8))
