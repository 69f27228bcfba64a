"""Splits, folds and bootstrap intervals by person: when one person has many photos, the person,
not the photo, is the independent unit (FG-NET photographs each person at many ages)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data import age_band


def person_folds(frame: pd.DataFrame, k: int = 5, group: str = "person") -> list[np.ndarray]:
    """k folds of row positions with no person in two folds (scikit-learn's GroupKFold): each
    array holds the rows held out in that fold."""
    from sklearn.model_selection import GroupKFold

    people = frame[group].nunique()
    if k < 2:
        raise ValueError(f"grouped cross-validation needs at least 2 folds, not {k}")
    if k > people:
        raise ValueError(f"{k} folds need at least {k} people; this data has {people}")
    folds = GroupKFold(n_splits=k).split(np.zeros(len(frame)), groups=frame[group].to_numpy())
    return [held_out for _, held_out in folds]


def person_bootstrap(frame: pd.DataFrame, value: str = "abs_error", n_boot: int = 1000,
                     level: float = 0.95, seed: int = 0, group: str = "person") -> dict:
    """The mean of a column over photos with a percentile bootstrap interval that resamples
    people (all of a drawn person's photos at once), not photos."""
    if len(frame) == 0:
        raise ValueError("no photos to summarise: the table is empty")
    values = frame[value].to_numpy(float)
    codes, people = pd.factorize(frame[group])
    sums = np.bincount(codes, weights=values, minlength=len(people))
    counts = np.bincount(codes, minlength=len(people)).astype(float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(people), size=(n_boot, len(people)))
    boot = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
    return {"value": float(values.mean()), "low": float(low), "high": float(high),
            "photos": len(frame), "people": len(people)}


def paired_difference_by_person(a: pd.DataFrame, b: pd.DataFrame, value: str = "abs_error",
                      n_boot: int = 1000, seed: int = 0, group: str = "person") -> dict:
    """Mean of b[value] - a[value] over the same photos (rows aligned on 'file'), with a
    person-level bootstrap interval: is b really better or worse than a?"""
    both = a[["file", group, value]].merge(b[["file", value]], on="file", suffixes=("_a", "_b"))
    both["difference"] = both[f"{value}_b"] - both[f"{value}_a"]
    return person_bootstrap(both, "difference", n_boot=n_boot, seed=seed, group=group)


def band_table(frame: pd.DataFrame, value: str = "abs_error", n_boot: int = 500,
               seed: int = 0, group: str | None = "person") -> pd.DataFrame:
    """Photos, people, mean of a column and its 95% interval per age band; the interval
    resamples people when `group` is given, photos (each its own group) otherwise."""
    work = frame.copy()
    work["age_band"] = age_band(work["age"].astype(float)).array
    if group is None:
        work["_row"] = np.arange(len(work))
        group = "_row"
    rows = []
    for band, part in work.groupby("age_band", observed=True):
        ci = person_bootstrap(part, value, n_boot=n_boot, seed=seed, group=group)
        rows.append({"age_band": str(band), "photos": ci["photos"], "people": ci["people"],
                     value: ci["value"], f"{value}_low": ci["low"], f"{value}_high": ci["high"]})
    return pd.DataFrame(rows).set_index("age_band")
