"""Training the way every chapter does: `fit` (model.fit with chapter 5's callbacks, its history
kept across an interrupted run), the named models at a preset, and the comparison runs of
chapters 5 and 6. The callbacks, optimizers and losses are the chapters' own (helpers.taught)."""

from __future__ import annotations

import math
from pathlib import Path

import keras
import pandas as pd

from helpers.config import Preset
from helpers.data import seed_everything
from helpers.data.pipeline import make_dataset
from helpers.learn.history import history_table, sync_history_with_backup
from helpers.learn.models import ModelSpec, count_params, input_size
from helpers.taught import (
    OPTIMIZERS,
    age_head_loss,
    compile_model,
    learning_rate,
    make_callbacks,
    training_view,
)


def fit(model: keras.Model, train_ds, val_ds, epochs: int, run_dir: str | Path | None = None,
        schedule: str = "plateau", patience: int = 5, verbose: int | str = "auto",
        callbacks: list[keras.callbacks.Callback] | None = None) -> pd.DataFrame:
    """model.fit with the course's callbacks (plus any given); returns the history as a
    DataFrame, one row per epoch (with a run folder: the whole run, across resumes)."""
    if run_dir is not None:
        sync_history_with_backup(run_dir)
    history = model.fit(train_ds, validation_data=val_ds, epochs=epochs, verbose=verbose,
                        shuffle=False,  # the dataset shuffles itself (seeded)
                        callbacks=make_callbacks(run_dir, schedule, patience) + (callbacks or []))
    frame = history_table(history)
    if run_dir is not None and (Path(run_dir) / "history.csv").exists():
        frame = pd.read_csv(Path(run_dir) / "history.csv")  # the whole run, across resumes
        frame["epoch"] = frame["epoch"] + 1
    return frame


def build_model(spec: ModelSpec, preset: Preset, seed: int = 0, **overrides) -> keras.Model:
    """Build a named model at the preset's image size (the seeds' network stays grayscale)."""
    channels = spec.channels or preset.channels
    kwargs = {"image_size": input_size(spec, preset), "channels": channels, **spec.options,
              **overrides}
    if spec.build.__name__ == "scratch_cnn":
        kwargs.setdefault("seed", seed)
    return spec.build(**kwargs)


def datasets_for(faces: pd.DataFrame, image_size: int, channels: int, batch_size: int,
                 seed: int = 0) -> tuple:
    """The shuffled training dataset and the validation dataset of a split manifest."""
    train = faces[faces["split"] == "train"]
    val = faces[faces["split"] == "val"]
    train_ds = make_dataset(train, image_size, channels, batch_size, shuffle=True, seed=seed)
    val_ds = make_dataset(val, image_size, channels, batch_size)
    return train_ds, val_ds




def run_experiment(name: str, model: keras.Model, faces: pd.DataFrame, preset: Preset,
                   epochs: int | None = None, optimizer: str = "adam", lr: float = 1e-3,
                   schedule: str = "cosine", age_weight: float = 0.1, gender_weight: float = 1.0,
                   seed: int = 0, split: str = "val") -> tuple[dict, pd.DataFrame]:
    """Compile, train and score one variant the same way as every other (for the comparison
    tables): returns its row (parameters, seconds per epoch, scores on `split`) and history."""
    from helpers.scoring.evaluation import input_shape

    seed_everything(seed)
    epochs = epochs or preset.epochs
    size, channels = input_shape(model)
    train_ds, val_ds = datasets_for(faces, size, channels, preset.batch_size, seed)
    steps = math.ceil(int((faces["split"] == "train").sum()) / preset.batch_size)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
    trains = training_view(model)  # the same layers (a distribution head trains on its probs)
    compile_model(trains, OPTIMIZERS[optimizer](learning_rate(schedule, lr, epochs, steps)),
                  age_weight=age_weight, gender_weight=gender_weight, **age_head_loss(trains))
    history = fit(trains, train_ds, val_ds, epochs, schedule=schedule,
                  patience=epochs if schedule == "cosine" else 5, verbose=0)
    return experiment_row(name, model, history, faces, split), history


def experiment_row(name: str, model: keras.Model, history: pd.DataFrame, faces: pd.DataFrame,
                   split: str = "val") -> dict:
    """The comparison-table row of a model trained outside run_experiment (same columns)."""
    from helpers.scoring.evaluation import predict_faces, score

    scores = score(predict_faces(model, faces[faces["split"] == split]))
    seconds = history["seconds"].mean() if "seconds" in history else float("nan")
    return {"model": name, **count_params(model), "seconds_per_epoch": seconds,
            "epochs": len(history), f"{split}_gender_accuracy": scores["gender_accuracy"],
            f"{split}_gender_f1": scores["gender_f1"], f"{split}_age_mae": scores["age_mae"]}
