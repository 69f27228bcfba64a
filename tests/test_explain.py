"""Grad-CAM: heatmaps for flat and two-part models, following where the evidence is."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from helpers.taught import (
    averaged,
    cam_parts,
    ensemble,
    gender_logit,
    gender_units,
    grad_cam,
    renamed,
    scratch_cnn,
    split_model,
    transfer_model,
)


def test_heatmaps_for_a_scratch_cnn_and_a_transfer_model():
    images = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    for model in (scratch_cnn(32, 3), scratch_cnn(32, 3, age_head="distribution"),
                  transfer_model("mobilenetv2", 32, weights=None).model,
                  transfer_model("mobilenetv2", 32, weights=None, age_head="distribution").model):
        for head in ("gender", "age"):
            cams = grad_cam(model, images, head=head)
            assert cams.shape == (3, 32, 32)
            assert cams.min() >= 0 and cams.max() <= 1
    front, back = split_model(scratch_cnn(32, 3))
    assert front.output.shape[1:3] == (4, 4)  # the last block's map, before pooling
    with pytest.raises(ValueError, match="head"):
        grad_cam(scratch_cnn(32, 3), images, head="race")


def test_gender_activation_is_restored_after_explaining():
    model = scratch_cnn(32, 3)
    grad_cam(model, np.zeros((1, 32, 32, 3), "float32"))
    assert model.get_layer("gender").activation is keras.activations.sigmoid


def test_an_ensemble_is_explained_through_its_members_logits():
    """Chapter 6's two tops: the heatmap follows the mean of their gender logits, and both
    members get their sigmoid back."""
    nets = [transfer_model("mobilenetv2", 32, weights=None) for _ in range(2)]  # one trunk
    both = ensemble(nets)
    images = np.random.default_rng(4).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    _, back = split_model(both)
    units = gender_units(back)
    assert len(units) == 2 and back.get_layer("gender") not in units  # the Average is not one
    for head in ("gender", "age"):
        cams = grad_cam(both, images, head=head)
        assert cams.shape == (2, 32, 32) and cams.max() <= 1
    assert all(unit.activation is keras.activations.sigmoid for unit in units)
    with pytest.raises(ValueError, match="no gender unit"):
        with gender_logit(keras.Sequential([layers.Input((2,)), layers.Dense(1, name="age")])):
            pass


def test_an_average_of_scratch_cnns_is_explained_member_by_member():
    """Chapter 5's `averaged` of two flat CNNs: one (front, back) per member. Two members with
    the same weights are the single network again, so their heatmap is its heatmap; members
    with different weights give a heatmap of their own, and both get their sigmoid back."""
    images = np.random.default_rng(5).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    single = scratch_cnn(32, 3, age_head="distribution", seed=0)
    twin = renamed(scratch_cnn(32, 3, age_head="distribution", seed=1), "twin")
    twin.set_weights(single.get_weights())
    same = averaged(renamed(single, "first"), twin)
    assert len(cam_parts(same)) == 2 and len(cam_parts(single)) == 1
    other = averaged(renamed(single, "first"),
                     renamed(scratch_cnn(32, 3, age_head="distribution", seed=2), "other"))
    for head in ("gender", "age"):
        alone = grad_cam(single, images, head=head)
        np.testing.assert_allclose(grad_cam(same, images, head=head), alone, atol=1e-5)
        mixed = grad_cam(other, images, head=head)
        assert mixed.shape == (3, 32, 32) and mixed.min() >= 0 and mixed.max() <= 1
        assert np.abs(mixed - alone).max() > 0.05  # the second member counts
    assert all(unit.activation is keras.activations.sigmoid for unit in gender_units(other))


def test_the_heatmap_lights_up_where_the_evidence_is():
    """Two feature maps, one lit in the top-left corner and one in the bottom-right; the
    prediction depends on the first map only, so Grad-CAM must point to the top-left."""
    image = keras.Input((8, 8, 2))
    maps = layers.Conv2D(2, 1, use_bias=False, name="maps",
                         kernel_initializer=lambda shape, dtype=None: np.eye(2).reshape(shape))(
        image)
    score = layers.Lambda(lambda m: keras.ops.mean(m[..., :1], axis=(1, 2)))(maps)
    model = keras.Model(image, {"gender": layers.Dense(1, activation="sigmoid", name="gender",
                                                       kernel_initializer="ones")(score),
                                "age": layers.Dense(1, name="age")(score)})
    picture = np.zeros((1, 8, 8, 2), "float32")
    picture[0, :4, :4, 0] = 1
    picture[0, 4:, 4:, 1] = 1
    cam = grad_cam(model, picture, layer="maps")[0]
    assert cam[:3, :3].min() > 0.9 and cam[5:, 5:].max() < 0.1
