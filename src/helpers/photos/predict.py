"""A course model on whole photos: find the faces, cut each as UTKFace's crops are cut (around
the detector's box, or aligned by the eyes), and predict age and gender for each face."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import keras
import numpy as np

from helpers.photos import faces
from helpers.photos.align import aligned_crop
from helpers.photos.faces import crop_face, detect_faces, predict_crops, read_image


def predict_photo(model: keras.Model, image: np.ndarray, detect: bool = True,
                  align: bool = False, mirror: bool = False,
                  interval_q: float | dict[str, float] | None = None,
                  detector: str = "auto") -> list[dict]:
    """Every face of an RGB photo, its subject first: {"box", "gender", "gender_probability", "age"}
    (without `detect`, the whole image is one face crop); [] when no face is found. With
    `detect`, each face also says how it was cut, "crop": "box" (framed around the detector's
    box) or, with `align` and dlib's 5-point model installed, "eyes" (helpers.photos.align).
    `detector` is faces.detect_faces's (the photo's subject comes first)."""
    if not detect:
        height, width = image.shape[:2]
        boxes = [[0, 0, int(width), int(height)]]
        crops, how = [image], [None]
    elif align:
        boxes = detect_faces(image, detector=detector)
        cuts = [aligned_crop(image, box) for box in boxes]
        crops = [crop for crop, _ in cuts]
        how = ["box" if kind == "box" else "eyes" for _, kind in cuts]
    else:
        boxes = detect_faces(image, detector=detector)
        crops = [crop_face(image, box) for box in boxes]
        how = ["box"] * len(boxes)
    return [{"box": [int(v) for v in box], **face, **({"crop": kind} if kind else {})}
            for box, face, kind in zip(boxes, predict_crops(model, crops, mirror, interval_q), how,
                                       strict=True)]


def predict_images(model: keras.Model, paths: Iterable[str | Path],
                   detect: bool = False, align: bool = False, mirror: bool = False,
                   interval_q: float | dict[str, float] | None = None,
                   detector: str = "auto") -> Iterator[dict]:
    """One result per image: {"image", "faces": [{"box", "gender", "gender_probability", "age"}]},
    or {"image", "faces": [], "error"} for a file that cannot be read. Without `detect`, each
    image is one face crop; with it, faces are found first (an image may have none; "detector"
    says which detector found them, "none" when none did), and cut aligned by the eyes with
    `align` (see predict_photo)."""
    for path in paths:
        try:
            image = read_image(path)
        except (FileNotFoundError, ValueError) as exc:
            yield {"image": str(path), "faces": [], "error": str(exc)}
            continue
        found = predict_photo(model, image, detect=detect, align=align, mirror=mirror,
                              interval_q=interval_q, detector=detector)
        yield {"image": str(path), **({"detector": faces.last_detector} if detect else {}),
               "faces": found}
