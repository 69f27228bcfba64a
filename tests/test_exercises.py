"""Auto-checked questions: feedback without the answer in the notebook."""

from __future__ import annotations

from helpers.exercises import Question, ____, close_to, one_of


def make_question() -> Question:
    return Question("Q1", close_to(lambda: 2.5, rtol=0.01), "Think of the mean.", "mean([2, 3])")


def test_right_wrong_and_unanswered(capsys):
    q = make_question()
    assert q.check(2.5) is True and "correct" in capsys.readouterr().out
    assert q.check(3.0) is False and "incorrect" in capsys.readouterr().out
    assert q.check("abc") is False and "expected a number" in capsys.readouterr().out
    assert q.check(____) is False and "not answered yet" in capsys.readouterr().out
    assert q.check() is False


def test_hint_and_solution_print(capsys):
    q = make_question()
    q.hint()
    q.solution()
    out = capsys.readouterr().out
    assert "Think of the mean." in out and "mean([2, 3])" in out


def test_one_of_is_case_insensitive():
    check = one_of("classification", "Classification task")
    assert check(" CLASSIFICATION ") is None
    assert check("regression") is not None


def test_a_students_install_holds_no_solutions(monkeypatch, capsys):
    from helpers import exercises

    exercises.solutions.cache_clear()
    monkeypatch.setattr(exercises, "solutions_file", lambda: None)  # as installed from a wheel
    try:
        make_question().solution()
        assert exercises.NO_SOLUTIONS in capsys.readouterr().out
    finally:
        exercises.solutions.cache_clear()


def test_the_package_data_ships_no_solutions():
    import tomllib

    from tests.conftest import ROOT

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    shipped = data["package-data"]["helpers"]
    assert not [pattern for pattern in shipped if "questions" in pattern or "solution" in pattern]
    assert not list((ROOT / "src").rglob("solutions*.json"))
