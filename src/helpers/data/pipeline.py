"""The input pipeline: tf.data decodes, resizes, caches (as uint8), batches and prefetches faces.

It never holds the dataset as one float64 array: faces are decoded in parallel, cached as small
uint8 tensors, and turned into float32 batch by batch. Images come out as float32 in [0, 255];
each model rescales them its own way (a `Rescaling` layer, or a backbone's `preprocess_input`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import tensorflow as tf

from helpers.config import Preset

AUTOTUNE = tf.data.AUTOTUNE


def decode_face(path: tf.Tensor, image_size: int, channels: int) -> tf.Tensor:
    """Read one image file (JPEG fast path, else PNG/BMP/GIF) as a uint8 image_size^2 tensor."""
    raw = tf.io.read_file(path)
    # JPEG: decode straight to the wanted channels, at a reduced scale when that is enough.
    ratio = 4 if image_size * 4 <= 200 else 2 if image_size * 2 <= 200 else 1

    def jpeg() -> tf.Tensor:
        # The default, accurate DCT: with SIMD it decoded faster than "INTEGER_FAST" here.
        return tf.io.decode_jpeg(raw, channels=channels, ratio=ratio)

    def other() -> tf.Tensor:
        return tf.io.decode_image(raw, channels=channels, expand_animations=False)

    image = tf.cond(tf.io.is_jpeg(raw), jpeg, other)
    image = tf.image.resize(image, (image_size, image_size), method="area")
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def make_dataset(frame: pd.DataFrame, image_size: int = 64, channels: int = 3,
                 batch_size: int = 32, shuffle: bool = False, seed: int = 0,
                 cache: bool = True, augment: tf.keras.layers.Layer | None = None,
                 repeat: bool = False) -> tf.data.Dataset:
    """A batched tf.data.Dataset of (image float32 0-255, {"age", "gender"}) from a manifest."""
    paths = frame["path"].astype(str).to_numpy()
    ages = frame["age"].astype("float32").to_numpy()
    genders = frame["gender"].astype("float32").to_numpy()
    ds = tf.data.Dataset.from_tensor_slices((paths, ages, genders))
    ds = ds.map(lambda p, a, g: (decode_face(p, image_size, channels), {"age": a, "gender": g}),
                num_parallel_calls=AUTOTUNE, deterministic=True)
    if cache:
        ds = ds.cache()  # uint8: 18,930 faces at 64x64 RGB take 233 MB
    if repeat:
        ds = ds.repeat()
    if shuffle:
        ds = ds.shuffle(min(len(frame), 20_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=AUTOTUNE)
    if augment is not None:
        ds = ds.map(lambda x, y: (augment(x, training=True), y), num_parallel_calls=AUTOTUNE)
    return ds.prefetch(AUTOTUNE)


def dataset_for(frame: pd.DataFrame, preset: Preset, **kwargs) -> tf.data.Dataset:
    """make_dataset with the image size, channels and batch size of a preset."""
    return make_dataset(frame, image_size=preset.image_size, channels=preset.channels,
                        batch_size=preset.batch_size, **kwargs)


def load_images(frame: pd.DataFrame, image_size: int = 64, channels: int = 3) -> np.ndarray:
    """Decode a few faces into one uint8 array (for plots; use make_dataset to train)."""
    ds = make_dataset(frame, image_size, channels, batch_size=256, cache=False)
    batches = [x.numpy() for x, _ in ds]
    if not batches:
        return np.zeros((0, image_size, image_size, channels), np.uint8)
    return np.concatenate(batches).astype(np.uint8)
