"""Faces in photos: read an image file, cut the face crops, and predict age and gender for each.

A UTKFace-style crop (one face filling the picture) is one face whose box is the whole image.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from .data import GENDERS


def read_image(path: str | Path) -> np.ndarray:
    """An image file as an RGB uint8 array, with a clear error when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"cannot read {path} as an image ({exc})") from exc


def prepare_crop(crop: np.ndarray, image_size: int, channels: int) -> np.ndarray:
    """Resize an RGB crop to the model's input (area resampling, like the pipeline), float32."""
    image = tf.convert_to_tensor(crop)
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    image = tf.image.resize(tf.cast(image, tf.float32), (image_size, image_size), method="area")
    return tf.round(image).numpy()


def predict_crops(model: keras.Model, crops: list[np.ndarray]) -> list[dict]:
    """Age (years) and gender (with the probability of that gender) for each RGB face crop."""
    if not crops:
        return []
    shape = model.inputs[0].shape
    batch = np.stack([prepare_crop(c, int(shape[1]), int(shape[-1])) for c in crops])
    out = model(batch, training=False)
    results = []
    for age, p_female in zip(out["age"].numpy()[:, 0], out["gender"].numpy()[:, 0], strict=True):
        female = bool(p_female >= 0.5)
        results.append({"gender": GENDERS[int(female)],
                        "gender_probability": round(float(p_female if female else 1 - p_female), 4),
                        "age": round(float(age), 1)})
    return results


def predict_images(model: keras.Model, paths: Iterable[str | Path]) -> Iterator[dict]:
    """One result per image: {"image", "faces": [{"box", "gender", "gender_probability", "age"}]},
    or {"image", "faces": [], "error"} for a file that cannot be read."""
    for path in paths:
        try:
            image = read_image(path)
        except (FileNotFoundError, ValueError) as exc:
            yield {"image": str(path), "faces": [], "error": str(exc)}
            continue
        height, width = image.shape[:2]
        (face,) = predict_crops(model, [image])
        yield {"image": str(path), "faces": [{"box": [0, 0, int(width), int(height)], **face}]}
