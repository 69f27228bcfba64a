"""Chapters 8 and 9's auto-checks accept the right answers and refuse wrong ones."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.questions import ch08, ch09


def test_ch07_ece_question(capsys):
    ch08._BOUND.clear()
    assert not ch08.q1.check(0.1)
    assert "ch08.use" in capsys.readouterr().out
    ch08.use(pd.DataFrame({"p_female": [0.95] * 10, "gender": [1] * 6 + [0] * 4}))
    assert ch08.q1.check(0.35) and not ch08.q1.check(0.05)
    ch08._BOUND.clear()
    with pytest.raises(TypeError, match="p_female"):
        ch08.use(pd.DataFrame({"age": [1]}))


def test_ch08_size_question():
    ch09._BOUND.clear()
    ch09.use(pd.DataFrame({"file_mb": [30.0, 10.0, 2.5]},
                          index=["Keras (.keras)", "TFLite float32", "TFLite 8-bit weights"]))
    assert ch09.q1.check(4.0) and not ch09.q1.check(0.25) and not ch09.q1.check(3.0)
    ch09._BOUND.clear()
    with pytest.raises(TypeError, match="file_mb"):
        ch09.use(pd.DataFrame({"x": [1]}))
