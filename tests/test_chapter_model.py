"""A chapter's model: trained once at the preset, then reused; refused on another split."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.book import chapter_model, start_chapter
from helpers.data import DataError
from helpers.photos.faces import my_photos


def test_a_chapter_model_is_trained_once_then_loaded(synthetic_dir, tmp_path, capsys):
    chapter = start_chapter("smoke", path=synthetic_dir)
    model, config = chapter_model(chapter, "scratch", runs=tmp_path)
    assert config["finished"] and config["model"] == "scratch"
    (run,) = tmp_path.iterdir()
    first = (run / "model.keras").stat().st_mtime
    again, _ = chapter_model(chapter, "scratch", runs=tmp_path)
    assert (run / "model.keras").stat().st_mtime == first
    assert "already trained" in capsys.readouterr().out
    assert again.count_params() == model.count_params()
    splits = pd.read_csv(run / "splits.csv")
    splits.loc[splits["split"] == "train", "split"] = "test"  # as if trained on another split
    splits.to_csv(run / "splits.csv", index=False)
    with pytest.raises(DataError, match="another split"):
        chapter_model(chapter, "scratch", runs=tmp_path)


def test_my_photos_skips_utkface_crops_and_other_files(tmp_path):
    from PIL import Image

    Image.new("RGB", (40, 40)).save(tmp_path / "holiday.jpg")
    Image.new("RGB", (40, 40)).save(tmp_path / "25_0_1_20170116174525125.jpg.chip.jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [p.name for p in my_photos(tmp_path)] == ["holiday.jpg"]
    assert my_photos(tmp_path / "missing") == []


def test_run_lock_holds_off_a_second_holder_until_released(tmp_path):
    fcntl = pytest.importorskip("fcntl", reason="run_lock locks only on POSIX")
    from helpers.book import run_lock

    out = tmp_path / "scratch-smoke"
    with run_lock(out):
        with open(out / ".lock") as other, pytest.raises(BlockingIOError):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a second chapter would wait
    with open(out / ".lock") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released: it gets it at once
