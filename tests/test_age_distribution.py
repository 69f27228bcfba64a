"""Chapter 5's age distribution head and chapter 8's conformal intervals."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from helpers.scoring import evaluation
from helpers.taught import (
    AGE_BINS,
    AgeDistributionLoss,
    ExpectedAge,
    age_head_loss,
    age_interval,
    compile_model,
    conformal_scale,
    conformal_scales,
    scale_of,
    scratch_cnn,
    soft_label,
    training_view,
    transfer_model,
)


def test_soft_label_is_a_distribution_peaked_at_the_age():
    label = soft_label(tf.constant([30.0, 116.0]), sigma=2.0).numpy()
    assert label.shape == (2, len(AGE_BINS))
    np.testing.assert_allclose(label.sum(axis=1), 1.0, rtol=1e-5)
    assert label[0].argmax() == 30 and label[0, 28:33].sum() > 0.7
    assert label[1].argmax() == AGE_BINS[-1]  # older than the last bin: counted as 100


def test_expected_age_reads_mean_and_spread():
    probs = np.zeros((2, len(AGE_BINS)), "float32")
    probs[0, 30] = 1.0  # certain: 30
    probs[1, [20, 40]] = 0.5  # torn between 20 and 40
    mean, spread = (t.numpy()[:, 0] for t in ExpectedAge()(tf.constant(probs)))
    np.testing.assert_allclose(mean, [30.0, 30.0], atol=1e-4)
    np.testing.assert_allclose(spread, [0.0, 10.0], atol=1e-2)


def test_the_loss_prefers_the_right_age_and_survives_a_round_trip():
    loss = AgeDistributionLoss(sigma=2.0, mean_weight=0.1)
    age = tf.constant([[30.0]])
    right, wrong = soft_label(tf.constant([30.0])), soft_label(tf.constant([45.0]))
    assert float(loss(age, right)) < float(loss(age, wrong))
    again = AgeDistributionLoss.from_config(loss.get_config())
    assert (again.sigma, again.mean_weight) == (2.0, 0.1)


def test_distribution_model_trains_on_its_view_and_saves_in_years(tmp_path):
    model = scratch_cnn(32, age_head="distribution")
    assert {"age", "age_sd", "age_probs", "gender"} <= set(model.output)
    trains = training_view(model)
    assert trains.output["age"].shape[-1] == len(AGE_BINS)
    regression = scratch_cnn(32)
    assert training_view(regression) is regression  # a regression model is its own view
    compile_model(trains, age_weight=0.3, **age_head_loss(trains))
    x = np.random.default_rng(0).uniform(0, 255, (16, 32, 32, 3)).astype("float32")
    y = {"age": np.linspace(1, 90, 16).astype("float32"), "gender": (np.arange(16) % 2.0)}
    history = trains.fit(x, y, epochs=1, verbose=0)
    assert "age_mae" in history.history  # the expected value's MAE, logged in years
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    out = loaded(x[:4], training=False)
    expected = (out["age_probs"].numpy() * AGE_BINS).sum(axis=1)
    np.testing.assert_allclose(out["age"].numpy()[:, 0], expected, rtol=1e-4)


def test_transfer_model_with_a_distribution_head():
    parts = transfer_model("mobilenetv2", 32, weights=None, age_head="distribution")
    assert parts.top.output["age"].shape[-1] == len(AGE_BINS)  # the view that trains
    assert parts.model.output["age"].shape[-1] == 1  # the one saved: years


def test_conformal_scale_covers_new_faces_at_the_stated_rate():
    rng = np.random.default_rng(0)
    spread = rng.uniform(1, 10, 4000)
    errors = rng.normal(0, spread)
    q = conformal_scale(errors[:2000], spread[:2000], coverage=0.9)
    low, high = age_interval(np.full(2000, 50.0), spread[2000:], q)
    covered = ((50 + errors[2000:]) >= low) & ((50 + errors[2000:]) <= high)
    assert 0.87 <= covered.mean() <= 0.93
    assert abs(q - 1.645) < 0.15  # the normal's 95th percentile: |error| / spread is |N(0, 1)|
    assert (age_interval([1.0], [5.0], q)[0] >= 0).all()  # never below 0 years
    with pytest.raises(ValueError, match="too few"):
        conformal_scale([1.0, 2.0], [1.0, 1.0], coverage=0.9)


def test_a_q_per_predicted_age_band_covers_each_band_where_one_q_does_not():
    rng = np.random.default_rng(1)
    age = rng.uniform(0, 80, 20000)
    errors = rng.normal(0, 0.5 + 0.12 * age)  # a regression head: larger errors when older
    predicted = age + errors
    calibrate, new = slice(0, 10000), slice(10000, None)
    one = conformal_scale(errors[calibrate], np.ones(10000))
    scales = conformal_scales(predicted[calibrate], errors[calibrate], np.ones(10000))
    assert scales["all"] == one and scales["0-2"] < scales["30-39"] < scales["60+"]
    bands = evaluation.age_band(predicted[new]).astype(str).to_numpy()
    for q in (one, scales):
        low, high = age_interval(predicted[new], np.ones(10000), scale_of(q, predicted[new]))
        covered = (age[new] >= low) & (age[new] <= high)
        by_band = pd.Series(covered).groupby(bands).mean()
        assert 0.88 <= covered.mean() <= 0.93
        if q is one:  # one q: too wide for the young, too narrow for the old
            assert by_band["0-2"] > 0.97 and by_band["60+"] < 0.85
        else:  # a q per band of predicted age holds 90% in each
            assert by_band.between(0.87, 0.93).all(), by_band
    few = conformal_scales([1.0, 1.5, 30.0] * 20, rng.normal(0, 1, 60), np.ones(60))
    assert few["0-2"] == few["all"]  # 40 faces: too few for a band's own q, the overall one
    assert few["30-39"] == few["all"] and scale_of(2.0, [5.0, 50.0]).tolist() == [2.0, 2.0]


def test_interval_coverage_by_group():
    predictions = pd.DataFrame({"age": [5, 25, 35, 70], "age_pred": [6.0, 30.0, 35.0, 50.0],
                                "age_sd": [1.0, 2.0, 2.0, 5.0], "gender": [0, 1, 0, 1]})
    with_interval = evaluation.with_age_interval(predictions, q=2.0)
    assert with_interval["age_covered"].tolist() == [True, False, True, False]
    overall = evaluation.interval_coverage(with_interval)
    assert overall["coverage"] == 0.5 and overall["mean_width"] == pytest.approx(10.0)
    by_gender = evaluation.interval_coverage(with_interval, "gender")
    assert by_gender.loc[0, "coverage"] == 1.0 and by_gender.loc[1, "coverage"] == 0.0
