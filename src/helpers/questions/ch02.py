"""Chapter 2's auto-checked questions: gradient descent, a gradient, a dense network.

The expected answers are computed when a question is checked, from `helpers.demos` (the same
data and split as the chapter) and the chapter's saved `gradient_descent`; the code answers are
run and compared with TensorFlow's own gradients or with the model they describe.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from helpers import demos
from helpers.exercises import Question, call_answer, close_to


def standardised_line_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Chapter 2's x (training ages, standardised) and y (their blood pressures)."""
    train, _ = demos.split_blood_pressure(demos.blood_pressure_data(n=200, seed=seed), seed=seed)
    age = train["age"].to_numpy(dtype=float)
    return (age - age.mean()) / age.std(), train["systolic_bp"].to_numpy(dtype=float)


def _slow_loss() -> float:
    """The training loss after 50 full-batch epochs at a learning rate of 0.01."""
    from helpers.taught import gradient_descent

    x, y = standardised_line_data()
    return float(gradient_descent(x, y, learning_rate=0.01, epochs=50)[2][-1])


def check_mae_gradient(answer: Any) -> str | None:
    """Compare a student's mae_gradient(w, b, x, y) with tf.GradientTape at random points."""
    import tensorflow as tf

    x, y = standardised_line_data()
    rng = np.random.default_rng(1)
    for w, b in [(0.0, 0.0), *rng.normal([5, 120], [10, 30], size=(4, 2))]:
        w_tf, b_tf = tf.Variable(w, dtype=tf.float64), tf.Variable(b, dtype=tf.float64)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(w_tf * x + b_tf - y))
        expected = [float(g) for g in tape.gradient(loss, [w_tf, b_tf])]
        result, problem = call_answer(answer, w, b, x, y)
        if problem:
            return problem
        try:
            got = np.asarray(result, dtype=float).ravel()
        except (TypeError, ValueError):
            return f"mae_gradient should return two numbers (dL/dw, dL/db), got {result!r:.60}"
        if got.shape != (2,):
            return f"mae_gradient should return two numbers (dL/dw, dL/db), got {got.shape}"
        if not np.allclose(got, expected, atol=1e-6):
            return (f"at w={w:.2f}, b={b:.2f} it gives ({got[0]:.4f}, {got[1]:.4f}), "
                    f"tf.GradientTape gives ({expected[0]:.4f}, {expected[1]:.4f})")
    return None


def check_dense_network(answer: Any) -> str | None:
    """Check a (32, 32, 1) -> Flatten -> Dense(128, relu) -> Dense(64, relu) -> Dense(1) model
    on what it builds: shapes, dense layers, activations and parameter count."""
    import keras

    if not isinstance(answer, keras.Model):
        return f"expected a keras Model, got {type(answer).__name__}"
    if tuple(answer.input_shape[1:]) != (32, 32, 1):
        return f"its input shape is {answer.input_shape[1:]}, not (32, 32, 1)"
    if tuple(answer.output_shape[1:]) != (1,):
        return f"its output shape is {answer.output_shape[1:]}, not one age: (1,)"
    dense = [layer for layer in answer.layers if isinstance(layer, keras.layers.Dense)]
    units = [layer.units for layer in dense]
    if units != [128, 64, 1]:
        return f"its dense layers have {units} units, not [128, 64, 1]"
    activations = [keras.activations.serialize(layer.activation) for layer in dense]
    names = [a if isinstance(a, str) else a.get("config", {}).get("name", str(a))
             for a in activations]
    if names[:2] != ["relu", "relu"]:
        return f"the hidden layers' activations are {names[:2]}, not ReLU"
    if names[2] != "linear":
        return f"the age unit's activation is {names[2]}: leave it linear (no activation)"
    expected = (32 * 32 * 1 * 128 + 128) + (128 * 64 + 64) + (64 + 1)
    if answer.count_params() != expected:
        return f"it has {answer.count_params():,} parameters, not the {expected:,} expected"
    return None


q1 = Question(
    name="Question 1 (a learning rate too small)",
    checker=close_to(_slow_loss, rtol=1e-3),
    hint_text=("gradient_descent(x, y, learning_rate=0.01, epochs=50) returns w, b and the "
               "losses; the answer is the last of the losses."),
    label="ch02-ex1",
)

q2 = Question(
    name="Question 2 (the gradient of the mean absolute error)",
    checker=check_mae_gradient,
    hint_text=("Compute the error w * x + b - y for every point, take np.sign of it, then "
               "average sign * x for dL/dw and sign alone for dL/db."),
    label="ch02-ex2",
)

q3 = Question(
    name="Question 3 (a dense network of your own)",
    checker=check_dense_network,
    hint_text=("The chapter's dense network on faces has the same shape with other sizes. A "
               "Dense layer of k units on n inputs has n * k weights and k biases."),
    label="ch02-ex3",
)
