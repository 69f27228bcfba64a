"""Chapter 3's auto-checked questions: reading the labels of the faces the chapter loaded.

The right answers depend on the data the page runs on (the real UTKFace, a copy of it with fewer
files, or the synthetic stand-in), so they cannot be stored. Instead the notebook binds its data
once, after `start_chapter`:

    from helpers.questions import ch03
    ch03.use(chapter)        # a Chapter, a DataReport, or a manifest DataFrame

and every `ch03.qN.check(answer)` then computes the expected value, at check time, from the
usable faces of that data (for a Chapter: `chapter.data.usable`, every face with a readable image
and a known age and gender), with the `expected_*` functions below. The tests call the same
functions. Checking before `use` prints what to do instead of marking the answer wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from helpers.data import RACES, age_band, keras_validation_rows
from helpers.exercises import Checker, Question, ____, close_to, share_checker

_BOUND: dict[str, pd.DataFrame] = {}


# --------------------------------------------------------------------------- binding the data


def use(data: Any) -> None:
    """Bind the data the answers are computed from: a Chapter, a DataReport or a manifest."""
    if isinstance(data, pd.DataFrame):
        faces = data[data["usable"].astype(bool)] if "usable" in data else data
    elif hasattr(data, "usable"):  # a DataReport
        faces = data.usable
    elif hasattr(getattr(data, "data", None), "usable"):  # a Chapter
        faces = data.data.usable
    else:
        raise TypeError(f"ch03.use() takes a Chapter, a DataReport or a DataFrame, not "
                        f"{type(data).__name__}")
    missing = {"file", "age", "gender", "race"} - set(faces.columns)
    if missing:
        raise ValueError(f"the faces lack the columns {sorted(missing)}: pass a manifest")
    _BOUND["faces"] = faces.reset_index(drop=True)
    print(f"ch03: answers are checked against these {len(faces):,} usable faces.")


def reset() -> None:
    """Forget the bound data (the state before `use`)."""
    _BOUND.clear()


def bound_faces() -> pd.DataFrame:
    """The faces bound by `use`; a RuntimeError before."""
    if "faces" not in _BOUND:
        raise RuntimeError("no data bound: run ch03.use(chapter) first")
    return _BOUND["faces"]


class DataQuestion(Question):
    """A Question whose expected answer is computed from the faces bound by `use`."""

    def check(self, answer: Any = ____) -> bool:
        """Print feedback on an answer (or say to call ch03.use first); True when right."""
        if "faces" not in _BOUND:
            print(f"{self.name}: no data to check against yet. Run ch03.use(chapter) once, "
                  "after start_chapter(), then check again.")
            return False
        return super().check(answer)


# --------------------------------------------------------------------------- expected answers


def expected_median_age_women(faces: pd.DataFrame) -> float:
    """Median age of the women (gender 1) among the faces."""
    return float(faces.loc[faces["gender"] == 1, "age"].astype(float).median())


def expected_share_in_twenties(faces: pd.DataFrame) -> float:
    """Share (0-1) of the faces aged 20 to 29."""
    return float((age_band(faces["age"].astype(float)).to_numpy(dtype=object) == "20-29").mean())


def expected_races_most_female(faces: pd.DataFrame) -> list[str]:
    """The race group(s) with the highest share of women (several when tied), by name."""
    known = faces[faces["race"].notna()]
    share = known.groupby(known["race"].astype(int))["gender"].mean().astype(float)
    return [RACES[code] for code in share.index[np.isclose(share, share.max())]]


def expected_validation_mean_age(faces: pd.DataFrame, validation_split: float = 0.1) -> float:
    """Mean age of the rows `validation_split` would hold out of the faces sorted by file name."""
    return float(keras_validation_rows(faces, validation_split)["age"].astype(float).mean())


# --------------------------------------------------------------------------- checkers



def race_checker(expected: Callable[[], list[str]]) -> Checker:
    """A checker accepting a race by name (any case) or by its code 0-4."""

    def check(answer: Any) -> str | None:
        """None when answer names (or codes) an expected race, else what is wrong."""
        accepted = expected()
        codes = {str(code) for code, name in RACES.items() if name in accepted}
        given = str(answer).strip()
        if given.lower() in {name.lower() for name in accepted} or given in codes:
            return None
        if given.lower() not in {name.lower() for name in RACES.values()} and given not in {
                str(code) for code in RACES}:
            return (f"{answer!r} is not a race label: answer one of "
                    f"{', '.join(RACES.values())} (or its code 0-4)")
        return f"{answer!r} is not right yet"

    return check


# --------------------------------------------------------------------------- the questions

q1 = DataQuestion(
    name="Question 1 (median age of the women)",
    checker=close_to(lambda: expected_median_age_women(bound_faces()), rtol=0, atol=0.01),
    hint_text=("Take chapter.data.usable, keep the rows whose gender is 1 (UTKFace: 1 = female), "
               "and call .median() on their 'age' column."),
    label="ch03-ex1",
)

q2 = DataQuestion(
    name="Question 2 (share of faces in their twenties)",
    checker=share_checker(lambda: expected_share_in_twenties(bound_faces()),
                          wrong="check which faces you counted"),
    hint_text=("A boolean Series is a Series of 0s and 1s: its .mean() is the share of True. "
               "Ages 20 to 29 means age >= 20 and age < 30 (or .between(20, 29))."),
    label="ch03-ex2",
)

q3 = DataQuestion(
    name="Question 3 (the race group with the highest share of women)",
    checker=race_checker(lambda: expected_races_most_female(bound_faces())),
    hint_text=("Group chapter.data.usable by 'race' and take the mean of 'gender' (the share of "
               "women, as 1 = female); the largest value's index is the code. "
               "data.label_table(faces, 'race', 'gender', normalize='index') shows the same."),
    label="ch03-ex3",
)

q4 = DataQuestion(
    name="Question 4 (what validation_split=0.1 would validate on)",
    checker=close_to(lambda: expected_validation_mean_age(bound_faces()), rtol=0.005),
    hint_text=("Sort chapter.data.usable by 'file'. Keras keeps the first "
               "floor(0.9 * n) rows for training and validates on the rest: .iloc[split_at:]. "
               "data.keras_validation_rows does exactly this."),
    label="ch03-ex4",
)
