"""Chapter 8's auto-checked questions: calibration. The notebook binds its test predictions once
with `ch08.use(predictions)`; the expected answer is computed from them at check time."""

from __future__ import annotations

import pandas as pd

from helpers.exercises import BoundQuestion, bind_table, close_to

_BOUND: dict[str, pd.DataFrame] = {}


def use(predictions: pd.DataFrame) -> None:
    """Bind a predictions table with 'gender' and 'p_female' (from evaluation.predict_faces)."""
    bind_table(_BOUND, "predictions", predictions, {"gender", "p_female"},
               "evaluation.predict_faces",
               f"ch08: answers are checked against these {len(predictions):,} test predictions.")


def expected_ece_5() -> float:
    """The expected calibration error of the bound predictions with 5 bins."""
    from helpers.scoring.evaluation import expected_calibration_error

    return expected_calibration_error(_BOUND["predictions"], bins=5)


q1 = BoundQuestion(
    name="Question 1 (ECE with 5 bins)",
    checker=close_to(expected_ece_5, rtol=0, atol=1e-6),
    hint_text="Cut p_female into 5 equal bins from 0 to 1; in each, take |mean p_female - share "
              "labelled female|; average these gaps weighted by the number of faces per bin.",
    label="ch08-ex2",
    bound=_BOUND, bind_hint="run ch08.use(predictions) once",
)
