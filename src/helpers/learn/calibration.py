"""What `course predict` and `course evaluate` use beside a trained model, chosen on the validation
faces after training: whether each face is averaged with its mirror image, and the conformal
scale of the 90% age interval (chapter 8)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import pandas as pd

from helpers.data import age_band
from helpers.learn.folder import RunFolder
from helpers.scoring.evaluation import age_spread, predict_faces, score
from helpers.taught import conformal_scale, conformal_scales

# A band of predicted age with fewer validation faces keeps the q of all faces (chapter 8).
MIN_BAND_FACES = 50


def thin_bands(predicted_age: pd.Series | Sequence[float],
               min_faces: int = MIN_BAND_FACES) -> list[str]:
    """The bands of predicted age with fewer than min_faces faces: they keep the q of all."""
    counts = age_band(predicted_age).value_counts()
    return [band for band in counts.index.astype(str) if counts[band] < min_faces]


def calibrate(model: keras.Model, val: pd.DataFrame, coverage: float = 0.9) -> dict:
    """What `course predict` and `course evaluate` use beside the model, chosen on the validation
    faces: whether to average each face with its mirror image (kept when it lowers the age MAE
    without lowering gender accuracy), and the conformal scale of the 90% age interval: one for
    a distribution head (times each face's spread), one per band of predicted age for a
    regression head (chapter 8)."""
    views = {mirror: predict_faces(model, val, flip_average=mirror) for mirror in (False, True)}
    scores = {mirror: score(pred) for mirror, pred in views.items()}
    mirror = bool(scores[True]["age_mae"] < scores[False]["age_mae"]
                  and scores[True]["gender_accuracy"] >= scores[False]["gender_accuracy"])
    chosen = views[mirror]
    spread = "age_sd" if "age_sd" in chosen else "1 year"
    if spread == "age_sd":  # the distribution's spread already widens the unsure faces' interval
        q, by_band = conformal_scale(chosen["age_error"], age_spread(chosen), coverage), {}
    else:  # a regression head has no spread of its own: a q per band of predicted age instead
        by_band = conformal_scales(chosen["age_pred"], chosen["age_error"], age_spread(chosen),
                                   coverage, min_faces=MIN_BAND_FACES)
        q = by_band.pop("all")
        few = thin_bands(chosen["age_pred"])
        if few:
            print(f"  fewer than {MIN_BAND_FACES} validation faces were predicted in "
                  f"{', '.join(few)}: {'that band keeps' if len(few) == 1 else 'those keep'} "
                  f"the q of all faces ({q:.2f})", flush=True)
    brief = {m: {"age_mae": round(s["age_mae"], 3),
                 "gender_accuracy": round(s["gender_accuracy"], 4)} for m, s in scores.items()}
    return {"test_time_mirror": mirror, "val_one_view": brief[False], "val_mirror": brief[True],
            "age_interval": {"coverage": coverage, "q": round(q, 4), "spread": spread,
                             **({"q_by_band": {band: round(v, 4) for band, v in by_band.items()}}
                                if by_band else {}),
                             "calibrated_on": f"{len(val):,} validation faces"}}


def prediction_options(config: dict) -> dict:
    """predict_photo's `mirror` and `interval_q` from a run's config: what `course train` chose
    (no mirror and no interval for a run from before it calibrated any; one q for all faces
    for a run from before it calibrated one per band of predicted age)."""
    interval = config.get("age_interval") or {}
    q = interval.get("q_by_band") or interval.get("q")
    if isinstance(q, dict):
        q = {**q, "all": interval["q"]}
    return {"mirror": bool(config.get("test_time_mirror", False)), "interval_q": q}


def prediction_settings(model_path: str | Path) -> tuple[bool, float | dict | None]:
    """The mirror averaging and the interval scale `course train` chose for a model (from its
    run's config.json); (False, None) for a model without one."""
    options = prediction_options(RunFolder.of(model_path).config())
    return options["mirror"], options["interval_q"]
