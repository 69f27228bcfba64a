"""Labelled real photos for the detect-crop-predict path (chapter 9): a folder of photos with a
`labels.csv` of `file,gender,age_band`, such as the FairFace sample (Kärkkäinen and Joo, 2021;
CC BY 4.0). Found from an explicit path or $FAIRFACE_DIR; never downloaded."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

FAIRFACE_ENV = "FAIRFACE_DIR"
# FairFace's age bands, in order (its 60-69 and 70+ are the course's 60+ split in two).
PHOTO_AGE_BANDS = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+"]
GENDERS = ("male", "female")


def find_photos(path: str | os.PathLike | None = None) -> Path | None:
    """The folder of labelled photos: an explicit path, else $FAIRFACE_DIR; None when neither
    is given, and a clear error when the one given is not such a folder."""
    given = path if path is not None else os.environ.get(FAIRFACE_ENV) or None
    if given is None:
        return None
    folder = Path(given).expanduser()
    if not (folder / "labels.csv").is_file():
        origin = "the path given" if path is not None else f"${FAIRFACE_ENV}"
        raise FileNotFoundError(f"{origin} points to {folder}, which has no labels.csv "
                                "(file,gender,age_band): not a folder of labelled photos")
    return folder


def band_of(ages) -> pd.Categorical:
    """FairFace's age band of each age in years (a predicted age below 0 is in the first band,
    one past 100 in the last)."""
    edges = [-np.inf, 2, 9, 19, 29, 39, 49, 59, 69, np.inf]
    return pd.cut(pd.Series(ages, dtype=float), edges, labels=PHOTO_AGE_BANDS)


def read_photos(folder: str | os.PathLike) -> pd.DataFrame:
    """The labelled photos of a folder: `file`, `path`, `gender`, `age_band` (ordered), one row
    per photo found; a row whose photo is missing, or whose label is not one of the known ones,
    is left out with a warning that counts them."""
    folder = Path(folder)
    labels = pd.read_csv(folder / "labels.csv", dtype=str)
    missing = {"file", "gender", "age_band"} - set(labels.columns)
    if missing:
        raise ValueError(f"{folder / 'labels.csv'} lacks the column(s) "
                         f"{', '.join(sorted(missing))}")
    images = folder / "fairface" if (folder / "fairface").is_dir() else folder
    labels["path"] = [str(images / name) for name in labels["file"]]
    exists = labels["path"].map(lambda p: Path(p).is_file())
    known = labels["gender"].isin(GENDERS) & labels["age_band"].isin(PHOTO_AGE_BANDS)
    if (~exists).any() or (~known).any():
        warnings.warn(f"{folder}: {int((~exists).sum())} photo(s) of labels.csv not found and "
                      f"{int((exists & ~known).sum())} with an unknown gender or age band, left "
                      "out", stacklevel=2)
    photos = labels[exists & known].reset_index(drop=True)
    photos["age_band"] = pd.Categorical(photos["age_band"], PHOTO_AGE_BANDS, ordered=True)
    return photos[["file", "path", "gender", "age_band"]]


def balanced_sample(photos: pd.DataFrame, per_group: int | None, seed: int = 0) -> pd.DataFrame:
    """At most `per_group` photos of each gender in each age band (None: all of them)."""
    if per_group is None:
        return photos
    shuffled = photos.sample(frac=1, random_state=seed)
    kept = shuffled.groupby(["age_band", "gender"], observed=True).head(per_group)
    return kept.sort_values("file").reset_index(drop=True)
