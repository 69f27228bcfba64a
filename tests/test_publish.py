"""`python3 tasks.py publish`: each chapter model trained once by `course train`, into the run
folder that the chapters' chapter_model then loads instead of training again (smoke preset)."""

from __future__ import annotations

import os
import sys

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
