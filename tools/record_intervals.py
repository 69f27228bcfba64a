"""Measure how the 90% age intervals cover each band of true age, calibrated several ways.

    python -m tools.record_intervals --run runs/mobilenetv2 --data /path/to/UTKFace

Each way is fitted on half of the run's validation faces (its q's, from the model's answers
there) and checked on the other half, by band of *true* age; the test split is not looked at.
The course's way is a symmetric q per band of predicted age (chapter 8's Mondrian interval); the
others are asymmetric (a lower and an upper split-conformal quantile of the signed error per band)
and finer bins of predicted age (10 and 5 years). The record: interval-coverage-by-true-age.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.split import AGE_BAND_LABELS
from helpers.learn.calibration import MIN_BAND_FACES
from helpers.taught import conformal_scale
from tools.record_photos import save

TARGET = (0.85, 0.95)  # every band of true age should be covered within this range


def bins_of(kind: str) -> Callable[[np.ndarray], np.ndarray]:
    """Predicted ages to their bin: the course's age bands, or bins of `kind` years (80+ one)."""
    from helpers.data import age_band

    if kind == "band":
        return lambda ages: np.array([str(b) for b in age_band(ages)])
    width = int(kind)
    return lambda ages: np.minimum(np.floor(np.maximum(ages, 0) / width),
                                   80 // width).astype(int).astype(str)


def tails(signed: np.ndarray, coverage: float, asymmetric: bool) -> tuple[float, float]:
    """Split-conformal offsets (low, high) around the prediction: +-q of |error| (the course's
    conformal_scale, chapter 8), or the two tails' quantiles of the signed error, each at rank
    ceil((n+1)(1-a/2)) for a miss rate a."""
    if not asymmetric:
        q = conformal_scale(signed, np.ones(len(signed)), coverage)
        return -q, q
    n = len(signed)
    rank = min(int(np.ceil((n + 1) * (1 - (1 - coverage) / 2))), n)
    ordered = np.sort(signed)
    return float(ordered[n - rank]), float(ordered[rank - 1])


def fit(val: pd.DataFrame, kind: str, asymmetric: bool, coverage: float = 0.9,
        min_faces: int = MIN_BAND_FACES) -> Callable[[np.ndarray], np.ndarray]:
    """Offsets per bin of predicted age from the validation faces (a thin bin: all faces')."""
    bin_of = bins_of(kind)
    bins = bin_of(val["age_pred"].to_numpy())
    signed = (val["age"] - val["age_pred"]).to_numpy()
    every = tails(signed, coverage, asymmetric)
    table = {b: tails(signed[bins == b], coverage, asymmetric) if (bins == b).sum() >= min_faces
             else every for b in np.unique(bins)}
    return lambda ages: np.array([table.get(b, every) for b in bin_of(ages)])


def coverage_row(faces: pd.DataFrame, offsets: np.ndarray) -> dict:
    """Coverage per band of true age, overall, and the mean width in years."""
    from helpers.data import age_band

    low = np.maximum(faces["age_pred"].to_numpy() + offsets[:, 0], 0)
    high = faces["age_pred"].to_numpy() + offsets[:, 1]
    inside = (faces["age"].to_numpy() >= low) & (faces["age"].to_numpy() <= high)
    by_band = pd.Series(inside).groupby(np.array([str(b) for b in age_band(faces["age"])])).mean()
    return {**{f"coverage_{b}": round(float(by_band.get(b, np.nan)), 3) for b in AGE_BAND_LABELS},
            "coverage_all": round(float(inside.mean()), 3),
            "mean_width": round(float((high - low).mean()), 2)}


def main(argv: list[str] | None = None) -> None:
    """Predict the run's validation faces, fit each way on one half, check it on the other."""
    from helpers import data
    from helpers.learn.folder import RunFolder
    from helpers.scoring.evaluation import predict_faces

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, required=True, help="a run folder of course train")
    parser.add_argument("--data", type=Path, required=True, help="the UTKFace folder")
    parser.add_argument("--trained-with", default=None,
                        help="the command that trained the run, for the record")
    args = parser.parse_args(argv)
    run = RunFolder(args.run)
    config, model = run.config(), run.load_model()
    faces = data.split_faces(data.scan_folder(args.data, warn=False).manifest,
                             seed=config.get("seed", 0))
    mirror = bool(config.get("test_time_mirror", False))
    val = predict_faces(model, faces[faces["split"] == "val"], flip_average=mirror)
    half = np.random.default_rng(0).permutation(len(val)) < len(val) // 2
    fitted_on, checked_on = val[half], val[~half]
    rows = []
    for kind in ("band", "10", "5"):
        for asymmetric in (False, True):
            way = fit(fitted_on, kind, asymmetric)
            name = (("the course's: " if kind == "band" and not asymmetric else "")
                    + ("asymmetric" if asymmetric else "symmetric") + " q per "
                    + ("age band" if kind == "band" else f"{kind}-year bin") + " of predicted age")
            for half_name, frame in [("the half it was fitted on", fitted_on),
                                     ("the other half", checked_on)]:
                rows.append({"variant": f"{name}, on {half_name}", "faces": len(frame),
                             **coverage_row(frame, way(frame["age_pred"].to_numpy()))})
                print(rows[-1], flush=True)
    checked = [row for row in rows if row["variant"].endswith("the other half")]
    within = [row["variant"].removesuffix(", on the other half") for row in checked
              if all(TARGET[0] <= row[f"coverage_{b}"] <= TARGET[1] for b in AGE_BAND_LABELS)]
    save({"id": "interval-coverage-by-true-age", "topic": "mobilenetv2", "kind": "choice",
          "command": "python -m tools.record_intervals " + " ".join(
              argv if argv is not None else sys.argv[1:]),
          "question": "Can a q per bin of predicted age, fitted on validation, cover every band "
                      "of true age between 85% and 95%?",
          "chosen": ("measured only, the course keeps its own; within the target on the other "
                     "half: " + ("; ".join(within) if within else "none")),
          "split": "validation: fitted on a random half, checked on the other (test unseen)",
          "setting": (f"the run {args.run.name} ({config.get('model')}, "
                      + (f"trained with `{args.trained_with}`, " if args.trained_with else "")
                      + f"{config.get('epochs')} epochs, {config.get('tops', 1)} top(s), views "
                      f"{config.get('views')}, mirror {mirror}); 90% intervals; a bin with fewer "
                      f"than {MIN_BAND_FACES} validation faces takes the q of all; the target: "
                      f"every band of true age covered within {TARGET[0]:.0%} to {TARGET[1]:.0%}"),
          "rows": rows})


if __name__ == "__main__":
    main()
