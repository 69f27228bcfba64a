"""Every chapter runs top to bottom without an error, once per test session, on the smoke preset
(the synthetic faces unless UTKFACE_DIR is set); tests/test_book.py builds both editions of the
book from these executed copies, so no chapter is executed twice."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_chapter_runs_top_to_bottom(path, executed_chapters):
    import nbformat

    executed = nbformat.read(executed_chapters.get(path), as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), "a code cell did not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []


def glued(path) -> dict[str, str]:
    """The values an executed chapter glued, by name (as the book's glue roles read them)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return {o.metadata["scrapbook"]["name"]: o.data["application/papermill.record/text/plain"]
            for c in notebook.cells if c.cell_type == "code" for o in c.outputs
            if "scrapbook" in o.get("metadata", {})}


def test_the_recorded_runs_quoted_are_each_models_default(executed_chapters):
    """Chapters 4 and 6 quote the recorded test scores of the runs `course train` makes today
    (scratch-cpu, not the older scratch-regression-cpu of the same model)."""
    from helpers.scoring.evaluation import recorded_file

    ch04 = glued(executed_chapters.get(ROOT / "notebooks" / "04_scratch_cnn.ipynb"))
    ch06 = glued(executed_chapters.get(ROOT / "notebooks" / "06_transfer_learning.ipynb"))
    for glued_values, key, record in [(ch04, "ch04_rec_scratch", "scratch-cpu.json"),
                                      (ch04, "ch04_rec_seed", "seed-cnn-cpu.json"),
                                      (ch06, "ch06_rec", "mobilenetv2-cpu.json")]:
        summary = recorded_file(record)["summary"]
        assert float(glued_values[f"{key}_mae"]) == pytest.approx(summary["age_mae"]), record
        assert float(glued_values[f"{key}_acc"]) == pytest.approx(summary["gender_accuracy"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_plain_editions_quote_each_number_after_the_cell_that_computes_it(
        path, executed_chapters):
    """Run top to bottom in Colab, a shown-text cell of either plain edition finds every number
    it quotes: each was glued by a code cell above it in that edition (the code cells keep the
    chapter's cell ids, so the executed chapter says which names each glued)."""
    import json

    from helpers.book import PLACEHOLDER

    executed = json.loads(executed_chapters.get(path).read_text())
    glued_by = {cell.get("id"): {o["metadata"]["scrapbook"]["name"]
                                 for o in cell.get("outputs", [])
                                 if "scrapbook" in o.get("metadata", {})}
                for cell in executed["cells"] if cell["cell_type"] == "code"}
    for folder in ("colab", "colab-student"):
        edition = json.loads((ROOT / folder / path.name).read_text())
        have: set[str] = set()
        for cell in edition["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            if "show_markdown(" in source:
                missing = {m["name"] for m in PLACEHOLDER.finditer(source)} - have
                assert not missing, f"{folder}/{path.name} {cell['id']}: quotes {missing} first"
            have |= glued_by.get(cell.get("id"), set())
