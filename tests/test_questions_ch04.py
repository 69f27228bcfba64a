"""Chapter 4's auto-checks accept the right answers and refuse wrong ones."""

from __future__ import annotations

import pandas as pd

from helpers.questions import ch04


def test_architecture_questions(capsys):
    assert ch04.q1.check(896) and not ch04.q1.check(320)
    assert ch04.q2.check(9216) and not ch04.q2.check(16384)  # 6 x 6 x 256, not 8 x 8 x 256
    assert "correct" in capsys.readouterr().out


def test_baseline_question_needs_the_data_then_checks_it(capsys):
    ch04._BOUND.clear()
    assert not ch04.q3.check(10.0)
    assert "ch04.use(chapter)" in capsys.readouterr().out
    faces = pd.DataFrame({"file": list("abcd"), "age": [20, 40, 30, 90], "gender": [0, 1, 0, 1],
                          "split": ["train", "train", "test", "test"]})
    ch04.use(faces)
    assert ch04.q3.check((0 + 60) / 2)  # median 30 of the training ages
    assert not ch04.q3.check(35.0)
    ch04._BOUND.clear()
