"""Chapter 1's auto-checked questions: regression and classification, by hand first.

The expected answers are computed from `helpers.demos` (the same data, split and seed as the
chapter), not typed in; they are computed when a question is checked.
"""

from __future__ import annotations

from helpers import demos
from helpers.exercises import Question, close_to, one_of

q1 = Question(
    name="Question 1 (a line fitted on people over 40)",
    checker=close_to(lambda: demos.mae_fitted_on_older(min_age=40), rtol=1e-3),
    hint_text=("Keep only the training rows with age > 40 (train[train['age'] > 40]), fit a "
               "LinearRegression on them, predict the whole test split, and pass the true and "
               "predicted blood pressures to mean_absolute_error."),
    label="ch01-ex1",
)

q2 = Question(
    name="Question 2 (a tree of depth 1)",
    checker=close_to(lambda: demos.iris_tree_accuracy(max_depth=1), atol=0.005),
    hint_text=("Same X_train, y_train, X_test, y_test as the chapter; only max_depth changes. "
               "accuracy_score(y_test, predictions) gives a number between 0 and 1."),
    label="ch01-ex2",
)

q3 = Question(
    name="Question 3 (regression or classification?)",
    checker=one_of("classification", "a classification", "classification task",
                   "binary classification"),
    hint_text=("Look at the target: is it a number on a scale, or one label out of a fixed "
               "list?"),
    label="ch01-ex3",
)

q4 = Question(
    name="Question 4 (R² of a model that always guesses the mean)",
    checker=close_to(lambda: demos.baseline_r2(), atol=0.002),
    hint_text=("Predict train['systolic_bp'].mean() for every test person "
               "(np.full(len(test), ...)), then compute r2_score on the test split."),
    label="ch01-ex4",
)
