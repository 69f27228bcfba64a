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
N_SYNTHETIC = 80


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """80 synthetic faces plus the release's five defective names, a truncated JPEG,
    a text file and a grayscale PNG of another size."""
    from helpers.synthetic import make_synthetic_utkface

    return make_synthetic_utkface(tmp_path_factory.mktemp("faces"), n=N_SYNTHETIC, seed=1,
                                  with_defects=True)


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


class ExecutedChapters:
    """Each chapter executed once per test session (nbclient, the smoke preset unless set) and
    saved with its outputs, for its own test and for both editions of the book to build from."""

    def __init__(self, folder: Path, runs: Path, cache: Path):
        self.folder, self.runs, self.cache = folder, runs, cache
        self.done: dict[str, Path | BaseException] = {}

    def get(self, path: Path) -> Path:
        """The executed copy of one chapter (executed now the first time it is asked for)."""
        if path.name not in self.done:
            try:
                self.done[path.name] = self._execute(path)
            except Exception as exc:  # kept: asked again, it fails again without a re-run
                self.done[path.name] = exc
        result = self.done[path.name]
        if isinstance(result, BaseException):
            raise result
        return result

    def _execute(self, path: Path) -> Path:
        """Run every cell of a chapter in a fresh kernel of this environment; save the result."""
        import sys

        import nbformat
        from jupyter_client import KernelManager
        from nbclient import NotebookClient

        class ThisEnvironment(KernelManager):
            """The kernel of this very Python (as nbval's --nbval-current-env did)."""

            def format_kernel_cmd(self, extra_arguments=None):
                command = super().format_kernel_cmd(extra_arguments)
                return [sys.executable, *command[1:]] if "ipykernel" in " ".join(command) \
                    else command

        notebook = nbformat.read(path, as_version=4)
        env = {"COURSE_RUNS": str(self.runs), "COURSE_CACHE": str(self.cache),
               "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            NotebookClient(notebook, timeout=1200, kernel_name="python3",
                           kernel_manager_class=ThisEnvironment, allow_errors=False,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        out = self.folder / path.name
        nbformat.write(notebook, out)
        return out


@pytest.fixture(scope="session")
def executed_chapters(tmp_path_factory) -> ExecutedChapters:
    """The session's executed chapters (see ExecutedChapters)."""
    return ExecutedChapters(tmp_path_factory.mktemp("executed"), tmp_path_factory.mktemp("runs"),
                            tmp_path_factory.getbasetemp() / "cache")
