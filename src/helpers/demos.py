"""Small worked examples for chapter 1: a made-up blood-pressure table and the iris flowers.

Nothing here touches faces or TensorFlow. The chapter notebook shows the same steps cell by cell;
these functions repeat them so that the auto-checked questions (`helpers.questions.ch01`) and the
tests compute their answers from exactly the same data and splits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LinearRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

BP_INTERCEPT = 100.0  # mmHg at age 0 in the made-up rule (not a medical fact)
BP_SLOPE = 0.6  # mmHg per year of age in the made-up rule
BP_NOISE = 8.0  # standard deviation of the person-to-person scatter, in mmHg
AGE_RANGE = (18, 80)
BP_TEST_SIZE = 0.25
IRIS_TEST_SIZE = 0.3


# --------------------------------------------------------------------------- regression


def blood_pressure_data(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A made-up table of n adults: age (years) and systolic blood pressure (mmHg), noisy-linear."""
    rng = np.random.default_rng(seed)
    age = rng.integers(AGE_RANGE[0], AGE_RANGE[1] + 1, size=n)
    bp = BP_INTERCEPT + BP_SLOPE * age + rng.normal(0.0, BP_NOISE, size=n)
    return pd.DataFrame({"age": age.astype(int), "systolic_bp": bp.round(1)})


def split_blood_pressure(data: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chapter's train/test split of the blood-pressure table (25 % held out for testing)."""
    train, test = train_test_split(data, test_size=BP_TEST_SIZE, random_state=seed)
    return train, test


def fit_age_to_bp(train: pd.DataFrame) -> LinearRegression:
    """A straight line systolic_bp = intercept + slope * age, fitted by least squares."""
    return LinearRegression().fit(train[["age"]], train["systolic_bp"])


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """MSE (mmHg²), RMSE and MAE (mmHg) and R² (no unit), as plain Python floats."""
    mse = float(mean_squared_error(y_true, y_pred))
    return {"mse": mse, "rmse": mse**0.5, "mae": float(mean_absolute_error(y_true, y_pred)),
            "r2": float(r2_score(y_true, y_pred))}


def mae_fitted_on_older(min_age: int = 40, n: int = 200, seed: int = 0) -> float:
    """Test MAE of a line fitted only on training people older than min_age (whole test split)."""
    train, test = split_blood_pressure(blood_pressure_data(n=n, seed=seed), seed=seed)
    model = fit_age_to_bp(train[train["age"] > min_age])
    return float(mean_absolute_error(test["systolic_bp"], model.predict(test[["age"]])))


def baseline_r2(n: int = 200, seed: int = 0) -> float:
    """Test R² of the laziest model: predict the training mean blood pressure for everyone."""
    train, test = split_blood_pressure(blood_pressure_data(n=n, seed=seed), seed=seed)
    guess = np.full(len(test), train["systolic_bp"].mean())
    return float(r2_score(test["systolic_bp"], guess))


# --------------------------------------------------------------------------- classification


def iris_split(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Iris measurements and species, split 70/30 with the same species mix in both parts."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=IRIS_TEST_SIZE, stratify=y, random_state=seed)
    return X_train, X_test, y_train, y_test


def iris_tree_accuracy(max_depth: int, seed: int = 0) -> float:
    """Test accuracy of a decision tree of the given depth on the chapter's iris split."""
    X_train, X_test, y_train, y_test = iris_split(seed)
    tree = DecisionTreeClassifier(max_depth=max_depth, random_state=seed).fit(X_train, y_train)
    return float(accuracy_score(y_test, tree.predict(X_test)))


def report_frame(report: dict) -> pd.DataFrame:
    """sklearn's classification_report(output_dict=True) as a tidy table, one row per class."""
    rows = {k: v for k, v in report.items() if isinstance(v, dict)}
    return pd.DataFrame(rows).T.astype({"support": int})


def most_confused(y_true, y_pred, labels: list[str]) -> tuple[str, str, int]:
    """The commonest mistake: (true class, predicted class, how many times), from the confusion."""
    matrix = confusion_matrix(y_true, y_pred, labels=range(len(labels)))
    np.fill_diagonal(matrix, 0)
    true_i, pred_i = np.unravel_index(matrix.argmax(), matrix.shape)
    return str(labels[true_i]), str(labels[pred_i]), int(matrix[true_i, pred_i])
