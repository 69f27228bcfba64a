"""Chapter 5's auto-checked questions: pooling, loss weights, augmentation and callbacks.

None of these answers depends on the faces a page loaded, so there is nothing to bind: each
expected value is computed, when a question is checked, from the course's own code (a model built
by `scratch_cnn`, the chapter 5 cell saved in `helpers.taught`) or from the numbers the question
gives, which are the constants below. The notebook's exercise texts quote them. Questions 4 and 5
check code: the student's augmentation and callback are run on the checker's own inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from helpers.exercises import Checker, Question, call_answer, share_checker

# Question 1: the size and pooling of the network whose shared dense layer is counted.
DENSE_IMAGE_SIZE = 64
# Question 2: project 004's loss weights, and the two losses of a model part-way through training.
PROJECT_004_AGE_WEIGHT, PROJECT_004_GENDER_WEIGHT = 0.7, 1.5
EXAMPLE_AGE_LOSS, EXAMPLE_GENDER_LOSS = 10.0, 0.45  # MAE in years, binary cross-entropy
# Question 3: a run of RESUME_EPOCHS epochs that crashes during epoch RESUME_CRASH (from 1).
RESUME_EPOCHS, RESUME_CRASH = 6, 4


# --------------------------------------------------------------------------- expected answers


@lru_cache(maxsize=4)
def dense_params(image_size: int = DENSE_IMAGE_SIZE, pooling: str = "flatten") -> int:
    """Parameters of scratch_cnn's shared_dense layer, read from a model built with `pooling`."""
    from helpers.taught import scratch_cnn

    model = scratch_cnn(image_size=image_size, pooling=pooling, augment=None)
    return int(model.get_layer("shared_dense").count_params())


@lru_cache(maxsize=4)
def model_params(image_size: int = DENSE_IMAGE_SIZE, pooling: str = "flatten") -> int:
    """Parameters of the whole scratch_cnn built with `pooling` (a tempting wrong answer)."""
    from helpers.taught import scratch_cnn

    return int(scratch_cnn(image_size=image_size, pooling=pooling, augment=None).count_params())


def age_share_of_loss(age_weight: float = PROJECT_004_AGE_WEIGHT,
                      gender_weight: float = PROJECT_004_GENDER_WEIGHT,
                      age_loss: float = EXAMPLE_AGE_LOSS,
                      gender_loss: float = EXAMPLE_GENDER_LOSS) -> float:
    """Share (0-1) of Keras's weighted total loss that comes from the age head."""
    age_term, gender_term = age_weight * age_loss, gender_weight * gender_loss
    return age_term / (age_term + gender_term)


def epochs_after_resume(epochs: int = RESUME_EPOCHS, crashed_in: int = RESUME_CRASH) -> int:
    """Epochs the second fit runs when the first crashed during epoch `crashed_in` (from 1):
    BackupAndRestore saved the end of every finished epoch, so the unfinished one starts again."""
    finished = crashed_in - 1
    return epochs - finished


# --------------------------------------------------------------------------- checkers


def params_checker(image_size: int = DENSE_IMAGE_SIZE) -> Checker:
    """A checker for question 1 that recognises the usual wrong counts."""

    def check(answer: Any) -> str | None:
        """None when answer is the dense layer's parameter count, else what is wrong."""
        try:
            value = int(answer)
        except (TypeError, ValueError):
            return f"expected a whole number of parameters, got {type(answer).__name__} {answer!r}"
        if value == dense_params(image_size, "flatten"):
            return None
        if value == dense_params(image_size, "gap"):
            return "that is the count with global average pooling; the question asks for Flatten"
        if value == model_params(image_size, "flatten"):
            return "that is the whole model; count only the layer named 'shared_dense'"
        return (f"{value:,} is not right yet: a Dense layer has (inputs x units) weights plus "
                "one bias per unit")

    return check



def epochs_checker(expected: Callable[[], int]) -> Checker:
    """A checker for a whole number of epochs."""

    def check(answer: Any) -> str | None:
        """None when answer is the expected number of epochs, else what is wrong."""
        target = expected()
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return f"expected a number of epochs, got {type(answer).__name__} {answer!r}"
        if value == target:
            return None
        if value == target - 1:
            return "one too few: the epoch that was cut short did not finish, so it runs again"
        if value == RESUME_EPOCHS:
            return "that is a run from scratch; BackupAndRestore skips the finished epochs"
        return f"{value:g} is not right yet: count the epochs that finished before the crash"

    return check


# --------------------------------------------------------------------------- the questions

q1 = Question(
    name="Question 1 (parameters of the dense layer after Flatten)",
    checker=params_checker(),
    hint_text=("Build scratch_cnn(image_size=64, pooling='flatten') and look for the layer "
               "named 'shared_dense' in models.layer_table(model), or call "
               "model.get_layer('shared_dense').count_params(). By hand: four 2x2 poolings turn "
               "64x64 into 4x4, with 256 channels."),
    label="ch05-ex1",
)

q2 = Question(
    name="Question 2 (the age head's share of the weighted loss)",
    checker=share_checker(age_share_of_loss, wrong="multiply each loss by its weight first",
                          complement="that is the gender head's share; the question asks for "
                                     "the age head's"),
    hint_text=("Keras adds the weighted losses: total = age_weight * age_loss + gender_weight * "
               "gender_loss. The age head's share is its term divided by the total."),
    label="ch05-ex2",
)

q3 = Question(
    name="Question 3 (epochs left after a crash)",
    checker=epochs_checker(epochs_after_resume),
    hint_text=("BackupAndRestore writes a backup at the end of each epoch. Which epochs had "
               "finished when the crash came? The resumed fit starts right after the last one."),
    label="ch05-ex3",
)


def _factor(value: Any) -> tuple[float, float]:
    """A Keras random layer's factor as (lower, upper): 0.1 means (-0.1, 0.1)."""
    if isinstance(value, (tuple, list)):
        return float(value[0]), float(value[1])
    return -float(value), float(value)


def check_augmentation(answer: Any) -> str | None:
    """A keras.Sequential of RandomFlip('horizontal'), RandomRotation(0.05) and RandomZoom(0.1),
    in any order, that leaves a face unchanged outside training."""
    import keras

    if not isinstance(answer, keras.Model):
        return f"expected a keras.Sequential, got {type(answer).__name__}"
    kinds = {type(layer).__name__: layer for layer in answer.layers}
    wanted = {"RandomFlip", "RandomRotation", "RandomZoom"}
    if set(kinds) != wanted:
        return f"its layers are {sorted(kinds)}, not {sorted(wanted)}"
    if kinds["RandomFlip"].mode != "horizontal":
        return (f"RandomFlip's mode is '{kinds['RandomFlip'].mode}': a face upside down is not "
                "a face the model will meet, use 'horizontal'")
    if not np.allclose(_factor(kinds["RandomRotation"].factor), (-0.05, 0.05)):
        return f"RandomRotation's factor is {kinds['RandomRotation'].factor}, not 0.05 of a turn"
    if not np.allclose(_factor(kinds["RandomZoom"].height_factor), (-0.1, 0.1)):
        return f"RandomZoom's factor is {kinds['RandomZoom'].height_factor}, not 0.1"
    faces = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    if not np.allclose(np.asarray(answer(faces, training=False)), faces):
        return "outside training (training=False) it changed the faces: it should not"
    return None


def check_stop_callback(answer: Any) -> str | None:
    """A Callback class StopAtMae(target) that stops training once val_age_mae <= target."""
    import keras

    if not (isinstance(answer, type) and issubclass(answer, keras.callbacks.Callback)):
        return "expected a class that subclasses keras.callbacks.Callback"
    callback, problem = call_answer(answer, 5.0)
    if problem:
        return problem
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.stop_training = False
    callback.set_model(model)
    try:
        callback.on_epoch_end(0, logs={"val_age_mae": 6.2, "val_loss": 7.0})
        if model.stop_training:
            return "it stopped at a validation MAE of 6.2, above the target of 5.0"
        callback.on_epoch_end(1, logs={"val_age_mae": 4.9, "val_loss": 5.5})
    except Exception as exc:  # the student's on_epoch_end failed
        return f"on_epoch_end raised {type(exc).__name__}: {exc}"
    if not model.stop_training:
        return ("the validation MAE reached 4.9, under the target of 5.0, and training did not "
                "stop: set self.model.stop_training = True")
    return None


q4 = Question(
    name="Question 4 (an augmentation of your own)",
    checker=check_augmentation,
    hint_text=("Chapter 5's augmentation cell uses the same kinds of layers. Read "
               "help(layers.RandomFlip) for its mode, and remember that RandomRotation's factor "
               "is a fraction of a full turn and RandomZoom's a fraction of the size."),
    label="ch05-ex5",
)

q5 = Question(
    name="Question 5 (a callback of your own)",
    checker=check_stop_callback,
    hint_text=("on_epoch_end receives the epoch's logs, a dict: read the validation age MAE "
               "from it and compare it with the target kept by __init__. Chapter 5's EpochTimer "
               "is a callback of the same shape."),
    label="ch05-ex6",
)
