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
