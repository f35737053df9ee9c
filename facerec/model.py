"""The product model: the frozen backbone plus the shipped Siamese head.

The head is small (weights in an .npz, metadata in a JSON next to it) and is applied with numpy,
so reading the version or thresholds never imports TensorFlow. Set ROLLCALL_FACE_MODEL to a
metadata JSON path to use another trained model.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from facerec.config import face_model_path
from facerec.errors import FaceRecError
from facerec.types import ModelInfo

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_METADATA = MODELS_DIR / "siamese-head.json"

_lock = threading.Lock()


def metadata_path() -> Path:
    """The current model's metadata JSON: $ROLLCALL_FACE_MODEL, else the shipped one."""
    return face_model_path(DEFAULT_METADATA)


@lru_cache(maxsize=4)
def _read_metadata(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise FaceRecError(
            "model_missing",
            f"No face model at {path}; run `python -m facerec train --data DIR` to make one.",
        ) from exc


def metadata() -> dict:
    """The full metadata dict of the current model (see facerec/models/siamese-head.json)."""
    return _read_metadata(metadata_path())


def model_version() -> str:
    """Version string of the shipped model (cheap: reads JSON, no TensorFlow)."""
    return str(metadata()["version"])


def model_info() -> ModelInfo:
    """Version, thresholds (Euclidean distance), embedding size, training data and metrics."""
    meta = metadata()
    return ModelInfo(
        version=str(meta["version"]),
        threshold=float(meta["threshold"]),
        review_threshold=float(meta["review_threshold"]),
        embedding_dim=int(meta["embedding_dim"]),
        trained_on=str(meta["trained_on"]),
        metrics=dict(meta.get("metrics", {})),
        created=str(meta.get("created", "")),
        backbone=str(meta.get("backbone", "")),
    )


class Head:
    """Residual projection y = normalize(x + f(x)); f is a small MLP trained as a Siamese tower.

    weights: list of (kernel, bias) per Dense layer; ReLU between layers, linear last layer.
    With the last layer zero, y == x: the head starts exactly as the backbone.
    """

    def __init__(self, weights: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.weights = [(np.asarray(k, np.float32), np.asarray(b, np.float32)) for k, b in weights]

    @classmethod
    def identity(cls, dim: int = 512) -> Head:
        return cls([(np.zeros((dim, dim), np.float32), np.zeros(dim, np.float32))])

    @classmethod
    def load(cls, path: Path | io.BytesIO) -> Head:
        data = np.load(path)
        count = len([k for k in data.files if k.startswith("kernel_")])
        return cls([(data[f"kernel_{i}"], data[f"bias_{i}"]) for i in range(count)])

    def save(self, path: Path | io.BytesIO) -> None:
        arrays: dict[str, Any] = {}
        for i, (kernel, bias) in enumerate(self.weights):
            arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
        np.savez_compressed(path, **arrays)

    def to_bytes(self) -> bytes:
        """The weights as an .npz file's bytes (what ``from_bytes`` reads back)."""
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Head:
        return cls.load(io.BytesIO(bytes(data)))

    @property
    def digest(self) -> str:
        """A short hash of the weights: two heads with the same digest embed alike."""
        parts = [a.tobytes() for pair in self.weights for a in pair]
        return hashlib.sha1(b"".join(parts)).hexdigest()[:8]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(N, D) float32 -> (N, D) float32 unit vectors."""
        x = np.asarray(x, np.float32)
        h = x
        for i, (kernel, bias) in enumerate(self.weights):
            h = h @ kernel + bias
            if i < len(self.weights) - 1:
                h = np.maximum(h, 0.0)
        y = x + h
        return y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)


_head_cache: dict[Path, Head] = {}


def current_head() -> Head:
    """The shipped head, loaded once per process."""
    path = metadata_path()
    if path not in _head_cache:
        with _lock:
            if path not in _head_cache:
                weights = metadata().get("weights")
                dim = int(metadata().get("embedding_dim", 512))
                _head_cache[path] = (
                    Head.load(path.parent / weights) if weights else Head.identity(dim)
                )
    return _head_cache[path]


FACENET = "facenet"
DLIB = "dlib"
_FACENET_ONLY = ({"name": FACENET, "dim": 512, "weight": 1.0},)


def backbones() -> list[dict]:
    """The backbones whose outputs make the model's input, in order: [{"name", "dim",
    "weight"}, ...] with name "facenet" (160x160 box crops) or "dlib" (150x150 dlib chips).

    A model without the key (every model before the second backbone) is FaceNet alone.
    """
    return [dict(b) for b in metadata().get("backbones", _FACENET_ONLY)]


def backbone_dim() -> int:
    """Length of the head's input (one fused backbone vector, ``facerec.backbone_vectors``): the
    backbones' dims summed, 512 for FaceNet alone, 640 with dlib."""
    return sum(int(b["dim"]) for b in backbones())


def uses_dlib() -> bool:
    return any(b["name"] == DLIB for b in backbones())


def fuse(parts: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """One input vector per face from several backbones' unit vectors.

    parts: (N, D_i) float32 unit vectors per backbone; weights: one per backbone.
    Returns (N, sum D_i) unit vectors: the parts scaled by sqrt(weight), concatenated and
    normalised, so the dot product of two faces is the weighted sum of the backbones' cosine
    similarities (divided by the sum of the weights). With no head this *is* the plain weighted
    sum of similarities; a head starts from it. A single part is returned unchanged.
    """
    if len(parts) == 1:
        return np.asarray(parts[0], np.float32)
    x = np.concatenate(
        [np.sqrt(w) * np.asarray(p, np.float32) for p, w in zip(parts, weights, strict=True)],
        axis=1,
    )
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def backbone_signature() -> str:
    """What the head's input is made of (backbones, weights, mirrored view): a head trained on
    one signature's vectors means nothing for another's."""
    return json.dumps({"backbones": backbones(), "flip": uses_flip()}, sort_keys=True)


def backbone_key() -> str:
    """A short name of ``backbone_signature()``, stored beside each kept backbone vector."""
    return hashlib.sha1(backbone_signature().encode()).hexdigest()[:12]


def uses_flip() -> bool:
    """Whether the product embedding averages the face and its mirror image (metadata "flip")."""
    return bool(metadata().get("flip", False))


def uses_reference_mirror() -> bool:
    """Whether a reference photo is embedded as the mean of the photo and its mirror image
    (metadata "reference_mirror"; class photos' faces are embedded once either way)."""
    return bool(metadata().get("reference_mirror", False))
