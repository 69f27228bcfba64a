"""Chapter 10's auto-checks accept the right answers and refuse wrong ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.questions import ch10


def bound() -> None:
    """Bind six photos and a cross-validation where one photo had no face found."""
    ch10._BOUND.clear()
    photos = pd.DataFrame({"person": ["a", "a", "b", "b", "c", "c"],
                           "age": [2, 8, 12, 35, 40, 61]})
    cv = photos.assign(error_before=[4.0, 5.0, 6.0, 7.0, 8.0, np.nan],
                       error_tuned=[1.0, 2.0, 3.0, 12.0, 14.0, np.nan],
                       error_after=[2.0, 2.0, 3.0, 6.0, 8.0, np.nan])
    ch10.use(photos, cv)


def test_ch09_children_question():
    bound()
    assert ch10.q1.check(2 / 6) and not ch10.q1.check(4 / 6) and not ch10.q1.check(2)


def test_ch09_fine_tuning_questions():
    bound()
    assert ch10.q2.check(4.2 - 6.0) and not ch10.q2.check(6.0 - 4.2)
    assert not ch10.q2.check((2 + 2 + 3 + 6 + 8 + 0) / 6 - 6.0)  # a missing face is not a 0
    assert ch10.q4.check(13.0 - 7.0) and not ch10.q4.check(7.0 - 13.0)
    assert not ch10.q4.check((1 + 2 + 3 + 12 + 14) / 5 - (2 + 2 + 3 + 6 + 8) / 5)  # all ages


def test_ch09_refuses_a_table_without_the_columns_it_checks(capsys):
    ch10._BOUND.clear()
    assert not ch10.q4.check(1.0)
    assert "ch10.use" in capsys.readouterr().out
    photos = pd.DataFrame({"person": ["a"], "age": [3]})
    with pytest.raises(TypeError, match="error_tuned"):
        ch10.use(photos, photos.assign(error_before=[1.0], error_after=[1.0]))
