"""Shared fixtures: a synthetic UTKFace folder with the real release's defects, the real faces."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
SHARED_FACES = ROOT.parent / "shared" / "data" / "utkface" / "UTKFace"
SHARED_PHOTOS = ROOT.parent / "shared" / "data" / "fairface"  # labelled real photos (chapter 9)
N_SYNTHETIC = 80


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """80 synthetic faces plus the release's five defective names, a truncated JPEG,
    a text file and a grayscale PNG of another size."""
    from helpers.data.synthetic import make_synthetic_utkface

    return make_synthetic_utkface(tmp_path_factory.mktemp("faces"), n=N_SYNTHETIC, seed=1,
                                  with_defects=True)


@pytest.fixture(scope="session")
def trained_scratch(synthetic_dir, tmp_path_factory) -> Path:
    """The run folder of `course train --preset smoke --model scratch --epochs 2` on the
    synthetic faces: the preset's two networks, side by side, and their average."""
    from helpers.cli import main

    run = tmp_path_factory.mktemp("scratch-run")
    assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                 "scratch", "--out", str(run), "--epochs", "2"]) == 0
    return run


@pytest.fixture(scope="session")
def real_dir() -> Path:
    """The real UTKFace faces ($UTKFACE_DIR, else ../shared); the test skips without them."""
    folder = Path(os.environ.get("UTKFACE_DIR") or SHARED_FACES)
    if not folder.is_dir():
        pytest.skip(f"the real UTKFace faces are not here ({folder}); set UTKFACE_DIR to run")
    return folder


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Generated stand-in data goes to a per-session cache, never the user's home."""
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


# How many chapters run at once (each in its own kernel): the chapters spend much of their time
# in single-threaded Python (imports, pandas, plotting), so two lanes keep two cores busy. A
# chapter that needs a model another chapter is training waits for it (book.run_lock).
WORKERS = int(os.environ.get("COURSE_TEST_WORKERS") or min(2, os.cpu_count() or 1))
# Longest first, so that the lanes finish together (measured on the smoke preset).
LONGEST_FIRST = ["05_", "08_", "06_", "10_", "07_", "09_", "04_", "11_", "03_", "02_", "01_"]


class ExecutedChapters:
    """Each chapter executed once per test session (nbclient, the smoke preset unless set) and
    saved with its outputs, for its own test and for both editions of the book to build from.
    The session starts every chapter it selected at once, in the background, WORKERS at a time,
    while the tests that need no chapter run (pytest_collection_modifyitems puts the chapters'
    tests last); a chapter's test waits for that chapter only."""

    def __init__(self, folder: Path, runs: Path, cache: Path, wanted: list[Path]):
        from concurrent.futures import ThreadPoolExecutor

        self.folder, self.runs, self.cache = folder, runs, cache
        self.wanted = sorted(wanted, key=lambda p: next(
            (i for i, prefix in enumerate(LONGEST_FIRST) if p.name.startswith(prefix)), 99))
        self.seconds: dict[str, float] = {}
        self.env = {**os.environ, "COURSE_RUNS": str(runs), "COURSE_CACHE": str(cache),
                    "PYDEVD_DISABLE_FILE_VALIDATION": "1"}  # the kernels' environment
        self.env.setdefault("COURSE_PRESET", "smoke")  # the set-up cell would choose by hardware
        if "FAIRFACE_DIR" not in self.env and (SHARED_PHOTOS / "labels.csv").is_file():
            self.env["FAIRFACE_DIR"] = str(SHARED_PHOTOS)  # chapter 9 measures on real photos
        self.pool = ThreadPoolExecutor(max_workers=WORKERS)
        self.futures = {p.name: self.pool.submit(self._execute, p) for p in self.wanted}

    def get(self, path: Path) -> Path:
        """The executed copy of one chapter (waiting for it; started now if it was not
        selected at the start); asked again after a failure, it fails again, no re-run."""
        if path.name not in self.futures:
            self.futures[path.name] = self.pool.submit(self._execute, path)
        return self.futures[path.name].result()

    def close(self) -> None:
        """Stop the chapters not started yet and wait for those running."""
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _execute(self, path: Path) -> Path:
        """Run every cell of a chapter in a process of its own (tests/execute_chapter.py, a
        fresh kernel of this environment); return the saved, executed copy."""
        import subprocess
        import sys
        import time

        out = self.folder / path.name
        start = time.perf_counter()
        done = subprocess.run([sys.executable, str(Path(__file__).parent / "execute_chapter.py"),
                               str(path), str(out)], capture_output=True, text=True,
                              env=self.env)
        self.seconds[path.name] = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{path.name} failed:\n{done.stderr[-6000:]}")
        return out


def _needs_chapters(item) -> bool:
    """Whether a test reads executed chapters (it then waits for them, so it runs last)."""
    return "executed_chapters" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session, config, items) -> None:
    """The tests that read executed chapters run after all the others (which run meanwhile,
    while the chapters execute in the background), in their own order."""
    items[:] = [i for i in items if not _needs_chapters(i)] + [i for i in items
                                                                if _needs_chapters(i)]


def pytest_collection_finish(session) -> None:
    """Note which chapters this session needs executed (once -k and -m have deselected): all
    of them for the book's tests, else those whose own test was selected."""
    items, config = session.items, session.config
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    files = {Path(str(item.fspath)).name for item in items}
    if "test_book.py" in files:
        wanted = notebooks
    else:
        ids = {item.callspec.id for item in items
               if Path(str(item.fspath)).name == "test_notebooks.py" and hasattr(item, "callspec")}
        wanted = [p for p in notebooks if p.name in ids]
    config.stash[WANTED] = wanted


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """How long each chapter took to execute (they ran WORKERS at a time)."""
    chapters = config.stash.get(EXECUTED, None)
    if chapters is not None and chapters.seconds:
        times = ", ".join(f"{name[:2]} {seconds:.0f} s" for name, seconds in
                          sorted(chapters.seconds.items()))
        terminalreporter.write_line(f"chapters executed ({WORKERS} at a time): {times}")


WANTED = pytest.StashKey[list]()
EXECUTED = pytest.StashKey[ExecutedChapters]()


@pytest.fixture(scope="session")
def executed_chapters(tmp_path_factory, pytestconfig) -> ExecutedChapters:
    """The session's executed chapters (see ExecutedChapters), started by the first test."""
    chapters = ExecutedChapters(tmp_path_factory.mktemp("executed"),
                                tmp_path_factory.mktemp("runs"),
                                tmp_path_factory.getbasetemp() / "cache",
                                pytestconfig.stash.get(WANTED, []))
    pytestconfig.stash[EXECUTED] = chapters
    yield chapters
    chapters.close()


@pytest.fixture(scope="session", autouse=True)
def _chapters_in_background(pytestconfig, request) -> None:
    """Start the selected chapters with the session's first test (none when none is selected)."""
    if pytestconfig.stash.get(WANTED, []):
        request.getfixturevalue("executed_chapters")
