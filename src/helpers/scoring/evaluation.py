"""Evaluation on a held-out split: predictions as a table, scikit-learn metrics for both heads,
errors by group, bootstrap confidence intervals and the worst mistakes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pandas as pd
from sklearn import metrics as skm

from helpers.data import age_band
from helpers.data.pipeline import make_dataset


def input_shape(model: keras.Model) -> tuple[int, int]:
    """The (image size, channels) a model expects."""
    shape = model.inputs[0].shape
    return int(shape[1]), int(shape[-1])


def answers(model: keras.Model, images, mirror: bool = False) -> dict[str, np.ndarray]:
    """A batch's "age", "gender" (and "age_sd", for a distribution head), one value per image;
    with `mirror`, each averaged with the answer for the mirror image."""
    outs = [model(images, training=False)]
    if mirror:
        outs.append(model(images[:, :, ::-1, :], training=False))
    return {head: np.mean([np.asarray(out[head])[:, 0] for out in outs], axis=0)
            for head in ("age", "gender", "age_sd") if head in outs[0]}


def predict_faces(model: keras.Model, faces: pd.DataFrame, batch_size: int = 128,
                  flip_average: bool = False) -> pd.DataFrame:
    """The faces table plus age_pred, p_female and gender_pred (female when p_female >= 0.5).
    flip_average also scores each mirrored face and averages the two predictions. A model with
    one head only leaves the other head's columns empty (NaN)."""
    if len(faces) == 0:
        raise ValueError("no faces to predict: the table is empty")
    size, channels = input_shape(model)
    ds = make_dataset(faces, size, channels, batch_size=batch_size, cache=False)
    columns: dict[str, list[np.ndarray]] = {"age": [], "gender": [], "age_sd": []}
    for x, _ in ds:
        heads = answers(model, x, mirror=flip_average)
        for head, values in columns.items():
            values.append(heads.get(head, np.full(int(x.shape[0]), np.nan)))
    out = faces.reset_index(drop=True).copy()
    out["age_pred"] = np.concatenate(columns["age"]).astype(float)
    out["p_female"] = np.concatenate(columns["gender"]).astype(float)
    out["gender_pred"] = (out["p_female"] >= 0.5).astype(int).where(out["p_female"].notna())
    out["age_error"] = out["age_pred"] - out["age"]
    spread = np.concatenate(columns["age_sd"]).astype(float)
    if not np.isnan(spread).all():  # a distribution head says how spread out its belief is
        out["age_sd"] = spread
    return out


def age_spread(predictions: pd.DataFrame) -> np.ndarray:
    """The spread that scales each face's interval: the age distribution's standard deviation
    (chapter 5's distribution head), else 1 year for every face (a regression head)."""
    if "age_sd" in predictions:
        return predictions["age_sd"].to_numpy(float)
    return np.ones(len(predictions))


def with_age_interval(predictions: pd.DataFrame, q: float | dict[str, float]) -> pd.DataFrame:
    """The predictions plus age_low and age_high: chapter 8's conformal interval, age +- q x
    spread (q one number, or one per band of predicted age), and whether it holds the true age
    (age_covered)."""
    from helpers.taught import age_interval, scale_of

    out = predictions.copy()
    out["age_low"], out["age_high"] = age_interval(out["age_pred"], age_spread(out),
                                                   scale_of(q, out["age_pred"]))
    out["age_covered"] = out["age"].between(out["age_low"], out["age_high"])
    return out


def interval_coverage(predictions: pd.DataFrame, column: str | None = None) -> pd.DataFrame | dict:
    """The share of faces whose true age lies in their interval and the mean width in years,
    over all faces (a dict) or per group of a column (a table, age bands in order of age)."""
    frame = predictions.assign(width=predictions["age_high"] - predictions["age_low"])
    if column is None:
        return {"faces": len(frame), "coverage": float(frame["age_covered"].mean()),
                "mean_width": float(frame["width"].mean())}
    if column == "age_band":
        frame["age_band"] = age_band(frame["age"]).array
    return (frame.groupby(column, observed=True)
            .agg(faces=("age_covered", "size"), coverage=("age_covered", "mean"),
                 mean_width=("width", "mean")))


def gender_scores(y_true, p_female, threshold: float = 0.5) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the gender head (female = positive class)."""
    y_true = np.asarray(y_true).astype(int)
    y_pred = (np.asarray(p_female) >= threshold).astype(int)
    return {"gender_accuracy": float(skm.accuracy_score(y_true, y_pred)),
            "gender_precision": float(skm.precision_score(y_true, y_pred, zero_division=0)),
            "gender_recall": float(skm.recall_score(y_true, y_pred, zero_division=0)),
            "gender_f1": float(skm.f1_score(y_true, y_pred, zero_division=0))}


def best_threshold(y_true, p_female) -> dict[str, float]:
    """The decision threshold on p_female that maximises F1 (choose it on the validation split,
    then apply it once to the test split), with the F1 it reaches there."""
    precision, recall, thresholds = skm.precision_recall_curve(np.asarray(y_true).astype(int),
                                                               np.asarray(p_female))
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))  # the last point has no threshold
    return {"threshold": float(thresholds[best]), "f1": float(f1[best])}


def age_scores(y_true, y_pred) -> dict[str, float]:
    """MAE, RMSE and R² of the age head, in years."""
    return {"age_mae": float(skm.mean_absolute_error(y_true, y_pred)),
            "age_rmse": float(np.sqrt(skm.mean_squared_error(y_true, y_pred))),
            "age_r2": float(skm.r2_score(y_true, y_pred))}


def score(predictions: pd.DataFrame, threshold: float = 0.5) -> dict[str, float]:
    """Every metric of both heads for a predictions table (from predict_faces), with n."""
    return {"n": len(predictions),
            **gender_scores(predictions["gender"], predictions["p_female"], threshold),
            **age_scores(predictions["age"], predictions["age_pred"])}


def confusion(predictions: pd.DataFrame) -> pd.DataFrame:
    """The gender confusion matrix as a labelled table (true in rows, predicted in columns)."""
    names = ["male", "female"]
    matrix = skm.confusion_matrix(predictions["gender"], predictions["gender_pred"], labels=[0, 1])
    return pd.DataFrame(matrix, index=pd.Index(names, name="true"),
                        columns=pd.Index(names, name="predicted"))


def errors_by(predictions: pd.DataFrame, column: str = "age_band") -> pd.DataFrame:
    """Faces, age MAE, mean signed age error and gender accuracy for each group of a column
    (age bands in the order of age, not of their names)."""
    frame = predictions.copy()
    if column == "age_band":
        frame["age_band"] = age_band(frame["age"]).array  # an ordered categorical
    frame["abs_error"] = frame["age_error"].abs()
    frame["correct"] = frame["gender"] == frame["gender_pred"]
    return frame.groupby(column, observed=True).agg(
        faces=("file", "size"), age_mae=("abs_error", "mean"), age_bias=("age_error", "mean"),
        gender_accuracy=("correct", "mean"))


def face_values(predictions: pd.DataFrame, metric: str) -> np.ndarray:
    """One value per face whose mean is the metric: 1/0 for a right gender, the absolute age
    error for the age MAE."""
    if metric == "gender_accuracy":
        return (predictions["gender_pred"] == predictions["gender"]).to_numpy(float)
    if metric == "age_mae":
        return predictions["age_error"].abs().to_numpy(float)
    raise ValueError(f"metric {metric!r}: gender_accuracy or age_mae")


METRICS: dict[str, Callable[[pd.DataFrame], float]] = {
    metric: (lambda f, metric=metric: float(face_values(f, metric).mean()))
    for metric in ("gender_accuracy", "age_mae")}


def bootstrap(predictions: pd.DataFrame, metric: str = "gender_accuracy", n_boot: int = 1000,
              level: float = 0.95, seed: int = 0) -> dict[str, float]:
    """A percentile bootstrap confidence interval: resample the faces with replacement."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: choose one of {', '.join(METRICS)}")
    fn, rng = METRICS[metric], np.random.default_rng(seed)
    n = len(predictions)
    values = [fn(predictions.iloc[rng.integers(0, n, n)]) for _ in range(n_boot)]
    low, high = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return {"metric": metric, "n": n, "value": fn(predictions), "low": float(low),
            "high": float(high)}


def group_scores(predictions: pd.DataFrame, column: str, n_boot: int = 500,
                 seed: int = 0) -> pd.DataFrame:
    """Gender accuracy and age MAE for each group of a column ('race', 'gender', 'age_band'),
    each with a percentile bootstrap 95% interval over that group's faces."""
    frame = predictions.copy()
    if column == "age_band" and column not in frame:
        frame["age_band"] = age_band(frame["age"]).array  # categorical: groups stay in order
    rows = []
    for group, part in frame.groupby(column, observed=True):
        row = {column: group, "faces": len(part)}
        for metric in ("gender_accuracy", "age_mae"):
            ci = bootstrap(part, metric, n_boot=n_boot, seed=seed)
            row.update({metric: ci["value"], f"{metric}_low": ci["low"],
                        f"{metric}_high": ci["high"]})
        rows.append(row)
    return pd.DataFrame(rows).set_index(column)


def interval_scores(predictions: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict:
    """Gender accuracy and age MAE with bootstrap 95% intervals (`metric`, `metric_low`,
    `metric_high`), for the heads a model has (NaN for a head it lacks)."""
    row: dict[str, float] = {"faces": len(predictions)}
    for metric, column in (("gender_accuracy", "p_female"), ("age_mae", "age_pred")):
        if predictions[column].notna().all():
            ci = bootstrap(predictions, metric, n_boot=n_boot, seed=seed)
            row.update({metric: ci["value"], f"{metric}_low": ci["low"],
                        f"{metric}_high": ci["high"]})
        else:
            row.update({metric: np.nan, f"{metric}_low": np.nan, f"{metric}_high": np.nan})
    return row


def worst_mistakes(predictions: pd.DataFrame, k: int = 8, head: str = "age") -> pd.DataFrame:
    """The k faces with the largest age error, or the k most confident wrong genders."""
    if head == "age":
        order = predictions["age_error"].abs().sort_values(ascending=False).index
    elif head == "gender":
        wrong = predictions[predictions["gender"] != predictions["gender_pred"]]
        order = (wrong["p_female"] - 0.5).abs().sort_values(ascending=False).index
    else:
        raise ValueError(f"head {head!r}: choose 'age' or 'gender'")
    return predictions.loc[order[:k]]


def small_sample_spread(predictions: pd.DataFrame, k: int = 7, n_draws: int = 1000,
                        metric: str = "gender_accuracy", seed: int = 0) -> np.ndarray:
    """The metric on n_draws random sets of k test faces: how much a k-image score can vary."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r}: choose one of {', '.join(METRICS)}")
    rng = np.random.default_rng(seed)
    n = len(predictions)
    if k > n:
        raise ValueError(f"cannot draw {k} faces out of {n}")
    return np.array([METRICS[metric](predictions.iloc[rng.choice(n, k, replace=False)])
                     for _ in range(n_draws)])


def baseline_scores(faces: pd.DataFrame, split: str = "test") -> dict[str, float]:
    """The scores of guessing without looking: the training split's majority gender and median
    age, for every face of `split` (a model has to beat these)."""
    train, target = faces[faces["split"] == "train"], faces[faces["split"] == split]
    majority = int(train["gender"].mode().iloc[0])
    median_age = float(train["age"].median())
    return {"majority_gender": majority, "median_age": median_age,
            "gender_accuracy": float((target["gender"] == majority).mean()),
            "age_mae": float((target["age"] - median_age).abs().mean())}


def recorded_runs(models: list[str] | None = None) -> pd.DataFrame:
    """The course's recorded real runs (helpers/results/*.json, written from `course train` and
    `course evaluate --split test --record FILE`), one row per run, optionally only those of
    the named models (a transfer run's views and tops, another run's networks averaged,
    `members`); empty when none is recorded."""
    import json
    from importlib import resources

    rows = []
    for item in sorted(resources.files("helpers").joinpath("results").iterdir(),
                       key=lambda p: p.name):
        if item.name.endswith(".json"):
            record = json.loads(item.read_text())
            if "summary" in record and (models is None or record["summary"]["model"] in models):
                config = record.get("config", {})
                views = config.get("views")  # a transfer run's cached views, and its tops
                rows.append({"run": item.name.removesuffix(".json"), **record["summary"],
                             "augment": _augmentation_of(record["summary"]["model"], config),
                             "views": ",".join(views) if views else None,
                             "tops": config.get("tops", 1) if views else None,
                             "members": None if views else config.get("members", 1)})
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


def _augmentation_of(model: str, config: dict) -> str | None:
    """The augmentation layers a recorded run trained with: its builder's `augment` option
    (chapter 5's 'flip' or 'full'), None for a model without one."""
    import inspect

    from helpers.learn.models import MODELS

    build = MODELS[model].build if model in MODELS else None
    parameter = inspect.signature(build).parameters.get("augment") if build else None
    if parameter is None:
        return None
    return config.get("options", {}).get("augment", parameter.default)


def recorded_file(name: str) -> dict | None:
    """One recorded JSON file of helpers/results (None when the course has not recorded it)."""
    import json
    from importlib import resources

    item = resources.files("helpers").joinpath("results", name)
    return json.loads(item.read_text()) if item.is_file() else None


def recorded_groups(record: dict, column: str) -> pd.DataFrame:
    """A recorded run's per-group scores ('race', 'gender' or 'age_band'), groups named."""
    from helpers.data import GENDERS, RACES

    key = f"groups_{column}"
    if key not in record:
        raise KeyError(f"this record has no {key}: re-record it with course evaluate --record")
    table = pd.DataFrame(record[key])
    names = {"race": RACES, "gender": GENDERS}.get(column)
    if names:
        table[column] = table[column].map(lambda v: names.get(int(float(v)), str(v)))
    return table.set_index(column)


def record_run(model_path: str | Path, predictions: pd.DataFrame, out: str | Path,
               split: str | None = "test") -> dict:
    """Write a run's config and its scores (with bootstrap 95% intervals) as one JSON record."""
    import json

    from helpers.learn.folder import RunFolder

    config = RunFolder.of(model_path).config()
    if not config:
        raise FileNotFoundError(f"--record needs the run's config.json beside {model_path}")
    scores = score(predictions)
    acc = bootstrap(predictions, "gender_accuracy")
    mae = bootstrap(predictions, "age_mae")
    summary = {"model": config["model"], "preset": config["preset"]["name"],
               "image_size": config["image_size"], "channels": config["channels"],
               "params": config["params"], "epochs": config.get("epochs_run"),
               "seconds_per_epoch": config.get("seconds_per_epoch"),
               "seconds_total": config.get("seconds_this_session"),
               "train_faces": config["n_train"], "scored_on": split or "all faces",
               "scored_faces": scores["n"],
               "gender_accuracy": round(scores["gender_accuracy"], 4),
               "gender_accuracy_95ci": [round(acc["low"], 4), round(acc["high"], 4)],
               "gender_f1": round(scores["gender_f1"], 4),
               "age_mae": round(scores["age_mae"], 3),
               "age_mae_95ci": [round(mae["low"], 3), round(mae["high"], 3)],
               "age_rmse": round(scores["age_rmse"], 3),
               "gender_ece": round(expected_calibration_error(predictions), 4),
               "age_head": config.get("options", {}).get("age_head", "regression"),
               "test_time_mirror": bool(config.get("test_time_mirror", False))}
    if "age_covered" in predictions:  # the run's 90% intervals (course evaluate adds them)
        coverage = interval_coverage(predictions)
        summary.update(age_interval_coverage=round(coverage["coverage"], 4),
                       age_interval_mean_width=round(coverage["mean_width"], 2))
    import os

    config = {**config, "data": Path(config["data"]).name}  # no local paths in the record
    summary["cpu_cores"] = os.cpu_count()
    record = {"summary": summary, "scores": scores, "config": config,
              "by_age_band": errors_by(predictions).reset_index().astype({"age_band": str})
              .to_dict(orient="records")}
    for column in ("race", "gender", "age_band"):  # for the fairness chapter and model card
        if column in predictions or column == "age_band":
            table = group_scores(predictions, column).reset_index()
            record[f"groups_{column}"] = table.astype({column: str}).round(4).to_dict(
                orient="records")
    if "age_covered" in predictions:
        for column in ("age_band", "gender"):
            table = interval_coverage(predictions, column).reset_index()
            record[f"interval_coverage_{column}"] = table.astype({column: str}).round(4).to_dict(
                orient="records")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(record, indent=2) + "\n")
    return record


def with_training_share(table: pd.DataFrame, train: pd.DataFrame, column: str) -> pd.DataFrame:
    """A group_scores table plus each group's number and share of the training faces."""
    frame = train.copy()
    if column == "age_band" and column not in frame:
        frame["age_band"] = age_band(frame["age"]).array
    counts = frame.groupby(column, observed=True).size()
    out = table.copy()
    out.insert(0, "train_faces", [int(counts.get(g, 0)) for g in out.index])
    out.insert(1, "train_share", out["train_faces"] / len(frame))
    return out


def largest_gap(table: pd.DataFrame, metric: str = "gender_accuracy",
                predictions: pd.DataFrame | None = None, n_boot: int = 1000,
                seed: int = 0) -> dict:
    """The best and worst group of a group_scores table for one metric and the gap between them;
    with the predictions the table was made from, the gap's 95% interval (chapter 8's
    gap_interval: the groups are different faces, each resampled on its own; positive: the best
    group is better). An interval that holds 0: this test split cannot tell the gap from chance."""
    higher_is_better = metric != "age_mae"
    values = table[metric]
    best = values.idxmax() if higher_is_better else values.idxmin()
    worst = values.idxmin() if higher_is_better else values.idxmax()
    out = {"metric": metric, "best": best, "worst": worst, "best_value": float(values[best]),
           "worst_value": float(values[worst]), "gap": float(abs(values[best] - values[worst]))}
    if predictions is not None:
        column = table.index.name
        frame = predictions
        if column == "age_band" and column not in frame:
            frame = frame.assign(age_band=age_band(frame["age"]).array)
        from helpers.taught import gap_interval

        values = {name: face_values(frame[frame[column] == name], metric) for name in (best, worst)}
        better, other = (best, worst) if higher_is_better else (worst, best)
        low, high = gap_interval(values[better], values[other], n_boot=n_boot, seed=seed)
        out.update(gap_low=low, gap_high=high)
    return out


def calibration_table(predictions: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """The gender probability's reliability: for faces binned by their predicted probability of
    'female', the mean prediction, the share really labelled female, and the count."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(predictions["p_female"], edges[1:-1]), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": predictions["p_female"].to_numpy(),
                          "female": predictions["gender"].to_numpy()})
    table = frame.groupby("bin").agg(faces=("p", "size"), mean_predicted=("p", "mean"),
                                     share_female=("female", "mean"))
    table.insert(0, "range", [f"{edges[b]:.1f}-{edges[b + 1]:.1f}" for b in table.index])
    return table.reset_index(drop=True)


def expected_calibration_error(predictions: pd.DataFrame, bins: int = 10) -> float:
    """ECE: the gap between predicted probability and observed share, averaged over the bins of
    calibration_table weighted by their number of faces (0 = perfectly calibrated)."""
    table = calibration_table(predictions, bins)
    gaps = (table["mean_predicted"] - table["share_female"]).abs()
    return float((gaps * table["faces"]).sum() / table["faces"].sum())
