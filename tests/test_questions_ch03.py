"""Chapter 3's questions: bound to the data the chapter loaded, answers computed from it."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from helpers import data
from helpers.data.synthetic import make_synthetic_utkface
from helpers.exercises import ____
from helpers.questions import ch03


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> data.DataReport:
    """A scan of 60 synthetic faces plus the release's defective names and three broken files."""
    folder = make_synthetic_utkface(tmp_path_factory.mktemp("faces"), n=60, with_defects=True)
    return data.scan_folder(folder, warn=False, source="synthetic")


@pytest.fixture
def chapter(report):
    """Something shaped like helpers.book.Chapter (only .data is used), bound to ch03."""
    fake = SimpleNamespace(data=report)
    ch03.use(fake)
    yield fake
    ch03.reset()


def run_solution(question: ch03.DataQuestion, chapter) -> object:
    """Execute a question's solution cells (the notebook's own) up to their check."""
    lines = question.solution_text.splitlines()
    until = next(i for i, line in enumerate(lines) if ".check(answer)" in line)
    namespace = {"chapter": chapter, "ch03": ch03}
    exec("\n".join(lines[:until]), namespace)
    return namespace["answer"]


def test_use_accepts_a_chapter_a_report_or_a_manifest(report, capsys):
    usable = report.usable
    for given in (SimpleNamespace(data=report), report, report.manifest, usable):
        assert ch03.use(given) is None  # nothing for a notebook cell to display
        assert f"{len(usable):,} usable faces" in capsys.readouterr().out
        faces = ch03.bound_faces()
        assert list(faces["file"]) == list(usable["file"])
        assert faces["usable"].all()
    ch03.reset()


def test_use_rejects_other_things():
    with pytest.raises(TypeError, match="Chapter, a DataReport or a DataFrame"):
        ch03.use([1, 2, 3])
    with pytest.raises(ValueError, match="lack the columns"):
        ch03.use(pd.DataFrame({"x": [1]}))


def test_checking_before_use_says_what_to_do(capsys):
    ch03.reset()
    assert ch03.q1.check(30) is False
    assert "ch03.use(chapter)" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="ch03.use"):
        ch03.bound_faces()


def test_unanswered_question_is_not_marked_wrong(chapter, capsys):
    assert ch03.q1.check(____) is False
    assert "not answered yet" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["q1", "q2", "q3", "q4"])
def test_each_solution_passes_its_check(chapter, name, capsys):
    question = getattr(ch03, name)
    assert question.check(run_solution(question, chapter)) is True
    assert "correct!" in capsys.readouterr().out
    question.hint()
    question.solution()
    out = capsys.readouterr().out
    assert "Hint" in out and "answer =" in out


def test_expected_values_match_a_direct_computation(report):
    faces = report.usable
    ages = faces["age"].astype(float)
    women = faces["gender"] == 1
    assert ch03.expected_median_age_women(faces) == pytest.approx(ages[women].median())
    assert ch03.expected_share_in_twenties(faces) == pytest.approx(
        ((ages >= 20) & (ages < 30)).mean())
    share = faces.dropna(subset=["race"]).groupby("race")["gender"].mean()
    assert data.RACES[int(share.astype(float).idxmax())] in ch03.expected_races_most_female(faces)
    listing = faces.sort_values("file")
    tail = listing.iloc[math.floor(len(listing) * 0.9):]
    assert ch03.expected_validation_mean_age(faces) == pytest.approx(tail["age"].mean())


def test_wrong_answers_are_refused(chapter, capsys):
    faces = chapter.data.usable
    assert ch03.q1.check(ch03.expected_median_age_women(faces) + 1) is False
    assert ch03.q1.check("thirty") is False
    assert ch03.q4.check(faces["age"].astype(float).mean()) is False  # the whole set's mean
    wrong_races = set(data.RACES.values()) - set(ch03.expected_races_most_female(faces))
    assert ch03.q3.check(sorted(wrong_races)[0]) is False
    capsys.readouterr()
    assert ch03.q3.check("Martian") is False
    assert "not a race label" in capsys.readouterr().out


def test_share_in_percent_gets_a_helpful_message(chapter, capsys):
    share = ch03.expected_share_in_twenties(chapter.data.usable)
    assert ch03.q2.check(share) is True
    capsys.readouterr()
    assert ch03.q2.check(share * 100) is False
    assert "percentage" in capsys.readouterr().out


def test_race_answer_by_name_any_case_or_code(chapter):
    best = ch03.expected_races_most_female(chapter.data.usable)[0]
    code = next(c for c, name in data.RACES.items() if name == best)
    assert ch03.q3.check(best.upper()) is True
    assert ch03.q3.check(code) is True
    assert ch03.q3.check(str(code)) is True


def test_tied_race_groups_are_all_accepted():
    faces = pd.DataFrame({
        "file": [f"{i}.jpg" for i in range(6)], "age": [20] * 6,
        "gender": [1, 0, 1, 0, 0, 0], "race": [0, 0, 1, 1, 2, 2],
    })
    assert ch03.expected_races_most_female(faces) == ["White", "Black"]
    ch03.use(faces)
    try:
        assert ch03.q3.check("White") and ch03.q3.check("Black")
        assert not ch03.q3.check("Asian")
    finally:
        ch03.reset()


def test_answers_follow_the_bound_data(report, tmp_path):
    """Rebinding to other data changes the expected answers: nothing is stored."""
    other = data.scan_folder(make_synthetic_utkface(tmp_path, n=40, seed=7), source="synthetic")
    mine = ch03.expected_validation_mean_age(report.usable)
    theirs = ch03.expected_validation_mean_age(other.usable)
    assert mine != theirs
    ch03.use(other)
    try:
        assert ch03.q4.check(theirs) is True
        assert ch03.q4.check(mine) is False
    finally:
        ch03.reset()


@pytest.mark.realdata
def test_on_the_real_faces_validation_split_validates_on_old_people(real_dir):
    faces = data.scan_folder(real_dir, check_images=False, warn=False).usable
    overall = faces["age"].astype(float).mean()
    assert ch03.expected_validation_mean_age(faces) > overall + 10
    assert 0.2 < ch03.expected_share_in_twenties(faces) < 0.4
