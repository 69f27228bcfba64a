"""Auto-checked questions in the manner of Kaggle's learntools: q.check(), q.hint(), q.solution().

A chapter's questions live in `helpers.questions.chNN`; a notebook does
`from helpers.questions import ch01` and then `ch01.q1.check(answer)`. The expected answers are
computed or stored here, not in the notebook, so a student gets instant feedback in Colab or
Kaggle without the answer sitting in plain text beside the question.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

Checker = Callable[[Any], "str | None"]  # returns None when right, else what is wrong


SOLUTIONS_ENV = "COURSE_SOLUTIONS"  # a teacher's copy of teacher/solutions.json
NO_SOLUTIONS = ("The worked solution is below the exercise in the book and in the teacher's "
                "edition of this notebook; the package students install holds none.")


def solutions_file() -> Path | None:
    """The teachers' solutions (teacher/solutions.json of the repository, which the package does
    not ship): $COURSE_SOLUTIONS, else the checkout this package is installed from (editable),
    else None."""
    import os

    given = os.environ.get(SOLUTIONS_ENV)
    if given:
        return Path(given)
    checkout = Path(__file__).resolve().parents[2] / "teacher" / "solutions.json"
    return checkout if checkout.is_file() else None


@cache
def solutions() -> dict[str, str]:
    """Every exercise's solution code, by label, where a teacher has them (solutions_file): the
    notebooks' own solution cells, copied by `python3 tasks.py save` (tools.codegen); {} in a
    student's install."""
    path = solutions_file()
    return json.loads(path.read_text()) if path is not None else {}


# How a checker's message starts when the answer is still (or still returns) the blank ____.
NOT_ANSWERED = "not answered yet"


class NotAnswered:
    """Placeholder a notebook assigns before the student answers (`answer = ____`)."""

    def __repr__(self) -> str:
        return "____"


____ = NotAnswered()


def _unanswered(value: Any) -> bool:
    """Whether a value (or any item of a tuple or list) is still the blank ____."""
    if isinstance(value, NotAnswered):
        return True
    return isinstance(value, (tuple, list)) and any(_unanswered(v) for v in value)


def call_answer(answer: Any, *args: Any) -> tuple[Any, str | None]:
    """Run a function (or class) given as an answer on the checker's own inputs: its result
    and None, or None and what went wrong (not callable, still returning ____, an error)."""
    if isinstance(answer, NotAnswered):
        return None, f"{NOT_ANSWERED}: write it, then check again"
    if not callable(answer):
        return None, f"expected a function, got {type(answer).__name__} {answer!r:.60}"
    try:
        result = answer(*args)
    except Exception as exc:  # the student's code failed: say how, in one line
        return None, f"calling it raised {type(exc).__name__}: {exc}"
    if _unanswered(result):
        return None, f"{NOT_ANSWERED}: it still returns ____, write what it should return"
    return result, None


def close_to(expected: float | Callable[[], float], rtol: float = 0.02,
             atol: float = 0.0) -> Checker:
    """A checker accepting a number within rtol (relative) or atol of the expected value."""

    def check(answer: Any) -> str | None:
        target = expected() if callable(expected) else expected
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return f"expected a number, got {type(answer).__name__} {answer!r}"
        if np.isclose(value, target, rtol=rtol, atol=atol):
            return None
        return f"{value:.4g} is not right yet: check the data you used and the formula"

    return check


def one_of(*accepted: Any) -> Checker:
    """A checker accepting any of the given values (strings compared case-insensitively)."""
    norm = {str(a).strip().lower() for a in accepted}

    def check(answer: Any) -> str | None:
        return None if str(answer).strip().lower() in norm else f"{answer!r} is not right yet"

    return check


def share_checker(expected: Callable[[], float], atol: float = 0.002,
                  wrong: str = "check what you counted",
                  complement: str | None = None) -> Checker:
    """A checker for a share between 0 and 1 that recognises an answer given in percent (and,
    with `complement`, the share of the other part)."""

    def check(answer: Any) -> str | None:
        target = expected()
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return f"expected a number between 0 and 1, got {type(answer).__name__} {answer!r}"
        if np.isclose(value, target, rtol=0, atol=atol):
            return None
        if 1 < value <= 100 and np.isclose(value / 100, target, rtol=0, atol=atol):
            return f"{value:g} looks like a percentage: give the share as a fraction from 0 to 1"
        if complement and np.isclose(value, 1 - target, rtol=0, atol=atol):
            return complement
        return f"{value:.4g} is not right yet: {wrong}"

    return check


@dataclass
class Question:
    """One auto-checked question: check(answer) prints feedback and returns True when right."""

    name: str
    checker: Checker
    hint_text: str
    label: str  # the exercise's label in its notebook, whose solution cells are the solution

    @property
    def solution_text(self) -> str:
        """The code of the exercise's solution cells (copied from the notebook by codegen), where
        this install has the teachers' solutions; else where to find the solution."""
        if not solutions():
            return NO_SOLUTIONS
        return solutions().get(self.label, f"(no solution cells for {self.label} in the notebook)")

    def check(self, answer: Any = ____) -> bool:
        """Print feedback on an answer; True when it is right."""
        if isinstance(answer, NotAnswered) or answer is Ellipsis:
            print(f"{self.name}: not answered yet. Replace ____ with your answer, then run again.")
            return False
        problem = self.checker(answer)
        if problem is None:
            print(f"{self.name}: correct!")
            return True
        if problem.startswith(NOT_ANSWERED):
            print(f"{self.name}: {problem}.")
            return False
        print(f"{self.name}: incorrect. {problem}. Try q.hint() for a hint.")
        return False

    def hint(self) -> None:
        """Print a hint."""
        print(f"Hint ({self.name}): {self.hint_text}")

    def solution(self) -> None:
        """Print the solution."""
        print(f"Solution ({self.name}):\n{self.solution_text}")


@dataclass
class BoundQuestion(Question):
    """A Question whose expected answer is computed from data the notebook binds first (into
    `bound`, shared by a chapter's questions)."""

    bound: dict = field(default_factory=dict)
    bind_hint: str = "bind this page's data first"

    def check(self, answer: Any = ____) -> bool:
        """Print feedback (or say what to bind first); True when right."""
        if not self.bound:
            print(f"{self.name}: {self.bind_hint}, then check again.")
            return False
        return super().check(answer)


def bind_table(bound: dict, key: str, table: Any, columns: set[str], source: str,
               message: str) -> None:
    """Bind a notebook's table for a chapter's BoundQuestions, after checking it has the
    columns they need (a TypeError naming `source` otherwise); prints `message`."""
    if not columns <= set(getattr(table, "columns", [])):
        wanted = ", ".join(f"'{c}'" for c in sorted(columns))
        raise TypeError(f"use() takes the table from {source} (with {wanted} columns)")
    bound[key] = table
    print(message)
