"""Studies on frozen features: how the test error falls with more training faces (several
seeds per size), and age as classes against age as a number.

Both use the same cheap model: a frozen ImageNet backbone turns every face into one feature
vector once (global average pooling of its last block), and small Keras heads are trained on
those vectors. Dozens of trainings then take minutes on a CPU, which is what a study with
several training-set sizes x several seeds needs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn import metrics as skm

from helpers.data import AGE_BAND_LABELS, age_band, seed_everything
from helpers.data.pipeline import make_dataset
from helpers.learn.weights import resolve_weights
from helpers.taught import BACKBONES, compile_head, head_model, learning_rate, preprocess_layer


def embedder(backbone: str = "mobilenetv2", image_size: int = 128,
             weights: str | None = "imagenet") -> tuple[keras.Model, str]:
    """A frozen backbone with global average pooling (image 0-255 -> one vector), and a
    sentence saying whether its weights are pretrained."""
    import warnings

    weights, note = resolve_weights(backbone, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = BACKBONES[backbone].application(input_shape=(image_size, image_size, 3),
                                               include_top=False, weights=weights,
                                               pooling="avg")
    base.trainable = False
    image = keras.Input((image_size, image_size, 3), name="image")
    return keras.Model(image, base(preprocess_layer(backbone)(image), training=False)), note


def embed_faces(model: keras.Model, faces: pd.DataFrame, batch_size: int = 128) -> np.ndarray:
    """One feature vector per face, in the order of the table."""
    size = int(model.inputs[0].shape[1])
    ds = make_dataset(faces, size, 3, batch_size=batch_size, cache=False)
    return np.concatenate([model(x, training=False).numpy() for x, _ in ds])


def labels_for(faces: pd.DataFrame, age_head: str = "regression") -> dict[str, np.ndarray]:
    """The targets of head_model: age in years or the age group's index, and gender."""
    gender = faces["gender"].to_numpy("float32")
    if age_head == "classes":
        return {"age_band": age_band(faces["age"]).cat.codes.to_numpy("int32"), "gender": gender}
    return {"age": faces["age"].to_numpy("float32"), "gender": gender}


def train_head(features: np.ndarray, faces: pd.DataFrame, age_head: str = "regression",
               epochs: int = 20, batch_size: int = 64, seed: int = 0,
               val: tuple[np.ndarray, pd.DataFrame] | None = None) -> keras.Model:
    """Train head_model on feature vectors (Adam, cosine-decayed rate; with `val`, the best
    epoch on the validation faces is kept)."""
    seed_everything(seed)
    model = head_model(features.shape[1], age_head)
    steps = int(np.ceil(len(features) / batch_size))
    compile_head(model, learning_rate("cosine", 1e-3, epochs, steps))
    callbacks = []
    validation = None
    if val is not None:
        validation = (val[0], labels_for(val[1], age_head))
        callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=epochs,
                                                   restore_best_weights=True)]
    model.fit(features, labels_for(faces, age_head), batch_size=batch_size, epochs=epochs,
              validation_data=validation, callbacks=callbacks, verbose=0)
    return model


def predict_heads(model: keras.Model, features: np.ndarray, faces: pd.DataFrame) -> pd.DataFrame:
    """The faces table plus the heads' predictions (age_pred or band_pred, p_female, ...)."""
    out = {k: v.numpy() for k, v in model(features, training=False).items()}
    frame = faces.reset_index(drop=True).copy()
    frame["p_female"] = out["gender"][:, 0].astype(float)
    frame["gender_pred"] = (frame["p_female"] >= 0.5).astype(int)
    frame["band"] = age_band(frame["age"]).cat.codes.to_numpy()
    if "age" in out:
        frame["age_pred"] = out["age"][:, 0].astype(float)
        frame["age_error"] = frame["age_pred"] - frame["age"]
        frame["band_pred"] = age_band(frame["age_pred"].clip(lower=0)).cat.codes.to_numpy()
    else:
        frame["band_pred"] = out["age_band"].argmax(axis=1)
    return frame


def band_scores(predictions: pd.DataFrame) -> dict[str, float]:
    """Exact and one-off accuracy of the age groups (one-off: the right group or a neighbour)."""
    gap = (predictions["band_pred"] - predictions["band"]).abs()
    return {"band_exact_accuracy": float((gap == 0).mean()),
            "band_one_off_accuracy": float((gap <= 1).mean())}


def band_confusion(predictions: pd.DataFrame) -> pd.DataFrame:
    """The age-group confusion matrix, each row as shares of its true group."""
    k = len(AGE_BAND_LABELS)
    matrix = skm.confusion_matrix(predictions["band"], predictions["band_pred"],
                                  labels=list(range(k)), normalize="true")
    return pd.DataFrame(matrix, index=pd.Index(AGE_BAND_LABELS, name="true group"),
                        columns=pd.Index(AGE_BAND_LABELS, name="predicted group"))


def size_study(features: np.ndarray, faces: pd.DataFrame, sizes: list[int | None],
               seeds: list[int], epochs: int = 20, batch_size: int = 64) -> pd.DataFrame:
    """Train the heads on growing random subsets of the training faces (None = all of them),
    once per seed, and score each on the same test faces: one row per (size, seed)."""
    is_train = (faces["split"] == "train").to_numpy()
    is_val = (faces["split"] == "val").to_numpy()
    is_test = (faces["split"] == "test").to_numpy()
    train_idx = np.flatnonzero(is_train)
    val = (features[is_val], faces[is_val])
    rows = []
    for size in sizes:
        n = len(train_idx) if size is None or size >= len(train_idx) else int(size)
        for seed in seeds:
            chosen = np.sort(np.random.default_rng(seed).choice(train_idx, n, replace=False))
            start = time.perf_counter()
            model = train_head(features[chosen], faces.iloc[chosen], epochs=epochs,
                               batch_size=batch_size, seed=seed, val=val)
            pred = predict_heads(model, features[is_test], faces[is_test])
            rows.append({"train_faces": n, "seed": seed,
                         "test_age_mae": float(pred["age_error"].abs().mean()),
                         "test_gender_accuracy": float((pred["gender"]
                                                        == pred["gender_pred"]).mean()),
                         "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def summarize_study(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean, median, standard deviation, min and max of each score per training-set size."""
    return rows.groupby("train_faces")[["test_age_mae", "test_gender_accuracy"]].agg(
        ["mean", "median", "std", "min", "max", "count"])


STUDY_SIZES = [1000, 2500, 5000, 10000, None]


def study_sizes(n_train: int) -> list[int | None]:
    """The training-set sizes to try: those of STUDY_SIZES below n_train and all of them; for a
    small dataset (the smoke preset), an eighth, a quarter, a half and all of it."""
    sizes = [s for s in STUDY_SIZES if s is not None and s < n_train]
    if len(sizes) < 3:
        return [max(8, n_train // 8), max(16, n_train // 4), max(32, n_train // 2), None]
    return [*sizes, None]


def per_doubling(rows: pd.DataFrame, key: str = "test_age_mae") -> dict[str, float]:
    """A straight line through the mean score against log2(training faces): its slope is the
    change per doubling of the data; `next` extrapolates one doubling beyond the largest size;
    `last_per_doubling` is the change per doubling between the two largest sizes alone (where a
    curve that flattens shows it)."""
    means = rows.groupby("train_faces")[key].mean().sort_index()
    sizes = means.index.to_numpy(float)
    slope, intercept = np.polyfit(np.log2(sizes), means.to_numpy(), 1)
    largest = float(sizes[-1])
    last = (float((means.iloc[-1] - means.iloc[-2]) / np.log2(sizes[-1] / sizes[-2]))
            if len(means) > 1 else float("nan"))
    return {"per_doubling": float(slope), "largest": largest,
            "at_largest": float(means.iloc[-1]),
            "next": float(intercept + slope * np.log2(2 * largest)),
            "last_per_doubling": last, "second_largest": float(sizes[-2]) if len(sizes) > 1
            else float("nan")}


def mae_by_band_and_gender(predictions: pd.DataFrame) -> pd.DataFrame:
    """Age MAE of a regression model per age group (rows) and gender (columns), with faces."""
    frame = predictions.assign(abs_error=predictions["age_error"].abs(),
                               group=age_band(predictions["age"]).to_numpy(),
                               sex=predictions["gender"].map({0: "male", 1: "female"}))
    table = frame.pivot_table(index="group", columns="sex", values="abs_error", aggfunc="mean",
                              observed=True)
    table["all"] = frame.groupby("group", observed=True)["abs_error"].mean()
    table["faces"] = frame.groupby("group", observed=True).size()
    return table


def run_study(data: str | Path, preset_name: str | None, out: str | Path,
              seeds: tuple[int, ...] = (0, 1, 2)) -> dict:
    """The whole study on a UTKFace folder, written as JSON (what `course study` runs)."""
    import warnings

    from helpers.config import get_preset
    from helpers.data import scan_folder, split_faces

    preset = get_preset(preset_name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = scan_folder(data)
    faces = split_faces(report.manifest, seed=0, max_faces=preset.max_faces)
    start = time.perf_counter()
    model, note = embedder("mobilenetv2", preset.transfer_size)
    features = embed_faces(model, faces)
    embed_seconds = time.perf_counter() - start
    n_train = int((faces["split"] == "train").sum())
    rows = size_study(features, faces, study_sizes(n_train), list(seeds), epochs=preset.epochs,
                      batch_size=preset.batch_size)
    record = {"command": f"course study --data DIR --preset {preset.name} --out FILE",
              "preset": preset.name, "image_size": preset.transfer_size, "weights": note,
              "faces": len(faces), "test_faces": int((faces["split"] == "test").sum()),
              "embed_seconds": round(embed_seconds, 1), "epochs": preset.epochs,
              "rows": rows.round(5).to_dict(orient="records")}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(record, indent=2) + "\n")
    return record
