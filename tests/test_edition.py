"""The plain editions that the badges open (colab/, colab-student/): generated from notebooks/,
up to date, with no MyST left in their Markdown, numbers shown by running the cells, solutions
folded (teacher) or absent (student), and a GPU asked for where a chapter trains."""

from __future__ import annotations

import json

import pytest

from helpers import book
from tests.conftest import ROOT
from tools import edition
from tools.myst import Context, fill, myst_left, to_markdown

EDITION_NOTEBOOKS = sorted(p for folder in edition.EDITIONS
                           for p in (ROOT / folder).glob("*.ipynb"))
CTX = Context(citations={"lecun1998": ("LeCun et al.", "1998", "https://doi.org/x")},
              labels={"ch04-recorded": ("A recorded run", "04_scratch_cnn")},
              documents={"04_scratch_cnn": ("chapter 4, One CNN", "https://colab/03")},
              chapter="05_transfer")


def test_the_scanner_finds_roles_directives_and_labels():
    text = ("A {cite}`x` here.\n\n```{note}\nHi\n```\n\n:::{admonition} T\nBody\n:::\n\n"
            "(my-label)=\n## Head\n\n`{cite}` in code and\n```python\n{glue}`y`\n```\n")
    assert myst_left(text) == ["{cite}`", "```{note}", ":::{admonition}", "(my-label)="]
    assert myst_left("Plain *Markdown* with `code` and $x^2$.") == []


def test_roles_and_directives_become_plain_markdown():
    text = ("(lab)=\n## Head\n\nA CNN {cite}`lecun1998` trains on {glue:text}`n_train:,d` faces "
            "({glue:text}`share:.1%`); see {ref}`ch04-recorded` and {ref}`the run <ch04-recorded>`."
            "\n\n```{admonition} Learning objectives\n:class: tip\n- one\n```\n\n"
            "````{note}\nNested:\n```python\nx = 1\n```\n````\n\nTerm\n: its definition\n\n"
            "```{exercise} Colour\n:label: ch06-ex1\nHow many?\n```\n")
    out = to_markdown(text, CTX)
    assert myst_left(out) == []
    assert "A CNN ([LeCun et al., 1998](https://doi.org/x)) trains on {{n_train:,d}} faces" in out
    assert "*A recorded run* (in [chapter 4, One CNN](https://colab/03))" in out
    assert "the run (in [chapter 4" in out
    assert "> **Learning objectives**\n>\n> - one" in out
    assert "> **Note**\n>\n> Nested:\n> ```python\n> x = 1\n> ```" in out
    assert "- **Term**: its definition" in out
    assert "### Exercise 1: Colour\n\nHow many?" in out
    assert "(lab)=" not in out and out.startswith("## Head")


def test_an_unknown_citation_fails_the_generation():
    with pytest.raises(KeyError, match="nobody2020"):
        to_markdown("As {cite}`nobody2020` said.", CTX)


def test_fill_formats_like_glue_text():
    values = {"n": 12345, "share": 0.4567, "name": "synthetic stand-in faces", "mae": 5.4321}
    text = "{{n:,d}} faces, {{share:.1%}}, {{name}}, {{mae:.2f}} years, {{later}}"
    assert fill(text, values) == ("12,345 faces, 45.7%, synthetic stand-in faces, 5.43 years, "
                                  "[not computed yet: run the cells above (later)]")


def test_a_shown_text_cell_shows_this_runs_numbers(monkeypatch):
    cells = edition._cells_for("Intro without numbers.\n\nIt trains on {{n:,d}} faces.", "c1")
    assert [c["cell_type"] for c in cells] == ["markdown", "code"]
    code = cells[1]
    assert code["metadata"]["cellView"] == "form" and code["source"].startswith("#@title It tra")
    monkeypatch.setattr(book, "GLUED", {})
    book.glue("n", 1234)
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    exec(compile(code["source"], "cell", "exec"), {})
    assert shown == ["\nIt trains on 1,234 faces.\n"]


def test_the_editions_are_up_to_date():
    stale = edition.out_of_date(ROOT)
    assert stale == [], f"run `python3 tasks.py editions` (out of date: {stale})"


@pytest.mark.parametrize("path", EDITION_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_edition_markdown_has_no_myst_left(path):
    notebook = json.loads(path.read_text())
    left = {i: myst_left(c["source"]) for i, c in enumerate(notebook["cells"])
            if c["cell_type"] == "markdown"}
    assert {i: found for i, found in left.items() if found} == {}


def test_each_chapter_is_in_both_editions_with_its_solutions_folded_or_absent():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        source = path.read_text()
        exercises = source.count("{exercise}")
        teacher = json.loads((ROOT / "colab" / path.name).read_text())
        student = json.loads((ROOT / "colab-student" / path.name).read_text())
        folded = [c for c in teacher["cells"] if "<summary><b>Solution" in "".join(c["source"])]
        assert len(folded) == exercises, path.name
        assert not any("Solution to exercise" in "".join(c["source"]) for c in student["cells"])
        heads = [c for c in student["cells"] if c["source"].startswith("### Exercise ")]
        assert len(heads) == exercises, path.name
        number = edition.chapter_number(path.stem)
        assert teacher["cells"][0]["source"].startswith(f"# {number}. ")
        badge = f"/blob/{edition.release(ROOT)}/colab-student/{path.name}"
        assert badge in student["cells"][0]["source"]


def test_chapters_that_train_ask_colab_and_kaggle_for_a_gpu():
    gpu = {p.stem: json.loads(p.read_text())["metadata"].get("accelerator") == "GPU"
           for p in sorted((ROOT / "colab").glob("*.ipynb"))}
    assert gpu["04_scratch_cnn"] and gpu["06_transfer_learning"]
    assert not gpu["01_supervised_learning"]
    meta = json.loads((ROOT / "colab" / "04_scratch_cnn.ipynb").read_text())["metadata"]
    assert meta["kaggle"]["isGpuEnabled"] and meta["colab"]["gpuType"]


def test_sync_rewrites_only_the_first_two_cells_and_is_idempotent():
    url, branch = edition.repository(ROOT)
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        once = edition.sync_notebook(notebook, path.stem, url, branch)
        assert edition.sync_notebook(once, path.stem, url, branch) == once
        first_code = next(i for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code")
        for i, (old, new) in enumerate(zip(notebook["cells"], once["cells"], strict=True)):
            if i not in (0, first_code):
                assert old == new
        assert not once["cells"][0]["source"].startswith("# 1")  # the book numbers chapters


def test_no_edition_installs_a_moving_branch():
    """The set-up cells of both editions install the release tag, never `main`."""
    for folder in ("colab", "colab-student"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            text = path.read_text()
            assert "@main" not in text and f"@{edition.release(ROOT)}\\\"" in text, path.name
