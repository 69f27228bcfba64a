"""The book builds with warnings as errors, says which data it used, and the student edition
has no solutions. These run the same `tasks.py book` command as the README."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def build(out: Path, *extra: str) -> Path:
    """Run `tasks.py book` into out (synthetic data, smoke preset) and return the HTML folder."""
    env = {k: v for k, v in os.environ.items() if k != "UTKFACE_DIR"}
    env["COURSE_PRESET"] = "smoke"
    result = subprocess.run([sys.executable, str(ROOT / "tasks.py"), "book", "--out", str(out),
                             *extra], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=1500)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return out


def page_text(html: Path) -> str:
    """The visible text of one HTML page (tags dropped), for assertions on the prose."""
    return re.sub(r"<[^>]+>", " ", html.read_text())


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """The teacher's edition, built once for this module."""
    return build(tmp_path_factory.mktemp("book")) / "_build" / "html"


def test_front_page_says_which_data_and_preset(book):
    text = page_text(book / "book" / "intro.html")
    assert "synthetic stand-in" in text
    assert re.search(r"\b600 generated faces\b", text), "the face count is glued in"
    assert "smoke" in text


def test_every_glue_is_resolved_and_every_chapter_is_built(book):
    pages = sorted(book.rglob("*.html"))
    chapters = sorted(p.stem for p in (book / "notebooks").glob("*.html"))
    assert chapters == sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    for page in pages:
        text = page.read_text()
        assert "{glue" not in text, f"{page.name} has an unresolved glue role"
        assert "Traceback" not in text, f"{page.name} shows a traceback"


def test_chapters_have_figures_and_solutions(book):
    for page in (book / "notebooks").glob("*.html"):
        text = page.read_text()
        assert text.count("<img") >= 3, f"{page.name} lost its figures"
        assert 'class="solution' in text, f"{page.name} has no solution blocks"


def test_student_edition_has_no_solutions(tmp_path):
    html = build(tmp_path, "--student") / "student" / "_build" / "html"
    for page in (html / "notebooks").glob("*.html"):
        text = page.read_text()
        assert 'class="solution' not in text, f"{page.name} still shows a solution"
        assert "exercise" in text, f"{page.name} lost its exercises"
    assert "student edition" in (html / "book" / "intro.html").read_text()
