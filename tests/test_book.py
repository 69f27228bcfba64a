"""The book builds with warnings as errors, says which data it used, and the student edition
has no solutions. These run the same `tasks.py book` command as the README, on the chapters
that tests/test_notebooks.py executed (`--executed`), so that no chapter runs twice."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.edition import release

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


def start_build(out: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    """Start `tasks.py book` into out (synthetic data, smoke preset), output to out/build.log;
    `env` adds to the environment (the chapters' runs folder, for the browser page's model)."""
    env = {**{k: v for k, v in os.environ.items() if k != "UTKFACE_DIR"}, **(env or {})}
    env["COURSE_PRESET"] = "smoke"
    with (out / "build.log").open("w") as log:  # the build writes to its own copy
        return subprocess.Popen([sys.executable, str(ROOT / "tasks.py"), "book", "--out",
                                 str(out), *extra], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, text=True)


def finished(out: Path, process: subprocess.Popen) -> Path:
    """Wait for a build started by start_build; fail with the end of its log if it failed."""
    try:
        code = process.wait(timeout=1500)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert code == 0, (out / "build.log").read_text()[-8000:]
    return out


def page_text(html: Path) -> str:
    """The visible text of one HTML page (tags dropped), for assertions on the prose."""
    return re.sub(r"<[^>]+>", " ", html.read_text())


@pytest.fixture(scope="module")
def executed(executed_chapters) -> Path:
    """The folder of every chapter, executed once in this session."""
    folders = {executed_chapters.get(path).parent for path in NOTEBOOKS}
    assert len(folders) == 1
    return folders.pop()


@pytest.fixture(scope="module")
def editions(tmp_path_factory, executed,
             executed_chapters) -> dict[str, tuple[Path, subprocess.Popen]]:
    """Both editions' builds from the executed chapters, started together (two processes:
    Sphinx works on one core), each waited for by the tests that read it; the browser page
    takes chapter 9's model from the chapters' runs folder."""
    started = {}
    runs = {"COURSE_RUNS": str(executed_chapters.runs),
            "COURSE_CACHE": str(executed_chapters.cache)}
    for name, extra in [("teacher", ()), ("student", ("--student",))]:
        out = tmp_path_factory.mktemp(name)
        started[name] = out, start_build(out, *extra, "--executed", str(executed), env=runs)
    yield started
    for _, process in started.values():
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="module")
def book(editions) -> Path:
    """The teacher's edition, built once for this module."""
    return finished(*editions["teacher"]) / "_build" / "html"


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
        figures = len(re.findall(r'<img [^>]*src="\.\./_images/', text))  # executed outputs
        source = (ROOT / "notebooks" / f"{page.stem}.ipynb").read_text()
        draws = re.search(r"\bplots\.(?!set_style)\w+\(|\bplt\.subplots\(|\bsns\.\w+plot\(",
                          source)  # a chapter that draws shows its figures
        assert figures >= (1 if draws else 0), f"{page.name} lost its figures"
        assert 'class="solution' in text, f"{page.name} has no solution blocks"


def test_chapter_titles_are_numbered_once_and_badges_open_the_plain_edition(book):
    for page in sorted((book / "notebooks").glob("*.html")):
        html = page.read_text()
        title = re.search(r"<title>(.*?)</title>", html, flags=re.S)[1]
        assert not re.search(r"\b(\d+)\.\s+\1\.\s", page_text(page)), f"{page.name}: '3. 3.'"
        assert re.match(r"\s*\d+\.\s+[^\d\s]", title), f"{page.name}: '{title}' not numbered once"
        assert f"/blob/{release(ROOT)}/colab/{page.stem}.ipynb" in html, f"{page.name}: badges"


def test_student_edition_has_no_solutions(editions):
    html = finished(*editions["student"]) / "student" / "_build" / "html"
    for page in (html / "notebooks").glob("*.html"):
        text = page.read_text()
        assert 'class="solution' not in text, f"{page.name} still shows a solution"
        assert "exercise" in text, f"{page.name} lost its exercises"
    assert "student edition" in (html / "book" / "intro.html").read_text()
    for page in (html / "notebooks").glob("*.html"):
        assert f"/colab-student/{page.stem}.ipynb" in page.read_text(), f"{page.name}: badges"


def test_the_browser_page_is_in_the_book_with_chapter_8s_model(book):
    page = (book / "book" / "try-it.html").read_text()
    assert 'src="../try/index.html"' in page and 'allow="camera"' in page
    assert 'href="try-it.html"' in (book / "book" / "intro.html").read_text()
    assert 'try-it.html' in (book / "notebooks" / "09_your_own_photos.html").read_text()
    folder = book / "try"
    assert (folder / "index.html").is_file() and (folder / "app.js").is_file()
    assert (folder / "models" / "blazeface_short_range.tflite").is_file()
    assert (folder / "models" / "course-model.tflite").is_file(), "chapter 9's model, exported"
    if shutil.which("npm"):
        assert (folder / "litert" / "core" / "index.js").is_file()
    assert not list((book / "_static").rglob("app.js")), "the page's scripts stay on its page"
