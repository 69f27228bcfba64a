"""Age bands, the seeded stratified train/val/test split, and seeding every library."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

AGE_BANDS = [(0, 2), (3, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 200)]
AGE_BAND_LABELS = [f"{lo}-{hi}" if hi < 200 else f"{lo}+" for lo, hi in AGE_BANDS]

# --------------------------------------------------------------------------- splitting


def age_band(ages) -> pd.Categorical:
    """Age groups 0-2, 3-9, 10-19, ..., 60+ as an ordered categorical."""
    edges = [lo for lo, _ in AGE_BANDS] + [10_000]
    return pd.cut(pd.Series(ages, dtype=float), bins=edges, right=False, labels=AGE_BAND_LABELS)


def split_faces(manifest: pd.DataFrame, val: float = 0.1, test: float = 0.1, seed: int = 0,
                max_faces: int | None = None) -> pd.DataFrame:
    """Deterministic train/val/test split of the usable faces, stratified by gender and age band."""
    from sklearn.model_selection import train_test_split

    faces = manifest[manifest["usable"]] if "usable" in manifest else manifest
    faces = faces.sort_values("file").reset_index(drop=True)  # listing order is arbitrary
    strata = faces["gender"].astype(str) + "/" + age_band(faces["age"]).astype(str)
    counts = strata.map(strata.value_counts())
    strata = strata.where(counts >= 10, "rare")  # tiny strata cannot be split three ways
    if max_faces is not None and max_faces < len(faces):
        faces, _, strata, _ = train_test_split(faces, strata, train_size=max_faces,
                                               random_state=seed, stratify=strata)
        counts = strata.map(strata.value_counts())
        strata = strata.where(counts >= 10, "rare")
    rest, test_df, rest_strata, _ = train_test_split(faces, strata, test_size=test,
                                                     random_state=seed, stratify=strata)
    train_df, val_df = train_test_split(rest, test_size=val / (1 - test), random_state=seed,
                                        stratify=rest_strata)
    out = pd.concat([train_df.assign(split="train"), val_df.assign(split="val"),
                     test_df.assign(split="test")])
    return out.sort_values(["split", "file"]).reset_index(drop=True)


def class_balance(split: pd.DataFrame) -> pd.DataFrame:
    """Share of women and mean age in each split (to show the split is balanced)."""
    return split.groupby("split").agg(
        faces=("file", "size"), share_female=("gender", "mean"), mean_age=("age", "mean")
    ).loc[["train", "val", "test"]]


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and (when imported) TensorFlow/Keras for reproducible runs."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)
