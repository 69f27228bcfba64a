#!/usr/bin/env python3
"""The course's commands; each sets up its own virtual environment (.venv) first.

    python3 tasks.py book             build the book (HTML in _build/html)
    python3 tasks.py book --student   build the student edition, without solutions
    python3 tasks.py test             run the whole test suite (lint, helpers, notebooks, book)
    python3 tasks.py lab              open the notebooks in JupyterLab
    python3 tasks.py strip            remove outputs from the notebooks before committing

Options: --preset {smoke,cpu,gpu,full} (default: $COURSE_PRESET, else smoke). Set UTKFACE_DIR to
build on the real faces; without it the book uses the synthetic stand-in data.
Only the Python standard library is used here, so a fresh machine needs nothing but Python 3.11+.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".course-install-stamp"
SOLUTION_START, SOLUTION_END = "{solution-start}", "{solution-end}"


def say(message: str) -> None:
    """Print a progress line at once."""
    print(f"[tasks] {message}", flush=True)


def run(*args: str | Path, env: dict | None = None) -> None:
    """Run a command, echoing it; exit with its status when it fails."""
    say(" ".join(str(a) for a in args))
    code = subprocess.call([str(a) for a in args], cwd=ROOT, env=env)
    if code:
        sys.exit(code)


def ensure_env() -> None:
    """Create .venv and install the course (editable, with the dev extra) when needed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - said plainly to users of an older Python
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PY.exists() and STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not PY.exists():
        say(f"creating the virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PY, "-m", "pip", "install", "--quiet", "-e", ".[dev]")
    STAMP.write_text(wanted + "\n")


def course_env(preset: str | None) -> dict:
    """The environment for builds and tests: the venv first on PATH, the preset, quiet TF."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if preset:
        env["COURSE_PRESET"] = preset
    env.setdefault("COURSE_PRESET", "smoke")
    return env


def strip_solutions(notebook: dict) -> dict:
    """Drop every cell from a `{solution-start}` cell through its `{solution-end}` cell."""
    kept, inside = [], False
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if SOLUTION_START in text:
            inside = True
        if not inside and "{solution}" not in text:
            kept.append(cell)
        if SOLUTION_END in text:
            inside = False
    return {**notebook, "cells": kept}


def student_sources(dest: Path) -> Path:
    """Copy the book's sources to dest with every solution removed and hidden."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("book", "notebooks"):
        shutil.copytree(ROOT / name, dest / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy(ROOT / "_toc.yml", dest / "_toc.yml")
    config = (ROOT / "_config.yml").read_text()
    config = config.replace("hide_solutions: false", "hide_solutions: true")
    config = config.replace('title: "Age and gender from faces, with CNNs"',
                            'title: "Age and gender from faces, with CNNs (student edition)"')
    (dest / "_config.yml").write_text(config)
    for path in (dest / "notebooks").glob("*.ipynb"):
        notebook = json.loads(path.read_text())
        path.write_text(json.dumps(strip_solutions(notebook), indent=1) + "\n")
    return dest


def build_book(preset: str | None, student: bool = False, out: Path | None = None) -> Path:
    """Build the HTML book with warnings as errors; return the HTML folder."""
    env = course_env(preset)
    source, out = ROOT, Path(out).resolve() if out else None
    if student:
        source = student_sources((out or ROOT / "_build") / "student-src")
        out = out / "student" if out else ROOT / "_build" / "student"
    out = out or ROOT
    run(BIN / "jupyter-book", "build", source, "--path-output", out, "-W", "-n", "--keep-going",
        env=env)
    html = out / "_build" / "html"
    say(f"the book is in {html / 'index.html'} (preset {env['COURSE_PRESET']})")
    return html


def strip_outputs() -> None:
    """Remove outputs and execution counts from every notebook (they are rebuilt by the book)."""
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        notebook = json.loads(path.read_text())
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"], cell["execution_count"] = [], None
        path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        say(f"stripped {path.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run one task."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["book", "test", "lab", "strip", "setup"])
    parser.add_argument("--preset", choices=["smoke", "cpu", "gpu", "full"], default=None)
    parser.add_argument("--student", action="store_true", help="book without solutions")
    parser.add_argument("--out", type=Path, default=None,
                        help="build under OUT/_build instead of ./_build (book task)")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (test task)")
    args = parser.parse_args(argv)
    if args.task == "strip":
        return strip_outputs()
    ensure_env()
    if args.task == "book":
        build_book(args.preset, student=args.student, out=args.out)
    elif args.task == "test":
        env = course_env(args.preset)
        env["COURSE_NO_DOWNLOAD"] = "1"  # tests never download (weights come from a cache or not)
        run(PY, "-m", "pytest", *args.pytest_args, env=env)
    elif args.task == "lab":
        run(BIN / "jupyter", "lab", "notebooks", env=course_env(args.preset))


if __name__ == "__main__":
    main()
