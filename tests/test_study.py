"""The data-size study and age as classes: sizes, seeds, fits and group scores."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd

from helpers.cli import main
from helpers.data import scan_folder, split_faces
from helpers.learn import study
from helpers.taught import best_threshold


def test_study_sizes():
    assert study.study_sizes(15143) == [1000, 2500, 5000, 10000, None]
    assert study.study_sizes(4000) == [500, 1000, 2000, None]  # too few fixed sizes below
    assert study.study_sizes(479) == [59, 119, 239, None]


def test_per_doubling_recovers_a_known_slope():
    sizes = [1000, 2000, 4000, 8000]
    rows = pd.DataFrame([{"train_faces": n, "seed": s,
                          "test_age_mae": 10 - 0.5 * np.log2(n / 1000) + (s - 1) * 0.1}
                         for n in sizes for s in range(3)])
    trend = study.per_doubling(rows)
    assert np.isclose(trend["per_doubling"], -0.5) and np.isclose(trend["at_largest"], 8.5)
    assert np.isclose(trend["next"], 8.0)


def test_band_scores_and_confusion():
    p = pd.DataFrame({"band": [0, 1, 2, 3, 7], "band_pred": [0, 2, 2, 5, 6]})
    scores = study.band_scores(p)
    assert scores["band_exact_accuracy"] == 0.4 and scores["band_one_off_accuracy"] == 0.8
    matrix = study.band_confusion(p)
    assert matrix.shape == (8, 8) and matrix.loc["0-2", "0-2"] == 1.0
    assert matrix.loc["10-19", "10-19"] == 1.0 and matrix.loc["60+", "50-59"] == 1.0


def test_mae_by_band_and_gender():
    p = pd.DataFrame({"age": [25, 25, 25, 70], "gender": [0, 1, 1, 0],
                      "age_error": [2.0, -4.0, 6.0, 10.0]})
    table = study.mae_by_band_and_gender(p)
    assert table.loc["20-29", "male"] == 2 and table.loc["20-29", "female"] == 5
    assert table.loc["20-29", "all"] == 4 and table.loc["60+", "faces"] == 1


def test_best_threshold_maximises_f1():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0.1, 0.2, 0.45, 0.3, 0.6, 0.9])
    best = best_threshold(y, p)
    assert best["threshold"] == 0.3 and np.isclose(best["f1"], 6 / 7)


def test_heads_and_size_study_on_features(synthetic_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = split_faces(scan_folder(synthetic_dir).manifest, seed=0)
    rng = np.random.default_rng(0)
    features = rng.normal(size=(len(faces), 16)).astype("float32")
    features[:, 0] = faces["age"] / 30  # a learnable signal
    rows = study.size_study(features, faces, [20, None], [0, 1], epochs=2, batch_size=16)
    assert list(rows["seed"]) == [0, 1, 0, 1]
    assert rows["train_faces"].iloc[-1] == int((faces["split"] == "train").sum())
    summary = study.summarize_study(rows)
    assert list(summary.index) == sorted(set(rows["train_faces"]))
    is_train = (faces["split"] == "train").to_numpy()
    model = study.train_head(features[is_train], faces[is_train], "classes", epochs=1)
    pred = study.predict_heads(model, features[~is_train], faces[~is_train])
    assert pred["band_pred"].between(0, 7).all() and "age_pred" not in pred


def test_course_study_writes_its_record(synthetic_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_NO_DOWNLOAD", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "none"))
    out = tmp_path / "study.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["study", "--data", str(synthetic_dir), "--preset", "smoke", "--seeds", "0",
                     "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["preset"] == "smoke" and "NOT pretrained" in record["weights"]
    assert len(record["rows"]) == 4 and "test_age_mae" in record["rows"][0]
    assert "Wrote" in capsys.readouterr().out


def test_the_recorded_study_ran_as_course_study_runs_today():
    """Chapter 7 quotes results/study-cpu.json as `course study --preset cpu`: a change to the
    preset's backbone input or epochs needs the study re-made."""
    from helpers.config import get_preset
    from helpers.scoring.evaluation import recorded_file

    record, preset = recorded_file("study-cpu.json"), get_preset("cpu")
    assert record["preset"] == "cpu"
    assert (record["image_size"], record["epochs"]) == (preset.transfer_size, preset.epochs)
