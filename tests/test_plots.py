"""helpers.plots and the label summaries of helpers.data used by chapter 3 (matplotlib on Agg)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers import data, plots  # noqa: E402
from helpers.data.synthetic import make_synthetic_utkface  # noqa: E402

N = 60


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> data.DataReport:
    """A scan of 60 synthetic faces plus the release's defective names and three broken files."""
    folder = make_synthetic_utkface(tmp_path_factory.mktemp("faces"), n=N, with_defects=True)
    return data.scan_folder(folder, warn=False, source="synthetic")


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every figure a test opened."""
    yield
    plt.close("all")


# --------------------------------------------------------------------------- label summaries


def test_with_label_names_adds_readable_columns(report):
    named = data.with_label_names(report.manifest)
    assert {"gender_name", "race_name", "age_band"} <= set(named.columns)
    assert len(named) == report.n_files
    row = named[named["file"] == "61_3_20170109150557335.jpg.chip.jpg"].iloc[0]
    assert row["gender_name"] == "unknown" and row["race_name"] == "Indian"
    assert list(named["age_band"].cat.categories) == data.AGE_BAND_LABELS
    assert "gender_name" not in report.manifest.columns  # a copy, not the manifest itself


def test_label_counts_cover_every_face(report):
    faces = report.usable
    for column in ("gender", "race", "age_band"):
        counts = data.label_counts(faces, column)
        assert counts["faces"].sum() == len(faces)
        assert counts["share"].sum() == pytest.approx(1.0)
    races = data.label_counts(faces, "race")
    assert "unknown" in races.index  # the two faces without a race field are counted, by name
    assert races.loc["unknown", "faces"] == 2
    assert list(data.label_counts(faces, "age_band").index) == data.AGE_BAND_LABELS


def test_label_table_has_totals_and_names(report):
    faces = report.usable
    table = data.label_table(faces, "age_band", "gender")
    assert list(table.columns) == ["male", "female", "total"]
    assert table.loc["total", "total"] == len(faces)
    assert table.loc["total", "female"] == int((faces["gender"] == 1).sum())
    shares = data.label_table(faces, "race", "gender", normalize="index")
    assert np.allclose(shares[["male", "female"]].sum(axis=1), 1.0)


def test_label_summary_is_plain_python_and_right(report):
    faces = report.usable
    summary = data.label_summary(faces)
    for key, value in summary.items():  # glue needs plain values (numpy scalars show their type)
        assert type(value) in (int, float, str), key
    ages = faces["age"].astype(float)
    assert summary["n_faces"] == len(faces)
    assert summary["n_female"] + summary["n_male"] == len(faces)
    assert summary["median_age"] == pytest.approx(ages.median())
    assert summary["share_60plus"] == pytest.approx((ages >= 60).mean())
    assert summary["n_race_unknown"] == 2
    assert summary["largest_race_share"] >= summary["smallest_race_share"]
    assert summary["race_ratio"] == pytest.approx(
        summary["largest_race_share"] / summary["smallest_race_share"])


def test_defect_table_and_counts_follow_the_policy(report):
    table = data.defect_table(report)
    assert len(table) == len(report.defects)
    assert list(table.columns) == ["file", "age", "gender", "race", "action", "problem"]
    by_file = table.set_index("file")
    assert by_file.loc["61_3_20170109150557335.jpg.chip.jpg", "race"] == "Indian"
    assert by_file.loc["61_3_20170109150557335.jpg.chip.jpg", "gender"] == "unknown"
    assert by_file.loc["39_1_20170116174525125.jpg.chip.jpg", "gender"] == "female"
    assert by_file.loc["README.txt", "action"] == "excluded"
    counts = data.defect_counts(report)
    assert counts == {"kept": 3, "partial": 3, "excluded": 2}
    assert sum(counts.values()) == len(report.defects)


def test_defect_counts_of_a_clean_folder_are_zero(tmp_path):
    clean = data.scan_folder(make_synthetic_utkface(tmp_path, n=12), source="synthetic")
    assert data.defect_counts(clean) == {"kept": 0, "partial": 0, "excluded": 0}
    assert data.defect_table(clean).empty


def test_keras_validation_rows_are_the_last_sorted_rows(report):
    faces = report.usable
    tail = data.keras_validation_rows(faces, 0.1)
    assert len(tail) == len(faces) - math.floor(len(faces) * 0.9)
    assert list(tail["file"]) == sorted(faces["file"])[-len(tail):]
    unsorted = data.keras_validation_rows(faces, 0.2, sort_by=None)
    assert list(unsorted["file"]) == list(faces["file"].iloc[-len(unsorted):])


def test_compare_shares_side_by_side(report):
    faces = report.usable
    table = data.compare_shares({"all": faces, "tail": data.keras_validation_rows(faces)})
    assert list(table.columns) == ["all", "tail"]
    assert not table.isna().any().any()
    assert np.allclose(table.sum(), 1.0)


# --------------------------------------------------------------------------- plots


def test_face_grid_captions_every_face(report):
    faces = report.usable.head(10)
    images = np.random.default_rng(0).integers(0, 256, (10, 24, 24, 3), dtype=np.uint8)
    fig = plots.face_grid(faces, images, ncols=4, title="ten faces")
    assert isinstance(fig, Figure)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert len(fig.axes) == 12 and len(titled) == 10
    first = faces.iloc[0]
    assert titled[0].get_title().startswith(f"{int(first['age'])}, {data.GENDERS[first['gender']]}")
    assert data.RACES[first["race"]] in titled[0].get_title()


def test_face_grid_takes_grayscale_and_rejects_mismatches(report):
    faces = report.usable.head(3)
    gray = np.zeros((3, 16, 16, 1), np.uint8)
    assert isinstance(plots.face_grid(faces, gray), Figure)
    with pytest.raises(ValueError, match="3 manifest rows but 2 images"):
        plots.face_grid(faces, gray[:2])
    with pytest.raises(ValueError):
        plots.face_grid(faces.head(0), gray[:0])


def test_face_label_marks_unknown_labels():
    row = pd.Series({"age": 61, "gender": 1, "race": pd.NA})
    assert plots.face_label(row) == "61, female\n?"
    row = pd.Series({"age": 61, "gender": pd.NA, "race": 3})
    assert plots.face_label(row) == "61, ?\nIndian"


def test_age_histogram_counts_every_face(report):
    faces = report.usable
    ax = plots.age_histogram(faces)
    assert isinstance(ax, Axes)
    heights = sum(p.get_height() for p in ax.patches)
    assert heights == pytest.approx(len(faces))  # stacked bars: every face counted once
    assert {t.get_text() for t in ax.get_legend().get_texts()} == {"male", "female"}
    assert isinstance(plots.age_histogram(faces, hue=None, binwidth=5), Axes)


def test_count_bars_label_each_bar(report):
    faces = report.usable
    ax = plots.count_bars(faces, "race")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[-1] == "unknown" and labels[0] == "White"
    assert sum(p.get_height() for p in ax.patches) == len(faces)
    assert len(ax.texts) == len(labels)  # a count above every bar
    fig = plots.label_bars(faces, ("gender", "race", "age_band"))
    assert isinstance(fig, Figure) and len(fig.axes) == 3


def test_age_violins_and_share_bars(report):
    faces = report.usable
    ax = plots.age_violins(faces, by="race", hue="gender")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert "unknown" not in labels and labels == [r for r in data.RACES.values() if r in labels]
    assert isinstance(plots.age_violins(faces, by="gender", hue=None), Axes)
    table = data.compare_shares({"all": faces, "tail": data.keras_validation_rows(faces)})
    ax = plots.share_bars(table, title="shares")
    assert ax.get_title() == "shares" and ax.get_xlabel() == "age band"
