"""The second backbone: dlib's ResNet face descriptor (128-d), run by TensorFlow.

The weights are ``dlib_face_recognition_resnet_model_v1.dat`` from the PyPI package
``face-recognition-models`` (0.3.0); the aligned 150x150 "face chip" comes from dlib's own
5-point shape predictor (same package) run inside the MTCNN box, and ``dlib.get_face_chip``
(PyPI ``dlib-bin``), as dlib's ``compute_face_descriptor`` does.

dlib runs the network at ~0.1-0.9 s a face on this CPU (its own convolutions, one thread), too
slow for a 30-face class photo, so the network is rebuilt in TensorFlow from the same file: the
.dat is parsed once per process (about a second), nothing is downloaded or written. The test
suite checks that both give the same descriptors (1e-4) on real LFW faces.

Network (dlib's dnn_face_recognition_ex.cpp): conv 7x7/2 (32) -> affine -> relu -> max pool
3x3/2, then 14 residual blocks of two 3x3 convs, each followed by an affine (frozen batch norm):
3 x 32, 4 x 64, 3 x 128, 4 x 256 channels; the first block of each size halves the resolution
(stride-2 conv, no padding; the shortcut is a 2x2/2 average pool of the input). dlib adds tensors
of different shapes by zero-padding the smaller one at the end (channels, bottom rows, right
columns), which happens in those down-sampling blocks. Then the mean over space and a 256x128
matrix (no bias). Input: RGB minus dlib's channel means, divided by 256.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facerec.errors import FaceRecError

DLIB_BACKBONE_NAME = (
    "dlib-resnet-face-descriptor-v1-128 (PyPI face-recognition-models 0.3.0, run by TensorFlow)"
)
CHIP_SIZE = 150
CHIP_PADDING = 0.25  # dlib's compute_face_descriptor default
EMBEDDING_DIM = 128
_CHANNEL_MEANS = np.array([122.782, 117.001, 104.298], np.float32)  # input_rgb_image_sized
_LAYER = re.compile(rb"\x01\x05con_4|\x01\x07affine_|\x01\x04fc_2")

_lock = threading.Lock()
_model = None
_predictor = None


def _models_dir() -> Path:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise FaceRecError(
            "model_missing",
            "The dlib face model is not installed: pip install face-recognition-models dlib-bin.",
        )
    return Path(spec.origin).parent / "models"


def weights_path() -> Path:
    return _models_dir() / "dlib_face_recognition_resnet_model_v1.dat"


def shape_predictor_path() -> Path:
    return _models_dir() / "shape_predictor_5_face_landmarks.dat"


@dataclass(frozen=True)
class Conv:
    kernel: np.ndarray  # (rows, cols, in, out) float32, TensorFlow's HWIO
    bias: np.ndarray  # (out,)
    stride: int
    padding: int


@dataclass(frozen=True)
class Affine:
    gamma: np.ndarray  # (channels,)
    beta: np.ndarray


@dataclass(frozen=True)
class DlibWeights:
    convs: list[Conv]  # in forward order: the stem, then two per residual block
    affines: list[Affine]  # one after each conv
    fc: np.ndarray  # (256, 128)


def _read_int(buf: bytes, pos: int) -> tuple[int, int]:
    """dlib's integer encoding: one byte (low nibble = byte count, 0x80 = negative), then
    that many little-endian bytes."""
    head = buf[pos]
    count = head & 0x0F
    value = int.from_bytes(buf[pos + 1 : pos + 1 + count], "little")
    return (-value if head & 0x80 else value), pos + 1 + count


def _read_tensor(buf: bytes, pos: int) -> tuple[np.ndarray, int]:
    """A dlib tensor (version 2): 4 dims, then the values as little-endian float32."""
    version, pos = _read_int(buf, pos)
    if version != 2:
        raise FaceRecError("model_missing", f"Unexpected dlib tensor version {version}.")
    dims = []
    for _ in range(4):
        size, pos = _read_int(buf, pos)
        dims.append(size)
    count = int(np.prod(dims))
    values = np.frombuffer(buf, "<f4", count=count, offset=pos).reshape(dims)
    return values.astype(np.float32), pos + 4 * count


def read_weights(path: Path | None = None) -> DlibWeights:
    """Parse the conv, affine and fc parameters of dlib's .dat, in forward order.

    A dlib network serialises each layer's subnetwork before the layer itself, so the layers
    appear input first. Each layer starts with its type name as a dlib string.
    """
    buf = (path or weights_path()).read_bytes()
    convs, affines, fc = [], [], None
    for match in _LAYER.finditer(buf):
        name, pos = match.group()[2:], match.end()
        if name == b"fc_2":
            _outputs, pos = _read_int(buf, pos)
            _inputs, pos = _read_int(buf, pos)
            params, _ = _read_tensor(buf, pos)
            fc = params.reshape(params.shape[0], params.shape[1])
        elif name == b"affine_":
            params, _ = _read_tensor(buf, pos)
            gamma, beta = np.split(params.reshape(-1), 2)
            affines.append(Affine(gamma, beta))
        else:
            params, pos = _read_tensor(buf, pos)
            header = []
            for _ in range(7):  # filters, rows, cols, stride y, stride x, padding y, padding x
                value, pos = _read_int(buf, pos)
                header.append(value)
            filters, rows, cols, stride, _, padding, _ = header
            flat = params.reshape(-1)
            inputs = (flat.size - filters) // (filters * rows * cols)
            kernel = flat[:-filters].reshape(filters, inputs, rows, cols).transpose(2, 3, 1, 0)
            convs.append(Conv(np.ascontiguousarray(kernel), flat[-filters:], stride, padding))
    if fc is None or len(convs) != 29 or len(affines) != 29:
        raise FaceRecError("model_missing", "The dlib face model file is not the expected one.")
    return DlibWeights(convs, affines, fc)


def _build(weights: DlibWeights):
    """A tf.function (N, 150, 150, 3) float32 RGB 0..255 -> (N, 128) raw dlib descriptors."""
    import tensorflow as tf

    consts = [
        (tf.constant(c.kernel), tf.constant(c.bias), c.stride, c.padding) for c in weights.convs
    ]
    affines = [(tf.constant(a.gamma), tf.constant(a.beta)) for a in weights.affines]
    fc = tf.constant(weights.fc)

    def conv(x, i):
        kernel, bias, stride, pad = consts[i]
        if pad:
            x = tf.pad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]])
        x = tf.nn.conv2d(x, kernel, stride, "VALID") + bias
        gamma, beta = affines[i]
        return x * gamma + beta

    def add_padded(a, b):
        """dlib's add_prev: the sum over the larger shape, the smaller one zero-padded."""
        rows = tf.maximum(tf.shape(a)[1], tf.shape(b)[1])
        cols = tf.maximum(tf.shape(a)[2], tf.shape(b)[2])
        chans = max(a.shape[3], b.shape[3])

        def pad(t):
            return tf.pad(
                t,
                [
                    [0, 0],
                    [0, rows - tf.shape(t)[1]],
                    [0, cols - tf.shape(t)[2]],
                    [0, chans - t.shape[3]],
                ],
            )

        return pad(a) + pad(b)

    @tf.function(input_signature=[tf.TensorSpec([None, CHIP_SIZE, CHIP_SIZE, 3], tf.float32)])
    def forward(pixels):
        x = (pixels - _CHANNEL_MEANS) / 256.0
        x = tf.nn.relu(conv(x, 0))
        x = tf.nn.max_pool2d(x, 3, 2, "VALID")
        for block in range(14):
            first = 1 + 2 * block
            h = tf.nn.relu(conv(x, first))
            h = conv(h, first + 1)
            shortcut = x
            if consts[first][2] == 2:
                shortcut = tf.nn.avg_pool2d(x, 2, 2, "VALID")
            x = tf.nn.relu(add_padded(shortcut, h))
        return tf.reduce_mean(x, axis=[1, 2]) @ fc

    return forward


def _get_model():
    global _model
    if _model is None:
        with _lock:  # load once per process, on first use
            if _model is None:
                from facerec.backbone import configure_tensorflow_threads

                configure_tensorflow_threads()
                _model = _build(read_weights())
    return _model


def dlib_descriptors(chips: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """Raw dlib descriptors (as dlib's compute_face_descriptor returns them, not unit length):
    (N, 150, 150, 3) uint8 RGB chips from ``face_chips`` -> (N, 128) float32."""
    chips = np.asarray(chips)
    if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(f"chips must be (N, {CHIP_SIZE}, {CHIP_SIZE}, 3), got {chips.shape}")
    if len(chips) == 0:
        return np.zeros((0, EMBEDDING_DIM), np.float32)
    model = _get_model()
    parts = [
        model(chips[lo : lo + batch_size].astype(np.float32)).numpy()
        for lo in range(0, len(chips), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


def dlib_embed(chips: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
    """(N, 150, 150, 3) uint8 RGB chips -> (N, 128) float32 unit vectors."""
    raw = dlib_descriptors(chips, batch_size=batch_size)
    return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)


def _get_predictor():
    global _predictor
    if _predictor is None:
        with _lock:
            if _predictor is None:
                import dlib

                _predictor = dlib.shape_predictor(str(shape_predictor_path()))
    return _predictor


def face_chip(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """dlib's aligned chip of the face in ``box`` (x, y, w, h, e.g. an MTCNN box) of an
    (H, W, 3) uint8 RGB image: (150, 150, 3) uint8 RGB, eyes and nose on dlib's template."""
    import dlib

    image = np.ascontiguousarray(image, dtype=np.uint8)
    x, y, w, h = (int(round(v)) for v in box)
    shape = _get_predictor()(image, dlib.rectangle(x, y, x + w, y + h))
    return np.asarray(dlib.get_face_chip(image, shape, CHIP_SIZE, CHIP_PADDING), np.uint8)
