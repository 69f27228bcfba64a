#!/usr/bin/env python3
"""The course's commands; each sets up its own virtual environment (.venv) first.

    python3 tasks.py book             build the book (HTML in _build/html), with its browser
                                      page (try/: LiteRT.js from npm, chapter 9's model)
    python3 tasks.py book --student   build the student edition, without solutions
    python3 tasks.py test             run the whole test suite (lint, helpers, notebooks, book,
                                      the browser page in Debian's Chromium: apt-get as root)
    python3 tasks.py lab              open the notebooks in JupyterLab
    python3 tasks.py strip            remove outputs from the notebooks before committing
    python3 tasks.py sync             rewrite each chapter's first two cells (badges, set-up),
                                      then regenerate the Colab/Kaggle editions (colab/)
    python3 tasks.py editions         regenerate only the Colab/Kaggle editions from notebooks/
    python3 tasks.py save             regenerate helpers/taught.py (and the exercises' solutions)
                                      from the chapters' #@save and solution cells
    python3 tasks.py publish          the edition to publish: real faces, each chapter model
                                      trained once (course train), then the book (cpu preset)

Options: --preset {smoke,cpu,gpu,full} (default: $COURSE_PRESET, else smoke; publish: cpu).
Set UTKFACE_DIR to build on the real faces; without it the book uses the synthetic stand-in data.
Only the Python standard library is used here, so a fresh machine needs nothing but Python 3.11+.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
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


def run(*args: str | Path, env: dict | None = None, cwd: Path = ROOT) -> None:
    """Run a command, echoing it; exit with its status when it fails."""
    say(" ".join(str(a) for a in args))
    code = subprocess.call([str(a) for a in args], cwd=cwd, env=env)
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


def book_sources(dest: Path, notebooks: Path, student: bool = False,
                 executed: bool = False, cell_timeout: int | None = None) -> Path:
    """Copy the book's sources to dest, its chapters from `notebooks`: for the student edition
    with every solution removed and hidden and its badges opening the student notebooks; for
    chapters that were executed already, with their execution turned off (their outputs used);
    with `cell_timeout`, the seconds a cell may run instead of _config.yml's (-1: no limit)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copytree(ROOT / "book", dest / "book",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (dest / "notebooks").mkdir()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        source = notebooks / path.name
        if not source.is_file():
            sys.exit(f"{source} is missing: execute every chapter first")
        notebook = json.loads(source.read_text())
        if student:
            notebook = strip_solutions(notebook)
            first = notebook["cells"][0]
            first["source"] = "".join(first["source"]).replace("/colab/", "/colab-student/")
        (dest / "notebooks" / path.name).write_text(json.dumps(notebook, indent=1) + "\n")
    shutil.copy(ROOT / "_toc.yml", dest / "_toc.yml")
    config = (ROOT / "_config.yml").read_text()
    if student:
        config = config.replace("hide_solutions: false", "hide_solutions: true")
        config = config.replace('title: "Age and gender from faces, with CNNs"',
                                'title: "Age and gender from faces, with CNNs (student edition)"')
    if executed:  # the chapters keep their outputs; the book's own pages (intro) still run
        config, n = re.subn(r"(\n  exclude_patterns: )\[\]", r'\1["notebooks/*"]', config)
        assert n == 1, "_config.yml's execute section must have exclude_patterns: []"
    if cell_timeout is not None:  # the cpu preset's trainings run longer than a smoke cell
        config, n = re.subn(r"(\n  timeout: )\d+", rf"\g<1>{cell_timeout}", config)
        assert n == 1, "_config.yml's execute section must have a timeout"
    (dest / "_config.yml").write_text(config)
    return dest


def build_book(preset: str | None, student: bool = False, out: Path | None = None,
               executed: Path | None = None, env: dict | None = None,
               cell_timeout: int | None = None) -> Path:
    """Build the HTML book with warnings as errors; return the HTML folder. With `executed`
    (a folder of executed chapters) the book uses their outputs instead of running them; with
    `cell_timeout`, a cell may run that many seconds (-1: no limit) instead of _config.yml's;
    by default no limit beyond the smoke preset."""
    env = env or course_env(preset)
    if cell_timeout is None and env["COURSE_PRESET"] != "smoke" and not executed:
        cell_timeout = -1  # a training cell of the larger presets runs past a smoke cell's limit
    source, out = ROOT, Path(out).resolve() if out else None
    base = out or ROOT / "_build"
    if student or executed or cell_timeout is not None:
        notebooks = Path(executed).resolve() if executed else ROOT / "notebooks"
        source = book_sources(base / ("student-src" if student else "teacher-src"), notebooks,
                              student=student, executed=executed is not None,
                              cell_timeout=cell_timeout)
    if student:
        out = base / "student"
    out = out or ROOT
    run(BIN / "jupyter-book", "build", source, "--path-output", out, "-W", "-n", "--keep-going",
        env=env)
    html = out / "_build" / "html"
    add_try_page(html, Path(source), env)
    say(f"the book is in {html / 'index.html'} (preset {env['COURSE_PRESET']})")
    return html


def add_try_page(html: Path, source: Path, env: dict) -> None:
    """The browser page's runtime and models (tools.webpage), with the model chapter 9 used:
    run in the folder where the chapters ran, so that it finds their runs folder."""
    run(PY, "-m", "tools.webpage", "--html", html, "--chapter-model", "mobilenetv2",
        env={**env, "PYTHONPATH": str(ROOT)}, cwd=source / "notebooks")


def ensure_browser() -> None:
    """Debian's Chromium for the browser page's test, installed with apt-get where this runs
    as root on Debian; elsewhere that test skips and says why."""
    if Path("/usr/bin/chromium").is_file() or not shutil.which("apt-get"):
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        say("no Chromium and not root: the browser page's test will skip")
        return
    say("installing Debian's chromium for the browser page's test")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"]):
        try:
            done = subprocess.run(command, stdout=subprocess.DEVNULL, env=env, timeout=900)
        except subprocess.TimeoutExpired:
            done = None
        if done is None or done.returncode:
            say("apt-get could not install chromium: the browser page's test will skip")
            return


def chapter_models() -> list[str]:
    """The models the chapters train or load with chapter_model (chapters 8 and 9)."""
    found: list[str] = []
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            code = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
            for name in re.findall(r"chapter_model\(\s*chapter\s*,\s*[\"'](\w+)", code):
                found += [name] if name not in found else []
    return found


def train_chapter_models(env: dict, models: list[str] | None = None) -> None:
    """Train each chapter model once with `course train`, into the run folder of $COURSE_RUNS
    that chapter_model then loads it from (the same data, preset and seed as the chapters)."""
    models = models or chapter_models()
    plan = subprocess.run([str(PY), "-c", "import json, sys; from helpers.book import "
                           "training_plan; print(json.dumps(training_plan(sys.argv[1:])))",
                           *models], cwd=ROOT, env=env, capture_output=True, text=True)
    if plan.returncode:
        sys.exit(plan.stdout + plan.stderr)
    for step in json.loads(plan.stdout.strip().splitlines()[-1]):
        say(f"model {step['model']}: {step['out']}")
        run(BIN / "course", *step["args"], env=env)


def publish(preset: str | None, out: Path | None, runs: Path | None, book: bool = True) -> None:
    """The edition to publish: the real faces ($UTKFACE_DIR), the pretrained weights (from
    $KERAS_HOME or downloaded), each chapter model trained once, then the book reusing them."""
    env = course_env(preset or os.environ.get("COURSE_PRESET") or "cpu")
    folder = env.get("UTKFACE_DIR")
    if not folder or not Path(folder).is_dir():
        sys.exit("publish needs the real faces: set UTKFACE_DIR to a UTKFace folder "
                 "(course data check DIR checks it)")
    env["COURSE_RUNS"] = str(Path(runs or env.get("COURSE_RUNS") or ROOT / "runs").resolve())
    say(f"faces {folder}; preset {env['COURSE_PRESET']}; runs {env['COURSE_RUNS']}; "
        f"weights cache {env.get('KERAS_HOME', '~/.keras')}/models")
    train_chapter_models(env)
    if book:
        build_book(None, out=out or ROOT / "_build" / "publish", env=env)


def editions() -> None:
    """Regenerate the Colab/Kaggle editions (colab/, colab-student/) from notebooks/."""
    run(PY, "-m", "tools.edition", "build", "--root", ROOT)


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
    parser.add_argument("task", choices=["book", "test", "lab", "strip", "setup", "sync",
                                         "editions", "publish", "save"])
    parser.add_argument("--preset", choices=["smoke", "cpu", "gpu", "full"], default=None)
    parser.add_argument("--student", action="store_true", help="book without solutions")
    parser.add_argument("--out", type=Path, default=None,
                        help="build under OUT/_build instead of ./_build (book, publish)")
    parser.add_argument("--executed", type=Path, default=None,
                        help="book: use these executed chapters instead of running them")
    parser.add_argument("--runs", type=Path, default=None,
                        help="publish: the run folder (default $COURSE_RUNS, else ./runs)")
    parser.add_argument("--no-book", action="store_true", help="publish: train, do not build")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest (test task)")
    args = parser.parse_args(argv)
    if args.task == "strip":
        return strip_outputs()
    ensure_env()
    if args.task == "book":
        build_book(args.preset, student=args.student, out=args.out, executed=args.executed)
    elif args.task == "sync":
        run(PY, "-m", "tools.edition", "sync", "--root", ROOT)
        editions()
    elif args.task == "editions":
        editions()
    elif args.task == "save":  # helpers/taught.py and the solutions from the chapters' cells
        run(PY, "-m", "tools.codegen")
    elif args.task == "publish":
        publish(args.preset, args.out, args.runs, book=not args.no_book)
    elif args.task == "test":
        env = course_env(args.preset)
        env["COURSE_NO_DOWNLOAD"] = "1"  # tests never download (weights come from a cache or not)
        ensure_browser()
        run(PY, "-m", "pytest", *args.pytest_args, env=env)
    elif args.task == "lab":
        run(BIN / "jupyter", "lab", "notebooks", env=course_env(args.preset))


if __name__ == "__main__":
    main()
