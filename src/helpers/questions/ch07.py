"""Chapter 7's auto-checked questions: age groups. The notebook binds its test predictions once
with `ch07.use(predictions)`; the expected answer is computed from them at check time."""

from __future__ import annotations

import pandas as pd

from helpers.exercises import BoundQuestion, bind_table, share_checker

_BOUND: dict[str, pd.DataFrame] = {}


def use(predictions: pd.DataFrame) -> None:
    """Bind a predictions table with 'band' and 'band_pred' (from study.predict_heads)."""
    bind_table(_BOUND, "predictions", predictions, {"band", "band_pred"}, "study.predict_heads",
               f"ch07: answers are checked against these {len(predictions):,} test predictions.")


def expected_one_off() -> float:
    """The share of faces whose predicted age group is the true one or a neighbour."""
    from helpers.learn.study import band_scores

    return band_scores(_BOUND["predictions"])["band_one_off_accuracy"]


q1 = BoundQuestion(
    name="Question 1 (one-off accuracy)",
    checker=share_checker(expected_one_off, atol=1e-6,
                          wrong="a neighbour is one group away: |band_pred - band| <= 1"),
    hint_text="Take the absolute difference of band_pred and band, and the share of faces where "
              "it is at most 1.",
    label="ch07-ex1",
    bound=_BOUND, bind_hint="run ch07.use(predictions['regression']) once",
)
