"""Generate the library from the chapters (as d2l.ai does): the code a chapter teaches is written
once, in a notebook cell whose first line is `#@save`, and copied from there into
`helpers/taught.py`; each exercise's solution cells are copied into `teacher/solutions.json`
(outside the package students install), which `q.solution()` prints where a teacher has it. Both
files are generated; `tests/test_codegen.py` fails when they differ from the notebooks.

    python -m tools.codegen          # rewrite both files from notebooks/
    python -m tools.codegen --check  # exit 1 when they are out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

MARKER = "#@save"
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TAUGHT = ROOT / "src" / "helpers" / "taught.py"
SOLUTIONS = ROOT / "teacher" / "solutions.json"  # teachers' only: the package does not ship it
REGENERATE = "python3 tasks.py save"

TAUGHT_HEADER = f'''"""The code the chapters teach, copied from their `#@save` cells.

GENERATED: do not edit. Change the cell in notebooks/, then run `{REGENERATE}`
(tests/test_codegen.py fails until the two agree). The rest of `helpers`, the `course` command
line and the tests import from here, so they run the very code each chapter shows.
"""
'''


def _source(cell: dict) -> str:
    """A cell's source as one string."""
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _notebooks(folder: Path) -> list[tuple[Path, list[dict]]]:
    """The chapters in order, with their cells."""
    return [(path, json.loads(path.read_text())["cells"])
            for path in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))]


def saved_cells(folder: Path = NOTEBOOKS) -> list[tuple[str, str]]:
    """(notebook name, source without the marker) of every `#@save` code cell, in order."""
    cells = []
    for path, notebook in _notebooks(folder):
        for cell in notebook:
            text = _source(cell)
            if cell["cell_type"] == "code" and text.lstrip().startswith(MARKER):
                cells.append((path.name, text.lstrip()[len(MARKER):].lstrip("\n")))
    return cells


def _is_import(line: str) -> bool:
    """A top-level import statement on one line."""
    return re.match(r"(import|from)\s+\S+", line) is not None and not line.endswith(("(", "\\"))


def _sorted_imports(lines: list[str]) -> str:
    """Import lines in isort's order: standard library, third party, then `helpers`; in each,
    `import x` lines before `from x import y`, by module name; the names that several cells
    import from one module on one line."""
    names: dict[str, list[str]] = {}
    for line in lines:
        match = re.fullmatch(r"from (\S+) import ([\w, ]+)", line)
        if match and " as " not in line:
            for name in match[2].split(","):
                names.setdefault(match[1], [])
                names[match[1]] += [name.strip()] if name.strip() not in names[match[1]] else []
    merged = [f"from {module} import {', '.join(sorted(found, key=lambda n: (not n.isupper(), n)))}"
              for module, found in names.items()]
    lines = [line for line in lines if not (line.startswith("from ") and line.split()[1] in names
                                            and " as " not in line)] + merged
    groups: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for line in lines:
        module = line.split()[1].split(".")[0]
        group = 0 if module in sys.stdlib_module_names else 2 if module == "helpers" else 1
        groups[group].append(line)
    key = lambda line: (line.startswith("from"), line.split()[1].lower())  # noqa: E731
    return "\n\n".join("\n".join(sorted(group, key=key)) for group in groups.values() if group)


def generate_taught(folder: Path = NOTEBOOKS) -> str:
    """The text of helpers/taught.py: the imports of every saved cell once, then their code."""
    imports: list[str] = []
    bodies: list[str] = []
    current = None
    for name, text in saved_cells(folder):
        body = []
        for line in text.rstrip().splitlines():
            if _is_import(line):
                # earlier chapters' saved code is in this same module
                if not line.startswith(("from helpers.taught ", "from __future__ ")) \
                        and line not in imports:
                    imports.append(line)
            else:
                body.append(line)
        code = "\n".join(body).strip("\n")
        if name != current:
            code = f"# ---- {name} " + "-" * max(0, 90 - len(name)) + "\n\n" + code
            current = name
        bodies.append(code)
    parts = [TAUGHT_HEADER, "from __future__ import annotations\n", _sorted_imports(imports) + "\n"]
    return "\n".join(parts) + "\n" + "\n\n\n".join(bodies) + "\n"


def solution_sources(folder: Path = NOTEBOOKS) -> dict[str, str]:
    """{exercise label: the code of its solution cells} from every chapter."""
    out: dict[str, str] = {}
    for _, notebook in _notebooks(folder):
        label = None
        for cell in notebook:
            text = _source(cell)
            start = re.search(r"\{solution-start\}\s+(\S+)", text)
            if start:
                label = start.group(1)
                out.setdefault(label, "")
            elif label and cell["cell_type"] == "code":
                out[label] = (out[label] + "\n\n" + text.strip()).strip()
            if "{solution-end}" in text:
                label = None
    return out


def generate_solutions(folder: Path = NOTEBOOKS) -> str:
    """The text of teacher/solutions.json: {label: solution code}."""
    return json.dumps(solution_sources(folder), indent=1, ensure_ascii=False) + "\n"


def outputs(folder: Path = NOTEBOOKS) -> dict[Path, str]:
    """Each generated file and the text it must have."""
    return {TAUGHT: generate_taught(folder), SOLUTIONS: generate_solutions(folder)}


def stale(folder: Path = NOTEBOOKS) -> list[Path]:
    """The generated files that differ from what the notebooks say."""
    return [path for path, text in outputs(folder).items()
            if not path.exists() or path.read_text() != text]


def main(argv: list[str] | None = None) -> int:
    """Write the generated files, or with --check report the stale ones (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        old = stale()
        for path in old:
            print(f"{path} is out of date with the notebooks: run {REGENERATE}")
        return 1 if old else 0
    for path, text in outputs().items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
