"""Chapter 10's auto-checked questions: FG-NET. The notebook binds its photos table and its
grouped cross-validation once with `ch10.use(photos, cv)`; answers are computed from them."""

from __future__ import annotations

from functools import partial

import pandas as pd

from helpers.exercises import BoundQuestion, bind_table, close_to, share_checker

_BOUND: dict[str, pd.DataFrame] = {}


def use(photos: pd.DataFrame, cv: pd.DataFrame) -> None:
    """Bind the usable photos (report.usable) and finetune.grouped_cv's table."""
    bind_table(_BOUND, "photos", photos, {"person", "age"}, "fgnet.scan_fgnet(...).usable",
               "ch10: answers are checked against these photos")
    bind_table(_BOUND, "cv", cv, {"age", "error_before", "error_tuned", "error_after"},
               "finetune.grouped_cv",
               "ch10: ... and this cross-validation.")


def expected_children() -> float:
    """Share of the photos showing a child under 10."""
    return float((_BOUND["photos"]["age"].astype(float) < 10).mean())


def expected_change() -> float:
    """MAE after fine-tuning minus MAE before, on the held-out people's scored photos."""
    cv = _BOUND["cv"].dropna(subset=["error_after"])
    return float(cv["error_after"].mean() - cv["error_before"].mean())


def expected_older_gap() -> float:
    """Mean error of the fine-tuned model minus that of the average (what `course finetune`
    writes), on the scored photos of people aged 30 or more."""
    cv = _BOUND["cv"].dropna(subset=["error_after"])
    older = cv[cv["age"].astype(float) >= 30]
    return float(older["error_tuned"].mean() - older["error_after"].mean())


# Every question of the chapter reads the same bound tables.
_question = partial(BoundQuestion, bound=_BOUND, bind_hint="run ch10.use(photos, cv) once")

q1 = _question(
    name="Question 1 (how many children)",
    checker=share_checker(expected_children, atol=0.002,
                          wrong="count the photos with an age under 10, over all photos",
                          complement="that is the share of photos aged 10 or more"),
    hint_text="(photos['age'] < 10).mean()",
    label="ch10-ex1",
)

q2 = _question(
    name="Question 2 (what fine-tuning bought)",
    checker=close_to(expected_change, rtol=0.0, atol=0.01),
    hint_text="Keep the rows with an 'error_after' (a face was found), then subtract the mean "
              "of 'error_before' from the mean of 'error_after'.",
    label="ch10-ex2",
)

q4 = _question(
    name="Question 4 (who pays for fine-tuning)",
    checker=close_to(expected_older_gap, rtol=0.0, atol=0.01),
    hint_text="Keep the rows with an 'error_after' and an 'age' of 30 or more, then subtract the "
              "mean of 'error_after' from the mean of 'error_tuned'.",
    label="ch10-ex4",
)
