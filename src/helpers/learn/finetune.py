"""What a little in-domain data buys: fine-tune a course model on FG-NET photos, recalibrate
its ages with a straight line, average the two (chapter 10's `age_line` and `recalibrated`,
chapter 5's `averaged`), each scored with people held out (grouped folds, scikit-learn's
GroupKFold); and `course finetune`'s run, which writes the average.

FG-NET has age labels only: the age head learns from them, and the gender head is held to the
base model's own answers on the same photos (so the shared layers cannot drift it silently).
Batch normalisation stays frozen (a few hundred photos are too few to re-estimate it).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from helpers.data import seed_everything
from helpers.learn.transfer import jitter
from helpers.photos.carryover import PhotoCrops, cut_photos
from helpers.photos.faces import prepare_crop
from helpers.scoring.evaluation import answers, input_shape
from helpers.scoring.grouped import person_bootstrap, person_folds
from helpers.taught import (
    age_head_loss,
    age_line,
    averaged,
    compile_model,
    recalibrated,
    renamed,
    training_view,
)

# What seed paper 003 reports on FG-NET, before and after training on it (its protocol is not
# described in enough detail to repeat; quoted for comparison, not reproduced).
SEED_003_FGNET_MAE = {"before": 12.85, "after": 6.61}

# 20 epochs at a constant rate, no reframings, the base model recalibrated and averaged with two
# fine-tuned copies: the records fgnet-finetune-* in helpers/results/choices.json.
EPOCHS = 20
LEARNING_RATE = 1e-4
BATCH_SIZE = 32
# Random reframings of each photo shown besides the photo and its mirror (transfer.jitter).
JITTERS = 0
# What `course finetune` writes: the base model recalibrated by a line fitted on the same photos,
# averaged with COPIES fine-tuned copies (seeds seed, seed + 1, ...).
COPIES = 2
METHOD = "mean of the recalibrated base model and of fine-tuned copies (seeds seed, seed + 1)"


def predict_crop(model_path: str | Path | None = None) -> str:
    """The crop `course predict --detect` cuts by default for a model: "aligned" where
    align.PREDICT_ALIGNS says alignment helped its kind of model, else the detector's "box"."""
    from helpers.learn.folder import RunFolder
    from helpers.photos.align import predict_crop_for

    kind = RunFolder.of(model_path).config().get("model") if model_path is not None else None
    return predict_crop_for(kind)


def training_crops(cut: PhotoCrops, crop: str = "box") -> list[np.ndarray | None]:
    """Each photo's crop of kind `crop` (what `course predict --detect` cuts), else its crop
    aligned by its own landmarks (a face the detector missed), else None."""
    fallback = cut.crops.get("landmarks", [None] * len(cut.photos))
    return [c if c is not None else f for c, f in zip(cut.crops[crop], fallback, strict=True)]


def to_batch(model: keras.Model, crops: list[np.ndarray]) -> np.ndarray:
    """Crops resized to the model's input, float32 0-255, as one array."""
    size, channels = input_shape(model)
    return np.stack([prepare_crop(c, size, channels) for c in crops]).astype(np.float32)


def _freeze_batch_norm(model: keras.Model) -> None:
    """Freeze every BatchNormalization layer (inference mode), nested models included."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
        elif isinstance(layer, keras.Model):
            _freeze_batch_norm(layer)


def _trunk_and_top(model: keras.Model) -> tuple[keras.Model, keras.Model] | None:
    """The frozen trunk and trainable top of a transfer model (helpers.learn.transfer; the top of
    chapter 6's `ensemble` averages several), else None."""
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    trunks = [m for m in inner if m.name.endswith("_trunk")]
    tops = [m for m in inner if m.name.endswith("_top")]
    if len(trunks) == 1 and len(tops) == 1 and not trunks[0].trainable_weights:
        return trunks[0], tops[0]
    return None


def finetune_model(model: keras.Model, images: np.ndarray, ages: np.ndarray,
                   epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE,
                   batch_size: int = BATCH_SIZE, seed: int = 0, verbose: int = 0,
                   jitters: int = JITTERS) -> keras.Model:
    """Fine-tune a course model in place on images (float32 0-255 at its input size) and ages,
    each image also mirrored and reframed `jitters` times; the gender head is held to the
    model's own first answers. A transfer model's frozen trunk runs once per view (its
    features are cached), as in chapter 6."""
    if len(images) != len(ages) or len(images) == 0:
        raise ValueError(f"{len(images)} images and {len(ages)} ages: need as many, at least 1")
    seed_everything(seed)
    views = [images, images[:, :, ::-1, :]]
    for k in range(jitters):
        reframe = jitter(seed + 10 * k)
        views.append(np.concatenate([np.asarray(reframe(images[i:i + 64], training=True))
                                     for i in range(0, len(images), 64)]))
    x = np.concatenate(views)
    y_age = np.tile(np.asarray(ages, np.float32), len(views))[:, None]
    _freeze_batch_norm(model)
    parts = _trunk_and_top(model)
    net = model
    if parts is not None:
        trunk, net = parts
        x = np.asarray(trunk.predict(x, batch_size=64, verbose=0))
    y_gender = np.asarray(net.predict(x, batch_size=64, verbose=0)["gender"], np.float32)
    trains = training_view(net)  # a distribution head trains on its probabilities (chapter 5)
    compile_model(trains, keras.optimizers.Adam(learning_rate), age_weight=1.0,
                  gender_weight=1.0, **age_head_loss(trains))
    trains.fit(x, {"age": y_age, "gender": y_gender}, epochs=epochs, batch_size=batch_size,
               shuffle=True, verbose=verbose)
    return model


def predict_ages(model: keras.Model, images: np.ndarray, mirror: bool = False) -> np.ndarray:
    """The model's age for each image (float32 0-255 at its input size), averaged with its
    mirror image's with `mirror`."""
    return np.concatenate([answers(model, images[i:i + 64], mirror)["age"]
                           for i in range(0, len(images), 64)])


def adapted(base: keras.Model, tuned: list[keras.Model], images: np.ndarray,
            ages: np.ndarray, mirror: bool = False) -> tuple[keras.Model, tuple[float, float]]:
    """What `course finetune` writes: the base model recalibrated by the line from its ages on
    the training images to the true ones, averaged with the fine-tuned copies; and the line."""
    line = age_line(predict_ages(base, images, mirror), ages)
    copies = [renamed(model, f"fine_tuned_{k}") for k, model in enumerate(tuned)]
    return averaged(recalibrated(base, *line), *copies), line


def tuned_copies(model_path: str | Path, images: np.ndarray, ages: np.ndarray, seed: int = 0,
                 copies: int | None = None, **options) -> list[keras.Model]:
    """`copies` (default COPIES) copies of the saved model, each fine-tuned on the images and
    ages with its own seed (seed, seed + 1, ...)."""
    from helpers.learn.folder import load_trained_model

    copies = COPIES if copies is None else copies
    if copies < 1:
        raise ValueError(f"copies={copies}: fine-tune at least one copy")
    return [finetune_model(load_trained_model(Path(model_path)), images, ages, seed=seed + k,
                           **options) for k in range(copies)]


def tuned_weights(model: keras.Model) -> int:
    """How many weights fine-tuning moves in a model: its trainable ones once its batch
    normalisation is frozen, as finetune_model freezes it (this freezes the model's too)."""
    _freeze_batch_norm(model)
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


AGE_GROUPS = {"under 10": (0, 10), "10-29": (10, 30), "30 or more": (30, 200)}


def grouped_cv(model_path: str | Path, cut: PhotoCrops, k: int = 5, crop: str | None = None,
               seed: int = 0, **options) -> pd.DataFrame:
    """k-fold cross-validation by person: for each fold, the base model is recalibrated and
    fine-tuned (COPIES copies) on the other folds' people, and scored on this fold's (on the
    crops `course predict --detect` cuts, unless `crop` names another, with the mirror
    averaging it uses for the model; photos where no face was found are not scored). Returns
    one row per photo: its fold, the age before, recalibrated, fine-tuned (the first copy
    alone), and after (the average of them all, what `course finetune` writes)."""
    from helpers.learn.calibration import prediction_settings
    from helpers.learn.folder import load_trained_model

    crop = crop or predict_crop(model_path)
    mirror = prediction_settings(model_path)[0]
    photos = cut.photos
    train_crops = training_crops(cut, crop)
    score_crops = cut.crops[crop]
    base = load_trained_model(Path(model_path))
    rows = []
    for fold, held_out in enumerate(person_folds(photos, k)):
        held = set(held_out.tolist())
        train_idx = [i for i in range(len(photos)) if i not in held and train_crops[i] is not None]
        test_idx = [i for i in sorted(held) if score_crops[i] is not None]
        images = to_batch(base, [train_crops[i] for i in train_idx])
        train_ages = photos["age"].to_numpy(float)[train_idx]
        tuned = tuned_copies(model_path, images, train_ages, seed, **options)
        both, _ = adapted(base, tuned, images, train_ages, mirror)
        test_images = to_batch(base, [score_crops[i] for i in test_idx]) if test_idx else None
        ages = {column: predict_ages(net, test_images, mirror) if test_idx else []
                for column, net in (("age_before", base), ("age_tuned", tuned[0]),
                                    ("age_recalibrated", both.get_layer("recalibrated")),
                                    ("age_after", both))}
        for i in sorted(held):
            row = {"file": photos.loc[i, "file"], "person": photos.loc[i, "person"],
                   "age": float(photos.loc[i, "age"]), "fold": fold,
                   "grayscale": bool(photos.loc[i, "grayscale"]),
                   **{column: np.nan for column in ages}}
            if i in test_idx:
                at = test_idx.index(i)
                row.update({column: float(values[at]) for column, values in ages.items()})
            rows.append(row)
        keras.backend.clear_session()
    out = pd.DataFrame(rows)
    for kind in ("before", "recalibrated", "tuned", "after"):
        out[f"error_{kind}"] = (out[f"age_{kind}"] - out["age"]).abs()
    return out


def cv_summary(cv: pd.DataFrame, n_boot: int = 1000) -> dict:
    """MAE on the held-out people before, recalibrated, fine-tuned once and after (the average
    `course finetune` writes), each with a person-level bootstrap 95% interval; the change
    after - before and the difference after - fine-tuned once, each with its own interval; and
    the four MAEs per group of AGE_GROUPS ("by_age")."""
    scored = cv[cv["age_after"].notna()].copy()
    out = {"photos": int(len(cv)), "scored": int(len(scored)),
           "people": int(cv["person"].nunique()), "folds": int(cv["fold"].nunique())}
    for kind in ("before", "recalibrated", "tuned", "after"):
        mae = person_bootstrap(scored, f"error_{kind}", n_boot=n_boot)
        out[f"mae_{kind}"] = round(mae["value"], 3)
        out[f"mae_{kind}_95ci"] = [round(mae["low"], 3), round(mae["high"], 3)]
    for key, other in (("change", "before"), ("versus_tuned", "tuned")):
        scored["gain"] = scored["error_after"] - scored[f"error_{other}"]
        gain = person_bootstrap(scored, "gain", n_boot=n_boot)
        out[key] = round(gain["value"], 3)
        out[f"{key}_95ci"] = [round(gain["low"], 3), round(gain["high"], 3)]
    out["by_age"] = {}
    for name, (low, high) in AGE_GROUPS.items():
        group = scored[scored["age"].between(low, high, "left")]
        if len(group):
            out["by_age"][name] = {"photos": int(len(group)), **{
                f"mae_{kind}": round(float(group[f"error_{kind}"].mean()), 3)
                for kind in ("before", "recalibrated", "tuned", "after")}}
    return out


def finetune_run(model_path: str | Path, data: str | Path, out: str | Path,
                 folds: int | None = None, crop: str | None = None, seed: int = 0,
                 epochs: int = EPOCHS, learning_rate: float = LEARNING_RATE,
                 jitters: int = JITTERS) -> dict:
    """`course finetune`: optionally report k-fold grouped cross-validation, then fine-tune
    COPIES copies of the model and fit its recalibration line (on crops cut as `course predict
    --detect` cuts them, unless `crop` says otherwise) on every usable photo of an FG-NET
    folder, and write their average as out/model.keras, out/config.json (the base run's config
    plus the fine-tuning's), and out/cv.csv."""
    import warnings

    from helpers.book import quiet_tensorflow
    from helpers.data.fgnet import scan_fgnet
    from helpers.learn.calibration import prediction_settings
    from helpers.learn.folder import load_trained_model

    quiet_tensorflow()  # retracing notices from one model per fold say nothing useful here
    crop = crop or predict_crop(model_path)
    out = Path(out)
    model_path = Path(model_path)
    base_dir = model_path if model_path.is_dir() else model_path.parent
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = scan_fgnet(data)
    for w in caught:
        print(f"Warning: {w.message}", flush=True)
    photos = report.usable
    start = time.perf_counter()
    print(f"Cutting the faces of {len(photos)} photos of {report.n_people} people "
          f"({crop} crops)...", flush=True)
    cut = cut_photos(photos, (crop, "landmarks"))
    options = {"epochs": epochs, "learning_rate": learning_rate, "jitters": jitters}
    record: dict = {}
    if folds:
        print(f"{folds}-fold cross-validation by person (GroupKFold)...", flush=True)
        cv = grouped_cv(model_path, cut, folds, crop, seed, **options)
        record["cv"] = cv_summary(cv)
        out.mkdir(parents=True, exist_ok=True)
        cv.to_csv(out / "cv.csv", index=False)
        s = record["cv"]
        print(f"  held-out people: MAE {s['mae_before']:.2f} years before, "
              f"{s['mae_recalibrated']:.2f} recalibrated, {s['mae_tuned']:.2f} fine-tuned, "
              f"{s['mae_after']:.2f} for their average (95% CI {s['mae_after_95ci'][0]:.2f}-"
              f"{s['mae_after_95ci'][1]:.2f}; {s['scored']} of {s['photos']} photos with a "
              f"face)", flush=True)
    base = load_trained_model(model_path)
    crops = training_crops(cut, crop)
    keep = [i for i, c in enumerate(crops) if c is not None]
    print(f"Fine-tuning {COPIES} copies on all {len(keep)} photos with a face or landmarks...",
          flush=True)
    images, ages = to_batch(base, [crops[i] for i in keep]), photos["age"].to_numpy(float)[keep]
    tuned = tuned_copies(model_path, images, ages, seed, **options)
    both, (slope, intercept) = adapted(base, tuned, images, ages,
                                       prediction_settings(model_path)[0])
    out.mkdir(parents=True, exist_ok=True)
    both.save(out / "model.keras")
    base_config = json.loads((base_dir / "config.json").read_text()) \
        if (base_dir / "config.json").exists() else {}
    config = {**base_config, "finished": True, "finetune": {
        "base_model": str(model_path), "data": "FG-NET", "photos": len(keep),
        "people": report.n_people, "crop": crop, "epochs": epochs,
        "learning_rate": learning_rate, "batch_size": BATCH_SIZE, "jitters": jitters,
        "seed": seed, "method": METHOD, "copies": COPIES,
        "tuned_weights": tuned_weights(load_trained_model(model_path)),
        "age_line": {"slope": round(slope, 4), "intercept": round(intercept, 3)},
        "seconds": round(time.perf_counter() - start, 1), **record}}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    if (base_dir / "splits.csv").exists():  # `--split test` still means UTKFace's test split
        (out / "splits.csv").write_text((base_dir / "splits.csv").read_text())
    print(f"Saved {out / 'model.keras'}", flush=True)
    return config
