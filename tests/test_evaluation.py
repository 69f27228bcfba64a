"""Evaluation: metrics equal scikit-learn's, intervals behave, groups and mistakes are right."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from helpers.scoring import evaluation


def fake_predictions(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A predictions table like predict_faces makes, with known errors."""
    rng = np.random.default_rng(seed)
    age = rng.integers(1, 90, n).astype(float)
    gender = rng.integers(0, 2, n)
    p_female = np.clip(gender * 0.7 + rng.uniform(0, 0.3, n) + rng.normal(0, 0.2, n), 0, 1)
    frame = pd.DataFrame({"file": [f"{i}.jpg" for i in range(n)], "age": age, "gender": gender,
                          "race": rng.integers(0, 5, n), "age_pred": age + rng.normal(0, 6, n),
                          "p_female": p_female})
    frame["gender_pred"] = (frame["p_female"] >= 0.5).astype(int)
    frame["age_error"] = frame["age_pred"] - frame["age"]
    return frame


def test_score_matches_scikit_learn():
    pred = fake_predictions()
    s = evaluation.score(pred)
    assert s["n"] == len(pred)
    assert s["gender_accuracy"] == pytest.approx(skm.accuracy_score(pred.gender, pred.gender_pred))
    assert s["gender_f1"] == pytest.approx(skm.f1_score(pred.gender, pred.gender_pred))
    assert s["age_mae"] == pytest.approx(np.abs(pred.age_error).mean())
    assert s["age_rmse"] == pytest.approx(np.sqrt((pred.age_error ** 2).mean()))
    assert s["age_r2"] == pytest.approx(skm.r2_score(pred.age, pred.age_pred))
    assert evaluation.confusion(pred).to_numpy().sum() == len(pred)


def test_bootstrap_interval_holds_the_value_and_narrows_with_more_faces():
    small = evaluation.bootstrap(fake_predictions(50), "age_mae", n_boot=300)
    large = evaluation.bootstrap(fake_predictions(2000), "age_mae", n_boot=300)
    for ci in (small, large):
        assert ci["low"] <= ci["value"] <= ci["high"]
    assert (large["high"] - large["low"]) < (small["high"] - small["low"]) / 3
    with pytest.raises(ValueError, match="metric"):
        evaluation.bootstrap(fake_predictions(), "age_r2")


def test_seven_faces_swing_far_more_than_the_whole_test_split():
    pred = fake_predictions(1000)
    draws = evaluation.small_sample_spread(pred, k=7, n_draws=500)
    ci = evaluation.bootstrap(pred, "gender_accuracy", n_boot=300)
    assert set(np.round(draws * 7)) <= set(range(8))
    assert np.quantile(draws, 0.975) - np.quantile(draws, 0.025) > 3 * (ci["high"] - ci["low"])
    with pytest.raises(ValueError, match="cannot draw"):
        evaluation.small_sample_spread(pred.head(3), k=7)


def test_errors_by_band_and_worst_mistakes():
    pred = fake_predictions()
    table = evaluation.errors_by(pred, "age_band")
    assert table["faces"].sum() == len(pred)
    assert table.loc["20-29", "age_mae"] == pytest.approx(
        pred.loc[(pred.age >= 20) & (pred.age < 30), "age_error"].abs().mean())
    worst = evaluation.worst_mistakes(pred, k=5)
    assert worst["age_error"].abs().min() >= pred["age_error"].abs().nlargest(5).min()
    wrong = evaluation.worst_mistakes(pred, k=5, head="gender")
    assert (wrong["gender"] != wrong["gender_pred"]).all()


def test_baseline_uses_the_training_split_only():
    faces = pd.DataFrame({"file": list("abcdef"), "age": [10, 20, 30, 80, 90, 90],
                          "gender": [1, 1, 0, 0, 0, 1],
                          "split": ["train", "train", "train", "test", "test", "test"]})
    base = evaluation.baseline_scores(faces)
    assert base["median_age"] == 20 and base["majority_gender"] == 1
    assert base["age_mae"] == pytest.approx((60 + 70 + 70) / 3)
    assert base["gender_accuracy"] == pytest.approx(1 / 3)


def test_predict_faces_keeps_the_order_of_the_faces(synthetic_dir):
    from helpers.data import scan_folder
    from helpers.learn.models import scratch_cnn

    faces = scan_folder(synthetic_dir, warn=False).usable.head(20)
    model = scratch_cnn(32, 3)
    pred = evaluation.predict_faces(model, faces, batch_size=8)
    assert list(pred["file"]) == list(faces["file"])
    assert {"age_pred", "p_female", "gender_pred", "age_error"} <= set(pred)
    flipped = evaluation.predict_faces(model, faces, batch_size=8, flip_average=True)
    assert len(flipped) == 20
    with pytest.raises(ValueError, match="no faces"):
        evaluation.predict_faces(model, faces.head(0))


def test_group_scores_give_each_group_an_interval():
    from helpers.scoring.evaluation import group_scores

    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"race": rng.integers(0, 2, n), "age": rng.integers(1, 90, n),
                          "gender": rng.integers(0, 2, n)})
    frame["gender_pred"] = np.where(frame["race"] == 0, frame["gender"], 1 - frame["gender"])
    frame["age_error"] = np.where(frame["race"] == 0, 1.0, 5.0)
    table = group_scores(frame, "race", n_boot=100)
    assert table.loc[0, "gender_accuracy"] == 1 and table.loc[1, "gender_accuracy"] == 0
    assert table.loc[1, "age_mae"] == 5 and table["faces"].sum() == n
    assert (table["age_mae_low"] <= table["age_mae"]).all()
    bands = group_scores(frame, "age_band", n_boot=50)
    assert bands["faces"].sum() == n


def test_group_scores_keep_age_groups_in_order():
    from helpers.data import AGE_BAND_LABELS
    from helpers.scoring.evaluation import group_scores

    frame = pd.DataFrame({"age": [1, 5, 15, 25, 35, 45, 55, 70] * 3, "gender": [0, 1] * 12,
                          "gender_pred": [0] * 24, "age_error": [1.0] * 24})
    assert list(group_scores(frame, "age_band", n_boot=10).index) == AGE_BAND_LABELS


def test_calibration_table_and_ece():
    from helpers.scoring.evaluation import calibration_table, expected_calibration_error

    perfect = pd.DataFrame({"p_female": [0.25] * 4 + [0.75] * 4,
                            "gender": [1, 0, 0, 0, 1, 1, 1, 0]})
    table = calibration_table(perfect, bins=10)
    assert list(table["faces"]) == [4, 4]
    assert expected_calibration_error(perfect) == pytest.approx(0.0)
    overconfident = pd.DataFrame({"p_female": [0.95] * 10, "gender": [1] * 6 + [0] * 4})
    assert expected_calibration_error(overconfident) == pytest.approx(0.35)
    assert calibration_table(pd.DataFrame({"p_female": [1.0], "gender": [1]}))["range"][0] \
        == "0.9-1.0"  # p = 1 falls in the last bin


def test_largest_gap_and_training_share():
    from helpers.scoring.evaluation import group_scores, largest_gap, with_training_share

    rng = np.random.default_rng(0)
    n = 400
    preds = pd.DataFrame({"race": np.repeat([0, 1], n // 2), "gender": rng.integers(0, 2, n),
                          "age": rng.integers(1, 80, n).astype(float), "file": range(n)})
    right = np.where(preds["race"] == 0, rng.random(n) < 0.95, rng.random(n) < 0.6)
    preds["gender_pred"] = np.where(right, preds["gender"], 1 - preds["gender"])
    preds["age_error"] = rng.normal(0, 5, n)
    table = group_scores(preds, "race")
    gap = largest_gap(table, "gender_accuracy", preds)
    assert (gap["best"], gap["worst"]) == (0, 1)
    assert gap["gap"] > 0.25 and 0 < gap["gap_low"] < gap["gap"] < gap["gap_high"]
    mae = largest_gap(table, "age_mae", preds)
    assert mae["best_value"] <= mae["worst_value"]
    assert mae["gap_low"] < 0 < mae["gap_high"]  # the same errors in both: chance alone
    assert "gap_low" not in largest_gap(table, "age_mae")  # no faces, no interval
    train = pd.DataFrame({"race": [0, 0, 0, 1]})
    shared = with_training_share(table, train, "race")
    assert list(shared["train_faces"]) == [3, 1] and list(shared["train_share"]) == [0.75, 0.25]
