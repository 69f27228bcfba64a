"""Chapter 6's auto-checked questions: what phase 1 trains, MobileNetV2's preprocessing, and
when averaging two tops pays (the notebook binds the three models' test predictions once with
`ch06.use(first, second, average)`)."""

from __future__ import annotations

import pandas as pd

from helpers.exercises import BoundQuestion, Question, bind_table, close_to, share_checker

_BOUND: dict[str, pd.DataFrame] = {}


def use(first: pd.DataFrame, second: pd.DataFrame, average: pd.DataFrame) -> None:
    """Bind the test predictions (evaluation.predict_faces) of two tops and of their average."""
    tables = {"first": first, "second": second, "average": average}
    for name, table in tables.items():
        if not {"file", "age_error"} <= set(getattr(table, "columns", [])):
            raise TypeError("use() takes three tables from evaluation.predict_faces (with 'file' "
                            f"and 'age_error' columns); the {name} one has not")
    errors = pd.concat({name: table.set_index("file")["age_error"].abs()
                        for name, table in tables.items()}, axis=1, join="inner")
    bind_table(_BOUND, "errors", errors, set(tables), "evaluation.predict_faces",
               f"ch06: answers are checked against these {len(errors):,} test faces.")


def expected_average_wins() -> float:
    """The share of faces where the average's age is closer to the truth than both tops'."""
    errors = _BOUND["errors"]
    return float((errors["average"] < errors[["first", "second"]].min(axis=1)).mean())


def expected_phase1_params() -> int:
    """Parameters MobileNetV2's transfer model trains in phase 1 (built without downloading)."""
    from helpers.learn.transfer import trainable_per_phase, transfer_model

    return trainable_per_phase(transfer_model("mobilenetv2", 32, weights=None))["trainable_phase1"]


q1 = Question(
    name="Question 1 (what phase 1 trains)",
    checker=close_to(expected_phase1_params, rtol=0),
    hint_text=("A dense layer from 1,280 inputs to 256 units has 1,280 x 256 weights and 256 "
               "biases; each of the two output units has 256 weights and one bias."),
    label="ch06-ex1",
)

q2 = Question(
    name="Question 2 (MobileNetV2's preprocessing)",
    checker=close_to(51 / 127.5 - 1, rtol=0, atol=1e-6),
    hint_text="Divide by 127.5, then subtract 1: 0 becomes -1 and 255 becomes 1.",
    label="ch06-ex2",
)

q3 = BoundQuestion(
    name="Question 3 (when averaging pays)",
    checker=share_checker(expected_average_wins, atol=1e-6,
                          wrong="count the faces where the average's absolute error is below "
                                "both tops' absolute errors",
                          complement="that is the share where the average does NOT beat both"),
    hint_text="Take the absolute 'age_error' of each table; compare the average's with the "
              "smaller of the two tops' (np.minimum), and take the share of faces where it is "
              "smaller.",
    label="ch06-ex5",
    bound=_BOUND, bind_hint="run ch06.use(first, second_top, average) once",
)
