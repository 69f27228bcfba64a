"""Finding, parsing, scanning and splitting UTKFace."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from helpers import data
from helpers.data import DataError, DataNotFoundError, parse_name, scan_folder, split_faces
from tests.conftest import N_SYNTHETIC


def test_strict_name_parses():
    p = parse_name("26_1_3_20170119180608227.jpg.chip.jpg")
    assert (p.age, p.gender, p.race, p.problems) == (26, 1, 3, [])


@pytest.mark.parametrize(
    ("name", "age", "gender", "race", "problem"),
    [
        ("24_0_1_20170116220224657 .jpg.chip.jpg", 24, 0, 1, "stray space"),
        ("55_0_0_20170116232725357jpg.chip.jpg", 55, 0, 0, "missing '.'"),
        ("39_1_20170116174525125.jpg.chip.jpg", 39, 1, None, "race field missing"),
        ("61_1_20170109142408075.jpg.chip.jpg", 61, 1, None, "race field missing"),
        ("61_3_20170109150557335.jpg.chip.jpg", 61, None, 3, "cannot be a gender"),
    ],
)
def test_the_five_real_defective_names(name, age, gender, race, problem):
    p = parse_name(name)
    assert (p.age, p.gender, p.race) == (age, gender, race)
    assert len(p.problems) == 1 and problem in p.problems[0]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("14_0_0_2017011022340900.jpg.chip.jpg", "16 digits"),
        ("28_1_2_201701161846515488.jpg.chip.jpg", "18 digits"),
    ],
)
def test_odd_timestamps_keep_their_labels(name, problem):
    p = parse_name(name)
    assert p.has_labels and p.race is not None
    assert problem in p.problems[0]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("README.txt", "does not end in"),
        ("photo.jpg", "does not end in"),
        ("abc_1_2_20170116220224657.jpg.chip.jpg", "not numbers"),
        ("25_1_2_3_20170116220224657.jpg.chip.jpg", "5 fields"),
        ("0_1_2_20170116220224657.jpg.chip.jpg", "age 0 outside"),
        ("130_1_2_20170116220224657.jpg.chip.jpg", "age 130 outside"),
        ("25_7_2_20170116220224657.jpg.chip.jpg", "gender '7'"),
        ("25_1_9_20170116220224657.jpg.chip.jpg", "race '9'"),
        ("25_8_20170116220224657.jpg.chip.jpg", "neither gender nor race"),
    ],
)
def test_malformed_names_are_reported(name, problem):
    p = parse_name(name)
    assert any(problem in message for message in p.problems), p.problems


def test_scan_lists_every_defect_and_drops_nothing_silently(synthetic_dir):
    with pytest.warns(UserWarning, match=r"8 of 88 files have a defect"):
        report = scan_folder(synthetic_dir)
    assert report.n_files == N_SYNTHETIC + 8
    defects = report.defects.set_index("file")
    assert len(defects) == 8
    assert "corrupt or truncated" in defects.loc["31_0_0_20170101000000002.jpg.chip.jpg", "problem"]
    assert defects.loc["README.txt", "action"] == "excluded"
    png = defects.loc["45_1_3_20170101000000003.jpg.chip.jpg"]
    assert "150x180" in png["problem"] and "mode L" in png["problem"] and "PNG" in png["problem"]
    assert png["action"] == "kept"
    assert defects.loc["61_3_20170109150557335.jpg.chip.jpg", "action"] == "partial"
    # Every file is in the manifest; usable = clean faces + repaired ones with age and gender.
    assert set(report.manifest["file"]) >= set(defects.index)
    assert report.n_usable == N_SYNTHETIC + 5
    summary = report.to_dict()
    assert summary["n_files"] == N_SYNTHETIC + 8 and summary["n_usable"] == N_SYNTHETIC + 5
    assert {"file", "problem"} <= set(summary["defects"][0])
    assert summary["defects_by_action"] == {"kept": 3, "partial": 3, "excluded": 2}


def test_scan_errors_are_clear(tmp_path):
    with pytest.raises(DataNotFoundError, match="does not exist"):
        scan_folder(tmp_path / "nowhere")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        scan_folder(tmp_path / "file.txt")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no files"):
        scan_folder(empty)
    (empty / "UTKFace").mkdir()
    with pytest.raises(DataError, match=r"point at the one with the faces.*UTKFace"):
        scan_folder(empty)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "notes.txt").write_text("no faces here")
    with pytest.raises(DataError, match="no usable face"), pytest.warns(UserWarning):
        scan_folder(junk)


def test_find_utkface_order_and_messages(tmp_path, monkeypatch):
    monkeypatch.delenv("UTKFACE_DIR", raising=False)
    assert data.find_utkface(tmp_path) == tmp_path
    monkeypatch.setenv("UTKFACE_DIR", str(tmp_path))
    assert data.find_utkface() == tmp_path
    monkeypatch.setenv("UTKFACE_DIR", str(tmp_path / "missing"))
    with pytest.raises(DataNotFoundError, match=r"\$UTKFACE_DIR points to .*does not exist"):
        data.find_utkface()
    monkeypatch.delenv("UTKFACE_DIR")
    monkeypatch.setattr(data.find, "KAGGLE_CANDIDATES", ())
    with pytest.raises(DataNotFoundError, match="UTKFACE_DIR"):
        data.find_utkface(download=False)


def test_download_fails_fast_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(data.find.socket, "create_connection", refuse)
    monkeypatch.setattr(data.find, "KAGGLE_CANDIDATES", ())
    monkeypatch.delenv("UTKFACE_DIR", raising=False)
    with pytest.raises(DataNotFoundError, match="not reachable.*UTKFACE_DIR"):
        data.find_utkface(download=True)


def test_load_faces_falls_back_to_synthetic_only_when_nothing_was_asked(monkeypatch, capsys):
    from helpers.config import get_preset

    monkeypatch.delenv("UTKFACE_DIR", raising=False)
    monkeypatch.setattr(data.find, "KAGGLE_CANDIDATES", ())
    report = data.load_faces(get_preset("smoke", synthetic_faces=50), download=False)
    assert report.source == "synthetic" and report.n_usable == 50
    assert "synthetic stand-in" in capsys.readouterr().out
    assert "synthetic" in report.describe()
    assert str(Path(report.folder).parent) not in report.describe()  # no machine path shown
    monkeypatch.setenv("UTKFACE_DIR", "/no/such/folder")
    with pytest.raises(DataNotFoundError):
        data.load_faces(get_preset("smoke"), download=False)


@pytest.fixture(scope="module")
def manifest() -> pd.DataFrame:
    from helpers.data.synthetic import synthetic_folder

    return scan_folder(synthetic_folder(600, seed=0), source="synthetic").manifest


def test_split_is_deterministic_disjoint_and_order_independent(manifest):
    a = split_faces(manifest, seed=0)
    b = split_faces(manifest.sample(frac=1, random_state=3), seed=0)
    pd.testing.assert_frame_equal(a, b)
    assert a["file"].is_unique and len(a) == len(manifest)
    sizes = a["split"].value_counts(normalize=True)
    assert sizes["train"] == pytest.approx(0.8, abs=0.01)
    assert sizes["test"] == pytest.approx(0.1, abs=0.01)
    other = split_faces(manifest, seed=1)
    test_files = set(a.loc[a["split"] == "test", "file"])
    assert set(other.loc[other["split"] == "test", "file"]) != test_files


def test_split_is_stratified(manifest):
    split = split_faces(manifest, seed=0)
    balance = data.class_balance(split)
    assert balance["share_female"].max() - balance["share_female"].min() < 0.06
    bands = pd.crosstab(split["split"], data.age_band(split["age"]).values, normalize="index")
    assert (bands.max() - bands.min()).max() < 0.06


def test_split_max_faces(manifest):
    small = split_faces(manifest, seed=0, max_faces=200)
    assert len(small) == 200 and set(small["split"]) == {"train", "val", "test"}


def test_age_bands():
    bands = data.age_band([0, 2, 3, 9, 10, 59, 60, 116])
    assert list(bands.astype(str)) == ["0-2", "0-2", "3-9", "3-9", "10-19", "50-59", "60+", "60+"]


def test_hidden_files_are_skipped(tmp_path, synthetic_dir):
    folder = tmp_path / "faces"
    shutil.copytree(synthetic_dir, folder)
    (folder / ".DS_Store").write_bytes(b"\0\1")
    with pytest.warns(UserWarning):
        assert scan_folder(folder).n_files == N_SYNTHETIC + 8


@pytest.mark.realdata
def test_real_folder_defects_are_all_reported(real_dir):
    with pytest.warns(UserWarning, match="have a defect"):
        report = scan_folder(real_dir)
    assert report.n_files == len([p for p in real_dir.iterdir() if not p.name.startswith(".")])
    defects = report.defects.set_index("file")
    if real_dir.name == "UTKFace" and report.n_files == 18_930:  # the shared development copy
        assert len(defects) == 7
        assert report.n_usable == 18_930
        for name in ("24_0_1_20170116220224657 .jpg.chip.jpg",
                     "55_0_0_20170116232725357jpg.chip.jpg",
                     "61_1_20170109142408075.jpg.chip.jpg"):
            assert name in defects.index
    # Every file whose name is not strict is reported.
    strict = report.manifest["file"].str.fullmatch(r"\d+_[01]_[0-4]_\d{17}\.jpg\.chip\.jpg")
    assert set(report.manifest.loc[~strict, "file"]) <= set(defects.index)
