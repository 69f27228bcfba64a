"""Chapter 2's auto-checked questions: right answers pass, wrong ones fail with a reason."""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from helpers.exercises import ____
from helpers.questions import ch02
from helpers.taught import gradient_descent


def test_the_slow_learning_rate_question():
    x, y = ch02.standardised_line_data()
    losses = gradient_descent(x, y, learning_rate=0.01, epochs=50)[2]
    assert ch02.q1.check(losses[-1])
    assert not ch02.q1.check(gradient_descent(x, y, learning_rate=0.1, epochs=50)[2][-1])
    assert losses[-1] > 10 * gradient_descent(x, y, learning_rate=0.1, epochs=50)[2][-1]


def test_the_mae_gradient_is_checked_against_the_tape(capsys):
    def right(w, b, x, y):
        sign = np.sign(w * x + b - y)
        return np.mean(sign * x), np.mean(sign)

    def squared(w, b, x, y):  # the MSE's gradient: a plausible wrong answer
        error = w * x + b - y
        return 2 * np.mean(error * x), 2 * np.mean(error)

    assert ch02.q2.check(right)
    assert not ch02.q2.check(squared)
    assert "tf.GradientTape gives" in capsys.readouterr().out
    assert not ch02.q2.check(lambda w, b, x, y: ____)
    assert "still returns ____" in capsys.readouterr().out
    assert not ch02.q2.check(lambda w, b, x, y: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert not ch02.q2.check(3.0)


def _network(hidden_activation="relu", last=1, side=32):
    return keras.Sequential([keras.Input(shape=(side, side, 1)), layers.Flatten(),
                             layers.Dense(128, activation=hidden_activation),
                             layers.Dense(64, activation="relu"), layers.Dense(last)])


def test_the_dense_network_is_checked_on_what_it_builds(capsys):
    assert ch02.q3.check(_network())
    for wrong, reason in [(_network(hidden_activation=None), "not ReLU"),
                          (_network(last=2), "output shape"),
                          (_network(side=64), "input shape")]:
        assert not ch02.q3.check(wrong)
        assert reason in capsys.readouterr().out
    assert not ch02.q3.check("a model")
