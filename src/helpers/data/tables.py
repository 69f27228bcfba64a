"""The tables of chapter 3: labels by name, counts and shares, defects, comparisons."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.data.manifest import GENDERS, RACES, DataReport
from helpers.data.split import age_band

# --------------------------------------------------------------------------- label summaries (EDA)

DEFECT_ACTIONS = ("kept", "partial", "excluded")
_LABEL_COLUMNS = {"gender": "gender_name", "race": "race_name", "age_band": "age_band"}


def with_label_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a manifest with readable gender_name, race_name and age_band columns."""
    out = frame.copy()
    out["gender_name"] = pd.Categorical(out["gender"].map(GENDERS).fillna("unknown"),
                                        categories=[*GENDERS.values(), "unknown"])
    out["race_name"] = pd.Categorical(out["race"].map(RACES).fillna("unknown"),
                                      categories=[*RACES.values(), "unknown"])
    out["age_band"] = age_band(out["age"].astype(float)).array  # ordered categorical
    return out


def label_counts(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Faces and share of faces per value of 'gender', 'race' or 'age_band' (named, in order)."""
    named = with_label_names(frame)[_LABEL_COLUMNS[column]]
    counts = named.value_counts(sort=False)
    counts = counts[(counts > 0) | (counts.index != "unknown")]
    return pd.DataFrame({"faces": counts, "share": counts / counts.sum()}).rename_axis(column)


def label_table(frame: pd.DataFrame, index: str = "age_band", columns: str = "gender",
                normalize: bool | str = False, margins: bool = True) -> pd.DataFrame:
    """A cross-table of two labels ('gender', 'race', 'age_band') by name, with totals."""
    named = with_label_names(frame)
    table = pd.crosstab(named[_LABEL_COLUMNS[index]], named[_LABEL_COLUMNS[columns]],
                        margins=margins, margins_name="total", normalize=normalize,
                        dropna=False)
    empty_unknown = [c for c in table.columns if c == "unknown" and not table[c].any()]
    table = table.drop(columns=empty_unknown)
    table = table.drop(index=[i for i in table.index if i == "unknown" and not table.loc[i].any()])
    return table.rename_axis(index=index, columns=columns)


def label_summary(frame: pd.DataFrame) -> dict[str, int | float | str]:
    """Headline numbers on the labels of a set of faces, as plain Python values (for glue)."""
    ages = frame["age"].astype(float)
    female = frame["gender"] == 1
    male = frame["gender"] == 0
    bands = age_band(ages).to_numpy(dtype=object)
    races = label_counts(frame[frame["race"].notna()], "race")
    races = races[races["faces"] > 0]
    in_20s, old = bands == "20-29", bands == "60+"
    return {
        "n_faces": len(frame),
        "n_female": int(female.sum()),
        "n_male": int(male.sum()),
        "share_female": float(female.mean()),
        "mean_age": float(ages.mean()),
        "median_age": float(ages.median()),
        "min_age": int(ages.min()),
        "max_age": int(ages.max()),
        "mean_age_female": float(ages[female].mean()),
        "mean_age_male": float(ages[male].mean()),
        "n_under_10": int((ages < 10).sum()),
        "share_under_10": float((ages < 10).mean()),
        "n_60plus": int(old.sum()),
        "share_60plus": float(old.mean()),
        "share_female_20s": float(female[in_20s].mean()),
        "share_female_60plus": float(female[old].mean()),
        "n_race_unknown": int(frame["race"].isna().sum()),
        "largest_race": str(races["faces"].idxmax()),
        "largest_race_share": float(races["share"].max()),
        "smallest_race": str(races["faces"].idxmin()),
        "smallest_race_share": float(races["share"].min()),
        "race_ratio": float(races["faces"].max() / races["faces"].min()),
    }


def defect_table(report: DataReport) -> pd.DataFrame:
    """The defects of a scan with the labels the policy recovered for each file (NA: unknown)."""
    labels = with_label_names(report.manifest)[["file", "age", "gender_name", "race_name"]]
    labels = labels.rename(columns={"gender_name": "gender", "race_name": "race"})
    table = report.defects.merge(labels, on="file", how="left")
    return table[["file", "age", "gender", "race", "action", "problem"]]


def defect_counts(report: DataReport) -> dict[str, int]:
    """How many defective files the policy kept, kept with a label unknown, or excluded."""
    counts = report.defects["action"].value_counts()
    return {action: int(counts.get(action, 0)) for action in DEFECT_ACTIONS}


def keras_validation_rows(frame: pd.DataFrame, validation_split: float = 0.1,
                          sort_by: str | None = "file") -> pd.DataFrame:
    """The rows `model.fit(validation_split=...)` would hold out: the last ones, unshuffled."""
    ordered = frame.sort_values(sort_by) if sort_by else frame
    split_at = int(np.floor(len(ordered) * (1.0 - validation_split)))  # as Keras does
    return ordered.iloc[split_at:].reset_index(drop=True)


def compare_shares(frames: dict[str, pd.DataFrame], column: str = "age_band") -> pd.DataFrame:
    """Share of faces per value of a label in several sets of faces, side by side."""
    shares = {name: label_counts(f, column)["share"] for name, f in frames.items()}
    return pd.DataFrame(shares).fillna(0.0)
