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
