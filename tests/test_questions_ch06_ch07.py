"""Chapters 6 and 7's auto-checks accept the right answers and refuse wrong ones."""

from __future__ import annotations

import pandas as pd

from helpers.questions import ch06, ch07


def test_ch05_questions(capsys):
    assert ch06.q1.check((1280 * 256 + 256) + 2 * (256 + 1))
    assert not ch06.q1.check(1280 * 256)
    assert ch06.q2.check(-0.6) and not ch06.q2.check(0.2) and not ch06.q2.check(51)
    assert "correct" in capsys.readouterr().out


def test_ch05_average_question_needs_the_predictions_then_checks_them(capsys):
    import pytest

    ch06._BOUND.clear()
    assert not ch06.q3.check(0.5)
    assert "ch06.use" in capsys.readouterr().out
    first = pd.DataFrame({"file": list("abcd"), "age_error": [2.0, -3.0, 1.0, 4.0]})
    second = pd.DataFrame({"file": list("dcba"), "age_error": [3.0, -1.0, 1.0, -2.0]})
    both = pd.DataFrame({"file": list("abcd"), "age_error": [0.0, -1.0, 0.0, 3.5]})
    ch06.use(first, second, both)
    # by file: a, 0 below 2 and 2 (the tops straddle the truth); b, 1 is not below 1; c, 0
    # below 1 and 1; d, 3.5 is not below 3 (both err on the same side)
    assert ch06.q3.check(0.5)
    assert not ch06.q3.check(0.25) and not ch06.q3.check(50)
    assert "percentage" in capsys.readouterr().out
    with pytest.raises(TypeError, match="age_error"):
        ch06.use(first, second, pd.DataFrame({"file": ["a"]}))
    ch06._BOUND.clear()


def test_ch06_question_needs_the_predictions_then_checks_them(capsys):
    ch07._BOUND.clear()
    assert not ch07.q1.check(0.5)
    assert "ch07.use" in capsys.readouterr().out
    ch07.use(pd.DataFrame({"band": [0, 1, 2, 3], "band_pred": [0, 3, 2, 4]}))
    assert ch07.q1.check(0.75)
    assert not ch07.q1.check(0.5) and not ch07.q1.check(75)
    assert "percentage" in capsys.readouterr().out
    ch07._BOUND.clear()


def test_ch06_use_refuses_a_table_without_groups():
    import pytest

    with pytest.raises(TypeError, match="band_pred"):
        ch07.use(pd.DataFrame({"age": [1]}))
