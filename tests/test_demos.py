"""Chapter 1's worked examples (helpers.demos) and its auto-checked questions (ch01)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error

from helpers import demos
from helpers.exercises import ____
from helpers.questions import ch01


def test_blood_pressure_is_deterministic_per_seed():
    a, b = demos.blood_pressure_data(n=50, seed=0), demos.blood_pressure_data(n=50, seed=0)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(demos.blood_pressure_data(n=50, seed=1))


def test_blood_pressure_shape_and_ranges():
    data = demos.blood_pressure_data(n=500, seed=3)
    assert list(data.columns) == ["age", "systolic_bp"]
    assert len(data) == 500
    assert data["age"].between(*demos.AGE_RANGE).all()
    assert data["systolic_bp"].between(60, 200).all()


def test_fitted_line_recovers_the_rule():
    model = demos.fit_age_to_bp(demos.blood_pressure_data(n=5000, seed=0))
    assert model.coef_[0] == pytest.approx(demos.BP_SLOPE, abs=0.05)
    assert model.intercept_ == pytest.approx(demos.BP_INTERCEPT, abs=3)


def test_least_squares_by_hand_matches_sklearn():
    data = demos.blood_pressure_data(seed=0)
    x, y = data["age"].to_numpy(float), data["systolic_bp"].to_numpy(float)
    slope = np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)
    model = demos.fit_age_to_bp(data)
    assert slope == pytest.approx(model.coef_[0])
    assert y.mean() - slope * x.mean() == pytest.approx(model.intercept_)


def test_split_is_deterministic_and_disjoint():
    data = demos.blood_pressure_data(seed=0)
    train, test = demos.split_blood_pressure(data)
    train2, _ = demos.split_blood_pressure(data)
    assert len(test) == round(len(data) * demos.BP_TEST_SIZE)
    assert set(train.index).isdisjoint(test.index)
    pd.testing.assert_frame_equal(train, train2)


def test_regression_metrics_are_plain_floats_and_consistent():
    metrics = demos.regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 5.0])
    assert all(type(v) is float for v in metrics.values())  # glue needs plain floats
    assert metrics["mse"] == pytest.approx(4 / 3)
    assert metrics["rmse"] == pytest.approx((4 / 3) ** 0.5)
    assert metrics["mae"] == pytest.approx(2 / 3)
    assert demos.regression_metrics([1, 2, 3], [1, 2, 3])["r2"] == 1.0


def test_iris_split_is_stratified():
    X_train, X_test, y_train, y_test = demos.iris_split()
    assert len(X_test) == 45 and len(X_train) == 105
    assert (y_test.value_counts() == 15).all()


def test_deeper_iris_tree_is_at_least_as_accurate():
    assert demos.iris_tree_accuracy(1) < demos.iris_tree_accuracy(3)
    assert demos.iris_tree_accuracy(1) == pytest.approx(2 / 3, abs=0.05)  # one split, 3 species


def test_report_frame_has_one_row_per_class():
    report = {"a": {"precision": 1.0, "recall": 0.5, "f1-score": 0.67, "support": 2.0},
              "accuracy": 0.5,
              "macro avg": {"precision": 1.0, "recall": 0.5, "f1-score": 0.67, "support": 2.0}}
    frame = demos.report_frame(report)
    assert list(frame.index) == ["a", "macro avg"]
    assert frame["support"].dtype.kind == "i"


# --------------------------------------------------------------------------- ch01 questions


def _q1_by_hand() -> tuple[float, float]:
    """The right answer to q1 as a student computes it, and a plausible wrong one."""
    train, test = demos.split_blood_pressure(demos.blood_pressure_data(n=200, seed=0), seed=0)
    older = train[train["age"] > 40]
    line = LinearRegression().fit(older[["age"]], older["systolic_bp"])
    right = mean_absolute_error(test["systolic_bp"], line.predict(test[["age"]]))
    wrong = mean_absolute_error(test["systolic_bp"],
                                demos.fit_age_to_bp(train).predict(test[["age"]]))
    return right, wrong


def test_q1_accepts_the_right_answer_and_rejects_the_full_model():
    right, wrong = _q1_by_hand()
    assert ch01.q1.check(right)
    assert not ch01.q1.check(wrong)


def test_q2_depth_one_tree():
    assert ch01.q2.check(demos.iris_tree_accuracy(1))
    assert not ch01.q2.check(demos.iris_tree_accuracy(3))


def test_q3_gender_is_classification():
    assert ch01.q3.check("classification")
    assert ch01.q3.check("  Classification ")
    assert not ch01.q3.check("regression")


def test_q4_baseline_r2_uses_the_training_mean():
    right = demos.baseline_r2()
    assert right < 0  # the training mean is not the test mean
    assert ch01.q4.check(right)
    assert not ch01.q4.check(0.0)  # what guessing the *test* mean would give


def test_unanswered_and_non_numeric_answers_are_not_accepted(capsys):
    assert not ch01.q1.check(____)
    assert "not answered yet" in capsys.readouterr().out
    assert not ch01.q1.check("six")
    assert "expected a number" in capsys.readouterr().out


def test_every_question_has_hint_and_solution(capsys):
    for q in (ch01.q1, ch01.q2, ch01.q3, ch01.q4):
        q.hint()
        q.solution()
        out = capsys.readouterr().out
        assert "Hint" in out and "Solution" in out


def test_most_confused_names_the_commonest_mistake():
    y_true = [0, 1, 1, 2, 2, 2]
    y_pred = [0, 2, 1, 1, 1, 2]
    assert demos.most_confused(y_true, y_pred, ["a", "b", "c"]) == ("c", "b", 2)
    name, _, _ = demos.most_confused(y_true, y_pred, np.array(["a", "b", "c"]))
    assert type(name) is str  # not np.str_, whose repr would show up in glued text
