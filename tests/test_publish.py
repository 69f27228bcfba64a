"""`python3 tasks.py publish`: each chapter model trained once by `course train`, into the run
folder that the chapters' chapter_model then loads instead of training again (smoke preset)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402


def test_the_chapters_models_are_found_in_the_chapters():
    models = tasks.chapter_models()
    assert "scratch" in models and len(models) == len(set(models))


def test_publish_needs_the_real_faces(monkeypatch, tmp_path):
    monkeypatch.delenv("UTKFACE_DIR", raising=False)
    with pytest.raises(SystemExit, match="UTKFACE_DIR"):
        tasks.publish("smoke", tmp_path, tmp_path)


@pytest.mark.slow
def test_a_model_trained_by_publish_is_reused_by_the_chapters(synthetic_dir, tmp_path,
                                                              monkeypatch, capsys):
    from helpers.book import chapter_model, start_chapter

    runs = tmp_path / "runs"
    monkeypatch.setenv("UTKFACE_DIR", str(synthetic_dir))
    env = {**tasks.course_env("smoke"), "COURSE_RUNS": str(runs)}
    tasks.train_chapter_models(env, models=["scratch"])
    (run,) = runs.iterdir()
    assert (run / "model.keras").is_file() and (run / "config.json").is_file()
    trained = (run / "model.keras").stat().st_mtime
    monkeypatch.setenv("COURSE_RUNS", str(runs))
    chapter = start_chapter("smoke")  # as the chapters start: from $UTKFACE_DIR
    chapter_model(chapter, "scratch")
    assert "already trained" in capsys.readouterr().out
    assert (run / "model.keras").stat().st_mtime == trained
    assert os.environ["COURSE_RUNS"] == str(runs)


def test_the_published_build_lets_a_long_training_cell_finish(tmp_path):
    """At the cpu preset a cell can train for longer than _config.yml's 1,200 s (chapter 4's
    colour exercise took 1,628 s on all the faces, alone on 2 cores): publish builds from
    sources without the limit."""
    source = tasks.book_sources(tmp_path / "src", ROOT / "notebooks", cell_timeout=-1)
    config = (source / "_config.yml").read_text()
    original = (ROOT / "_config.yml").read_text()
    assert "\n  timeout: -1\n" in config and "\n  timeout: 1200\n" in original
    assert config == original.replace("\n  timeout: 1200\n", "\n  timeout: -1\n")
    for path in (ROOT / "notebooks").glob("*.ipynb"):  # the chapters themselves unchanged
        copied = tasks.json.loads((source / "notebooks" / path.name).read_text())
        assert copied == tasks.json.loads(path.read_text())


@pytest.mark.parametrize("preset", ["smoke", "cpu"])
def test_a_book_beyond_smoke_is_built_without_the_cell_limit(preset, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(tasks, "run", lambda *args, **kwargs: calls.append(args))
    tasks.build_book(preset, out=tmp_path)
    (command,) = [call for call in calls if "build" in call]  # then tools.webpage adds the page
    assert any("tools.webpage" in call for call in calls)
    source = Path(command[command.index("build") + 1])
    if preset == "smoke":  # the tests' and CI's build keeps _config.yml's 20 minutes a cell
        assert source == ROOT
    else:
        assert "\n  timeout: -1\n" in (source / "_config.yml").read_text()
