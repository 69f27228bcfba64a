"""The plain-notebook editions that the Colab and Kaggle badges open, generated from the chapters.

`notebooks/` stays the single source, written in MyST for the book. This module writes, from
it, `colab/` (solutions folded in `<details>`) and `colab-student/` (no solutions): the same
cells with their Markdown rewritten by tools.myst, every Markdown cell that quotes a glued
number turned into a small code cell that shows the text with this run's numbers (Colab
shows only its title until it runs), and notebook metadata asking Colab and Kaggle for a GPU
where the chapter trains a network. It also holds the one source of truth for each chapter's
first two cells (title with badges, and the set-up cell), which `sync` writes into notebooks/.

    python -m tools.edition sync     # rewrite the first two cells of every chapter
    python -m tools.edition build    # regenerate colab/ and colab-student/
    python -m tools.edition check    # exit 1 when either edition is out of date
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

from tools.myst import Context, has_placeholders, to_markdown

EDITIONS = {"colab": False, "colab-student": True}  # folder: whether solutions are dropped
PACKAGE = "age-gender-cnn-course"
SOLUTION_START, SOLUTION_END = "{solution-start}", "{solution-end}"
# A chapter asks for a GPU when its code trains or fine-tunes a network.
TRAINS = re.compile(r"from helpers\.learn import [^\n]*\b(training|transfer|study)\b|chapter_model")
NUMBERED_TITLE = re.compile(r"^#\s+(?:\d+\.\s+)?(?P<title>.+)$", re.M)


def _source(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a list of lines)."""
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def release(root: Path) -> str:
    """The git tag that the chapters' badges open and their set-up cells install: 'v' and the
    version in pyproject.toml, the one place to bump per release (never a moving branch)."""
    import tomllib

    return "v" + tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]


def repository(root: Path) -> tuple[str, str]:
    """The repository URL of _config.yml and the release tag, where the editions are opened."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text())["repository"]
    return config["url"].rstrip("/"), release(root)


def badges(stem: str, url: str, branch: str, folder: str = "colab") -> str:
    """The Open in Colab and Open in Kaggle badges of one chapter of an edition."""
    github = url.split("github.com/", 1)[1]
    path = f"{folder}/{stem}.ipynb"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{github}/blob/{branch}/{path})\n"
            f"[![Open in Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)]"
            f"(https://kaggle.com/kernels/welcome?src={url}/blob/{branch}/{path})")


def install_source(url: str, branch: str) -> str:
    """The set-up cell of every chapter: install the course's helpers when missing (the base
    install keeps the platform's TensorFlow, NumPy, Pillow and OpenCV), make sure `helpers` is
    the course's package, then say whether there is a GPU and which preset to use."""
    return f'''# Set-up for Colab and Kaggle: install the course's helpers when they are missing.
import importlib, importlib.metadata, subprocess, sys
try:
    importlib.metadata.version("{PACKAGE}")
except importlib.metadata.PackageNotFoundError:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "{PACKAGE} @ git+{url}@{branch}"], check=True)
    importlib.invalidate_caches()
try:  # another module named `helpers` is common: make sure this one is the course's
    from helpers.runtime import check_setup
except ImportError as exc:
    raise ImportError("the `helpers` found first is not the course's; rename your own helpers "
                      "file or folder, then restart the session") from exc
check_setup()
# Colab: to keep trained models on your Google Drive after a disconnect, also run
# from helpers.runtime import keep_runs; keep_runs()'''


def chapter_title(notebook: dict) -> str:
    """The chapter's title, from its first cell, without a typed chapter number."""
    match = NUMBERED_TITLE.search(_source(notebook["cells"][0]))
    if not match:
        raise ValueError("the first cell of a chapter must start with its '# Title'")
    return match["title"].strip()


def chapter_number(stem: str) -> int:
    """The chapter's number, from its file name (the table of contents keeps the same order)."""
    return int(stem.split("_", 1)[0])


def sync_notebook(notebook: dict, stem: str, url: str, branch: str) -> dict:
    """A chapter with its first cell (title, no number: the book numbers it; badges to the
    plain edition) and its set-up cell rewritten from this module; the rest untouched."""
    notebook = copy.deepcopy(notebook)
    cells = notebook["cells"]
    cells[0]["source"] = f"# {chapter_title(notebook)}\n\n{badges(stem, url, branch)}"
    code = next(c for c in cells if c["cell_type"] == "code")
    code["source"] = install_source(url, branch)
    tags = code.setdefault("metadata", {}).setdefault("tags", [])
    if "hide-cell" not in tags:
        tags.append("hide-cell")
    return notebook


def _bib(root: Path) -> dict[str, tuple[str, str, str]]:
    """Each reference of book/references.bib: its authors as cited, its year and a link."""
    from urllib.parse import quote_plus

    from pybtex.database import parse_file

    found = {}
    for key, entry in parse_file(str(root / "book" / "references.bib")).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
        authors = (last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2
                   else f"{last[0]} et al." if last else entry.fields.get("title", key))
        fields = entry.fields
        arxiv = re.search(r"arXiv:(\d{4}\.\d{4,5})", fields.get("journal", "") +
                          fields.get("eprint", "") + fields.get("note", ""))
        title = re.sub(r"[{}]", "", fields.get("title", key))
        url = (fields.get("url") or (f"https://doi.org/{fields['doi']}" if "doi" in fields
                                     else None)
               or (f"https://arxiv.org/abs/{arxiv[1]}" if arxiv else None)
               or f"https://scholar.google.com/scholar?q={quote_plus(title)}")
        found[key] = (authors, fields.get("year", "n.d."), url)
    return found


def context(root: Path, folder: str = "colab") -> Context:
    """Everything the rewriting looks up: references, section labels, chapter and page links."""
    url, branch = repository(root)
    github = url.split("github.com/", 1)[1]
    ctx = Context(citations=_bib(root))
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        title = f"chapter {chapter_number(path.stem)}, {chapter_title(notebook)}"
        colab = (f"https://colab.research.google.com/github/{github}/blob/{branch}/"
                 f"{folder}/{path.name}")
        ctx.documents[path.stem] = (title, colab)
        for cell in notebook["cells"]:
            for label, heading in re.findall(r"^\(([\w:.-]+)\)=\s*\n#+\s+(.+)$",
                                             _source(cell), flags=re.M):
                ctx.labels[label] = (heading.strip(), path.stem)
    for path in sorted((root / "book").glob("*.md")):
        heading = re.search(r"^#\s+(.+)$", path.read_text(), flags=re.M)
        ctx.documents[path.stem] = (heading[1].strip() if heading else path.stem,
                                    f"{url}/blob/{branch}/book/{path.name}")
    return ctx


def _blocks(text: str) -> list[str]:
    """Markdown split at blank lines, a fenced code block kept whole."""
    blocks, current, fence = [], [], None
    for line in text.splitlines():
        opener = re.match(r"^\s*(`{3,}|~{3,})", line)
        if fence is None and opener:
            fence = opener[1]
        elif fence is not None and line.strip().startswith(fence) and not line.strip()[
                len(fence):].strip():
            fence = None
        if not line.strip() and fence is None:
            if current:
                blocks.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _preview(text: str) -> str:
    """A one-line title for a shown-text cell: its first line, numbers left as '…'."""
    def plain(line: str) -> str:
        line = re.sub(r"\{\{[^{}]*\}\}", "…", line)
        return re.sub(r"[#*`>_]|\[|\]\([^)]*\)|<[^>]+>", "", line).strip()

    line = next((p for p in map(plain, text.splitlines()) if p), "")
    return line if len(line) <= 90 else line[:88].rsplit(" ", 1)[0] + " …"


def shown_text_source(text: str) -> str:
    """The code of a cell that shows Markdown with this run's glued numbers in it."""
    literal = (f'r"""\n{text}\n"""' if '"""' not in text and not text.endswith("\\")
               else repr(text))
    return (f"#@title {_preview(text)}\n"
            "from helpers.book import show_markdown  # the text, with this run's numbers\n"
            f"show_markdown({literal})")


def _markdown_cell(text: str, cell_id: str) -> dict:
    """A plain Markdown cell."""
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def _shown_text_cell(text: str, cell_id: str) -> dict:
    """A code cell that shows text with glued numbers: folded in Colab, JupyterLab, Kaggle."""
    return {"cell_type": "code", "id": cell_id, "execution_count": None, "outputs": [],
            "metadata": {"cellView": "form", "jupyter": {"source_hidden": True},
                         "_kg_hide-input": True, "tags": ["shows-text"]},
            "source": shown_text_source(text)}


def _cells_for(text: str, cell_id: str, whole: bool = False) -> list[dict]:
    """Rewritten Markdown as cells: plain Markdown, and a shown-text cell for each run of
    blocks that quotes a glued number (the whole text as one cell when `whole`)."""
    if not has_placeholders(text):
        return [_markdown_cell(text, cell_id)]
    if whole:
        return [_shown_text_cell(text, cell_id)]
    groups: list[tuple[bool, list[str]]] = []
    for block in _blocks(text):
        glued = has_placeholders(block)
        if groups and groups[-1][0] == glued:
            groups[-1][1].append(block)
        else:
            groups.append((glued, [block]))
    cells = []
    for i, (glued, blocks) in enumerate(groups):
        part = "\n\n".join(blocks)
        part_id = cell_id if i == 0 else f"{cell_id}-{i}"
        cells.append(_shown_text_cell(part, part_id) if glued else _markdown_cell(part, part_id))
    return cells


def _solution(cells: list[dict], ctx: Context) -> list[dict]:
    """A solution's cells: its code as folded code cells that run with the chapter (so that the
    numbers its text quotes exist when the text is shown), then its text as one folded block."""
    label = re.search(r"\{solution-start\}\s*(\S+)", _source(cells[0]))
    number = ctx.exercise_labels.get(label[1]) if label else None
    summary = f"Solution to exercise {number}" if number else "Solution"
    out, parts = [], []
    for cell in cells:
        if cell["cell_type"] == "code":
            out.append({"cell_type": "code", "id": cell["id"], "execution_count": None,
                        "outputs": [], "source": f"#@title {summary}: its code\n{_source(cell)}",
                        "metadata": {"cellView": "form", "jupyter": {"source_hidden": True},
                                     "_kg_hide-input": True, "tags": ["solution"]}})
        elif (text := to_markdown(_source(cell), ctx).strip()):
            parts.append(text)
    body = "\n\n".join(parts) or "The solution is the code of the folded cell above."
    if out:
        body = "(The solution's code is the folded cell above: *Show code* opens it.)\n\n" + body
    text = f"<details>\n<summary><b>{summary}</b></summary>\n\n{body}\n\n</details>"
    return out + _cells_for(text, f"{cells[0]['id']}-text", whole=True)


def plain_notebook(notebook: dict, stem: str, ctx: Context, url: str, branch: str,
                   folder: str = "colab", student: bool = False) -> dict:
    """One chapter of a plain edition: no MyST left in its Markdown cells (see module doc)."""
    ctx.chapter, ctx.exercises, ctx.exercise_labels = stem, 0, {}
    source = sync_notebook(notebook, stem, url, branch)
    cells = source["cells"]
    title = f"# {chapter_number(stem)}. {chapter_title(source)}"
    out = [_markdown_cell(f"{title}\n\n{badges(stem, url, branch, folder)}", cells[0]["id"])]
    i = 1
    while i < len(cells):
        cell, text = cells[i], _source(cells[i])
        if cell["cell_type"] == "markdown" and SOLUTION_START in text:
            end = next(j for j in range(i, len(cells)) if SOLUTION_END in _source(cells[j]))
            if not student:
                out += _solution(cells[i:end + 1], ctx)
            i = end + 1
            continue
        if cell["cell_type"] == "markdown":
            if not (student and "{solution}" in text):
                out += _cells_for(to_markdown(text, ctx), cell["id"])
        elif cell["cell_type"] == "code":
            out.append({"cell_type": "code", "id": cell["id"], "execution_count": None,
                        "metadata": copy.deepcopy(cell.get("metadata", {})), "outputs": [],
                        "source": text})
        else:
            out.append(copy.deepcopy(cell))
        i += 1
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    gpu = bool(TRAINS.search(code))
    metadata = copy.deepcopy(source.get("metadata", {}))
    metadata["colab"] = {"provenance": [], "toc_visible": True, **({"gpuType": "T4"} if gpu
                                                                    else {})}
    metadata["kaggle"] = {"accelerator": "gpu" if gpu else "none", "isGpuEnabled": gpu,
                          "isInternetEnabled": True}
    if gpu:
        metadata["accelerator"] = "GPU"
    return {"cells": out, "metadata": metadata, "nbformat": 4,
            "nbformat_minor": max(5, source.get("nbformat_minor", 5))}


def dumps(notebook: dict) -> str:
    """A notebook as the project writes it (indent 1, UTF-8, a final newline)."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def editions(root: Path) -> dict[Path, str]:
    """Every file of both plain editions (path relative to root: its text), from notebooks/."""
    url, branch = repository(root)
    files = {}
    for folder, student in EDITIONS.items():
        ctx = context(root, folder)
        for path in sorted((root / "notebooks").glob("*.ipynb")):
            notebook = plain_notebook(json.loads(path.read_text()), path.stem, ctx, url, branch,
                                      folder, student)
            files[Path(folder) / path.name] = dumps(notebook)
    return files


def out_of_date(root: Path) -> list[str]:
    """The edition files that differ from what `build` would write (or should not be there)."""
    wanted = editions(root)
    stale = [str(p) for p, text in wanted.items()
             if not (root / p).is_file() or (root / p).read_text() != text]
    for folder in EDITIONS:
        stale += [str(p.relative_to(root)) for p in sorted((root / folder).glob("*.ipynb"))
                  if p.relative_to(root) not in wanted]
    return stale


def build(root: Path) -> list[Path]:
    """Write both editions (removing chapters that no longer exist); return what changed."""
    wanted, changed = editions(root), []
    for folder in EDITIONS:
        (root / folder).mkdir(exist_ok=True)
        for path in (root / folder).glob("*.ipynb"):
            if path.relative_to(root) not in wanted:
                path.unlink()
                changed.append(path)
    for relative, text in wanted.items():
        path = root / relative
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def sync(root: Path) -> list[Path]:
    """Rewrite the first two cells of every chapter in notebooks/; return what changed."""
    url, branch = repository(root)
    changed = []
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        new = dumps(sync_notebook(json.loads(text), path.stem, url, branch))
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.edition sync|build|check [--root DIR]`."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["sync", "build", "check"])
    parser.add_argument("--root", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.task == "check":
        stale = out_of_date(root)
        for name in stale:
            print(f"out of date: {name}")
        return 1 if stale else 0
    changed = sync(root) if args.task == "sync" else build(root)
    for path in changed:
        print(f"wrote {path.relative_to(root)}")
    print(f"{len(changed)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
