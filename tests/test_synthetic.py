"""The synthetic stand-in: deterministic, UTKFace-named, and learnable but not trivially."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split

from helpers.data import parse_name, scan_folder, synthetic


def test_same_seed_same_files(tmp_path):
    a = synthetic.make_synthetic_utkface(tmp_path / "a", n=12, seed=5)
    b = synthetic.make_synthetic_utkface(tmp_path / "b", n=12, seed=5)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir()) and len(names) == 12
    assert all((a / n).read_bytes() == (b / n).read_bytes() for n in names)
    c = synthetic.make_synthetic_utkface(tmp_path / "c", n=12, seed=6)
    assert names != sorted(p.name for p in c.iterdir())


def test_names_are_strict_utkface_names(tmp_path):
    folder = synthetic.make_synthetic_utkface(tmp_path, n=30, seed=0)
    for path in folder.iterdir():
        parsed = parse_name(path.name)
        assert parsed.problems == [] and parsed.has_labels and parsed.race is not None


def test_labels_look_like_utkface():
    ages, genders, races = synthetic.sample_labels(5000, np.random.default_rng(0))
    assert ages.min() >= 1 and ages.max() <= 100
    assert 20 <= np.median(ages) <= 35  # most faces are young adults
    assert (ages <= 5).mean() > 0.05  # a bump of infants
    assert 0.4 < genders.mean() < 0.56
    assert np.bincount(races).argmax() == 0  # White is the largest group, as in UTKFace


@pytest.fixture(scope="module")
def pixels_and_labels(tmp_path_factory):
    folder = synthetic.make_synthetic_utkface(tmp_path_factory.mktemp("learn"), n=500, seed=2)
    from PIL import Image

    manifest = scan_folder(folder, source="synthetic").manifest
    x = np.stack([np.asarray(Image.open(p).resize((24, 24)), np.float32).ravel() / 255
                  for p in manifest["path"]])
    return x, manifest["age"].to_numpy(float), manifest["gender"].to_numpy(int)


def test_gender_signal_is_learnable_but_noisy(pixels_and_labels):
    x, _, gender = pixels_and_labels
    x_tr, x_te, y_tr, y_te = train_test_split(x, gender, test_size=0.3, random_state=0)
    acc = LogisticRegression(max_iter=2000, C=0.1).fit(x_tr, y_tr).score(x_te, y_te)
    assert 0.65 < acc < 0.97, acc  # far above chance, but no model can be perfect


def test_age_signal_is_learnable_but_noisy(pixels_and_labels):
    x, age, _ = pixels_and_labels
    x_tr, x_te, y_tr, y_te = train_test_split(x, age, test_size=0.3, random_state=0)
    mae = np.abs(Ridge(alpha=10).fit(x_tr, y_tr).predict(x_te) - y_te).mean()
    baseline = np.abs(np.median(y_tr) - y_te).mean()
    assert 1.0 < mae < 0.9 * baseline, (mae, baseline)


def test_cached_folder_is_made_once(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    folder = synthetic.synthetic_folder(10, seed=0)
    assert len([p for p in folder.iterdir() if not p.name.startswith(".")]) == 10
    stamp = (folder / ".complete").stat().st_mtime_ns
    assert synthetic.synthetic_folder(10, seed=0) == folder
    assert (folder / ".complete").stat().st_mtime_ns == stamp
