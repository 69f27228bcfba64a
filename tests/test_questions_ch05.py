"""Chapter 5's questions: every solution passes its check, the usual wrong answers fail, and the
expected values agree with what Keras and the course's helpers actually do."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from helpers import taught
from helpers.exercises import ____
from helpers.learn import models, training
from helpers.questions import ch05

QUESTIONS = ["q1", "q2", "q3"]  # q4 and q5 check code: tests/test_questions_code.py


def run_solution(question) -> object:
    """Execute a question's solution cells (the notebook's own) up to their check."""
    lines = question.solution_text.splitlines()
    until = next(i for i, line in enumerate(lines) if ".check(answer)" in line)
    namespace = {**vars(taught), "models": models, "training": training, "keras": keras,
                 "ch05": ch05}
    exec("\n".join(lines[:until]), namespace)
    return namespace["answer"]


@pytest.mark.parametrize("name", QUESTIONS)
def test_each_solution_passes_its_check(name, capsys):
    question = getattr(ch05, name)
    assert question.check(run_solution(question)) is True
    assert "correct!" in capsys.readouterr().out
    question.hint()
    question.solution()
    out = capsys.readouterr().out
    assert "Hint" in out and "answer =" in out


@pytest.mark.parametrize("name", QUESTIONS)
def test_unanswered_and_nonsense_answers_are_refused(name, capsys):
    question = getattr(ch05, name)
    assert question.check(____) is False
    assert "not answered yet" in capsys.readouterr().out
    assert question.check("a lot") is False
    assert "incorrect" in capsys.readouterr().out


def test_q1_counts_the_dense_layer_after_flatten(capsys):
    size = ch05.DENSE_IMAGE_SIZE
    by_hand = (size // 16) ** 2 * 256 * 128 + 128
    assert ch05.dense_params(size, "flatten") == by_hand
    assert ch05.dense_params(size, "gap") == 256 * 128 + 128
    assert ch05.q1.check(by_hand) is True
    capsys.readouterr()
    assert ch05.q1.check(256 * 128 + 128) is False
    assert "global average pooling" in capsys.readouterr().out
    assert ch05.q1.check(ch05.model_params(size, "flatten")) is False
    assert "whole model" in capsys.readouterr().out
    assert ch05.q1.check(by_hand - 128) is False  # the biases forgotten


def test_q2_share_of_the_weighted_loss(capsys):
    share = ch05.age_share_of_loss()
    assert share == pytest.approx(0.7 * 10 / (0.7 * 10 + 1.5 * 0.45))
    assert ch05.q2.check(share) is True
    capsys.readouterr()
    assert ch05.q2.check(share * 100) is False
    assert "percentage" in capsys.readouterr().out
    assert ch05.q2.check(1 - share) is False
    assert "gender head" in capsys.readouterr().out
    assert ch05.q2.check(10 / 10.45) is False  # the weights forgotten


def test_q2_matches_the_loss_keras_reports():
    """Keras's total loss is the weighted sum the question describes."""
    import keras

    inputs = keras.Input((1,))
    model = keras.Model(inputs, {"age": keras.layers.Dense(1, name="age")(inputs),
                                 "gender": keras.layers.Dense(1, activation="sigmoid",
                                                              name="gender")(inputs)})
    models.compile_model(model, age_weight=0.7, gender_weight=1.5)
    x = np.linspace(-1, 1, 16, dtype="float32").reshape(-1, 1)
    y = {"age": np.full(16, 30.0, "float32"), "gender": (x[:, 0] > 0).astype("float32")}
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(0.7 * logs["age_loss"] + 1.5 * logs["gender_loss"],
                                         rel=1e-4)
    share = ch05.age_share_of_loss(0.7, 1.5, logs["age_loss"], logs["gender_loss"])
    assert share == pytest.approx(0.7 * logs["age_loss"] / logs["loss"], rel=1e-4)


def test_q3_agrees_with_keras_backup_and_restore(tmp_path, capsys):
    """Crash a tiny model's fit during epoch RESUME_CRASH, resume it, count the epochs."""
    import keras

    class Crash(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch + 1 == ch05.RESUME_CRASH:
                raise RuntimeError("crash")

    def tiny() -> keras.Model:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    backup = keras.callbacks.BackupAndRestore(tmp_path / "backup")
    with pytest.raises(RuntimeError):
        tiny().fit(x, y, epochs=ch05.RESUME_EPOCHS, callbacks=[backup, Crash()], verbose=0)
    history = tiny().fit(x, y, epochs=ch05.RESUME_EPOCHS,
                         callbacks=[keras.callbacks.BackupAndRestore(tmp_path / "backup")],
                         verbose=0)
    assert len(history.epoch) == ch05.epochs_after_resume() == 3
    assert ch05.q3.check(3) is True
    capsys.readouterr()
    assert ch05.q3.check(2) is False
    assert "cut short" in capsys.readouterr().out
    assert ch05.q3.check(ch05.RESUME_EPOCHS) is False
    assert "from scratch" in capsys.readouterr().out
