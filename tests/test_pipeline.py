"""The tf.data pipeline: shapes, dtypes, odd inputs, order."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import tensorflow as tf

from helpers.config import get_preset
from helpers.data import scan_folder
from helpers.data.pipeline import dataset_for, load_images, make_dataset


@pytest.fixture(scope="module")
def usable(synthetic_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scan_folder(synthetic_dir).usable


@pytest.mark.parametrize(("size", "channels"), [(32, 3), (48, 1), (100, 3), (224, 3)])
def test_batches_have_the_right_shape_and_dtype(usable, size, channels):
    ds = make_dataset(usable, image_size=size, channels=channels, batch_size=16)
    x, y = next(iter(ds))
    assert x.shape == (16, size, size, channels) and x.dtype == tf.float32
    assert 0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 255
    assert float(tf.reduce_max(x)) > 1  # 0-255: each model rescales its own way
    assert set(y) == {"age", "gender"}
    assert y["age"].dtype == tf.float32 and y["gender"].shape == (16,)


def test_every_usable_face_is_delivered_in_order(usable):
    ds = make_dataset(usable, image_size=32, batch_size=10)
    ages = np.concatenate([y["age"].numpy() for _, y in ds])
    np.testing.assert_array_equal(ages, usable["age"].to_numpy(float))


def test_grayscale_png_of_another_size_is_decoded(usable):
    png = usable[usable["file"] == "45_1_3_20170101000000003.jpg.chip.jpg"]
    images = load_images(png, image_size=40, channels=3)
    assert images.shape == (1, 40, 40, 3) and images.dtype == np.uint8
    assert np.allclose(images[0, ..., 0], images[0, ..., 1])  # grey copied to 3 channels


def test_shuffle_is_seeded_and_augment_applies(usable):
    a = [y["age"].numpy() for _, y in make_dataset(usable, 32, batch_size=8, shuffle=True, seed=3)]
    b = [y["age"].numpy() for _, y in make_dataset(usable, 32, batch_size=8, shuffle=True, seed=3)]
    np.testing.assert_array_equal(np.concatenate(a), np.concatenate(b))
    flip = tf.keras.layers.RandomFlip("horizontal", seed=0)
    x, _ = next(iter(make_dataset(usable, 32, batch_size=8, augment=flip)))
    assert x.shape == (8, 32, 32, 3)


def test_dataset_for_uses_the_preset(usable):
    preset = get_preset("smoke")
    x, _ = next(iter(dataset_for(usable, preset)))
    assert x.shape[1:] == (preset.image_size, preset.image_size, preset.channels)
