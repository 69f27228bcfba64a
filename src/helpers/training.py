"""Training: Keras callbacks for a run that can be interrupted and resumed, and `train_run`,
which the command line and the chapters share (data -> split -> model -> fit -> model.keras)."""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
import warnings
from pathlib import Path

import keras
import pandas as pd

from .config import Preset, get_preset
from .data import DataNotFoundError, scan_folder, seed_everything, split_faces
from .models import ModelSpec, compile_model, count_params, get_model_spec
from .pipeline import make_dataset


class EpochTimer(keras.callbacks.Callback):
    """Adds the epoch's wall-clock seconds to the logs (so CSVLogger and History record it)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Start the clock."""
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Record the seconds this epoch took."""
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self._start


def learning_rate(schedule: str, base: float, epochs: int,
                  steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """A constant rate for 'plateau' (ReduceLROnPlateau lowers it), a cosine decay for 'cosine'."""
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(base, decay_steps=epochs * steps_per_epoch,
                                                      alpha=0.01)
    if schedule == "plateau":
        return base
    raise ValueError(f"schedule {schedule!r}: choose 'cosine' or 'plateau'")


def best_so_far(history_csv: Path, monitor: str = "val_loss") -> float | None:
    """The best monitored value of an interrupted run's history (None for a fresh run)."""
    if not history_csv.exists():
        return None
    try:
        history = pd.read_csv(history_csv)
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return None
    return float(history[monitor].min()) if monitor in history and len(history) else None


def make_callbacks(run_dir: str | Path | None = None, schedule: str = "plateau",
                   patience: int = 5, monitor: str = "val_loss") -> list[keras.callbacks.Callback]:
    """For constant rates ('plateau'): a learning-rate plateau rule and early stopping with the
    best weights restored; with a run folder, also: a checkpoint of the best model, the history
    as CSV and a backup that lets an interrupted run resume where it stopped."""
    callbacks: list[keras.callbacks.Callback] = [EpochTimer()]
    if schedule == "plateau":
        callbacks.append(keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                                           patience=max(1, patience // 2),
                                                           min_lr=1e-5))
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                                       restore_best_weights=True))
    # A cosine schedule runs its whole budget and keeps the last weights: its rate ends near
    # zero, so the last epoch is the settled one. (val_loss is no guide to pick an epoch there:
    # the gender cross-entropy rises as the network grows confident, while accuracy holds and
    # the age error still falls.)
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        callbacks += [
            keras.callbacks.ModelCheckpoint(
                run_dir / "best.keras", monitor=monitor, save_best_only=True,
                initial_value_threshold=best_so_far(run_dir / "history.csv", monitor)),
            keras.callbacks.CSVLogger(run_dir / "history.csv", append=True),
            # After the CSV row, so a kill in between leaves one row too many, which
            # sync_history_with_backup removes; double_checkpoint keeps the previous backup for
            # a kill in the middle of writing the weights.
            keras.callbacks.BackupAndRestore(run_dir / "backup", double_checkpoint=True),
        ]
    return callbacks


def sync_history_with_backup(run_dir: str | Path) -> int:
    """Before resuming: drop history rows of epochs the backup does not hold (a run killed
    between writing the history and the backup); returns the epoch the run resumes at."""
    backup = Path(run_dir) / "backup"
    meta = backup / "training_metadata.json"
    if not meta.exists():
        return 0
    try:
        epoch = int(json.loads(meta.read_text())["epoch"])
    except (ValueError, KeyError):  # killed while writing it: fall back on the previous one
        previous = backup / "training_metadata.json.bkp"
        if previous.exists():
            shutil.copy(previous, meta)
            epoch = int(json.loads(meta.read_text())["epoch"])
        else:
            meta.unlink()
            epoch = 0
    history_csv = Path(run_dir) / "history.csv"
    if history_csv.exists():
        try:
            history = pd.read_csv(history_csv)
        except pd.errors.EmptyDataError:
            return epoch
        if "epoch" in history and (history["epoch"] >= epoch).any():
            history[history["epoch"] < epoch].to_csv(history_csv, index=False)
    return epoch


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
    frame = pd.DataFrame(history.history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    if run_dir is not None and (Path(run_dir) / "history.csv").exists():
        frame = pd.read_csv(Path(run_dir) / "history.csv")  # the whole run, across resumes
        frame["epoch"] = frame["epoch"] + 1
    return frame


def build_model(spec: ModelSpec, preset: Preset, seed: int = 0, **overrides) -> keras.Model:
    """Build a named model at the preset's image size (the seeds' network stays grayscale)."""
    channels = spec.channels or preset.channels
    kwargs = {"image_size": preset.image_size, "channels": channels, **spec.options, **overrides}
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


def read_config(run_dir: str | Path) -> dict:
    """The config.json of a run folder ({} when there is none yet)."""
    path = Path(run_dir) / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def train_run(data: str | Path, preset: str | Preset | None, model_name: str,
              out: str | Path, seed: int = 0, epochs: int | None = None,
              verbose: int | str = "auto") -> dict:
    """Train a named model on a UTKFace folder into out/ (model.keras, history.csv, config.json,
    splits.csv); a second call after an interruption resumes from out/backup."""
    out = Path(out)
    spec = get_model_spec(model_name)
    preset = preset if isinstance(preset, Preset) else get_preset(preset)
    epochs = epochs or (preset.transfer_epochs if spec.backbone else preset.epochs)
    previous = read_config(out)
    if previous.get("finished") and (out / "model.keras").exists():
        print(f"{out / 'model.keras'} is already trained ({previous['epochs_run']} epochs); "
              "delete the folder to train again.")
        return previous
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = scan_folder(data)
    for w in caught:
        print(f"Warning: {w.message}", file=sys.stderr)
    faces = split_faces(report.manifest, seed=seed, max_faces=preset.max_faces)
    faces[["file", "split", "age", "gender", "race"]].to_csv(out / "splits.csv", index=False)
    channels = spec.channels or preset.channels
    size = preset.transfer_size if spec.backbone else preset.image_size
    n_train = int((faces["split"] == "train").sum())
    extra: dict = {}
    if spec.backbone:  # a pretrained backbone, trained in two phases on cached features
        from .transfer import phase_epochs, train_transfer, trainable_per_phase, transfer_model

        parts = transfer_model(spec.backbone, size)
        model, phases = parts.model, phase_epochs(epochs)
        trainable = list(trainable_per_phase(parts).values())
        extra = {"pretrained": parts.pretrained, "weights": parts.weights_note,
                 "cut": parts.cut, "views": list(spec.views),
                 "phase_epochs": list(phases), "trainable_params_per_phase": trainable}
    else:
        model = build_model(spec, preset, seed)
        steps = math.ceil(n_train / preset.batch_size)
        compile_model(model, learning_rate=learning_rate(spec.schedule, spec.learning_rate,
                                                         epochs, steps),
                      age_weight=spec.age_weight, gender_weight=spec.gender_weight)
    config = {"model": spec.name, "description": spec.description, "options": spec.options,
              "preset": preset.to_dict(),
              "seed": seed, "data": str(report.folder), "data_source": report.source,
              "n_train": n_train, "n_val": int((faces["split"] == "val").sum()),
              "n_test": int((faces["split"] == "test").sum()), "image_size": size,
              "channels": channels, "epochs": epochs, "schedule": spec.schedule,
              "learning_rate": spec.learning_rate, "age_weight": spec.age_weight,
              "gender_weight": spec.gender_weight, **count_params(model), **extra,
              "finished": False}
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    resumed = (out / "backup").exists() or (out / "phase1").exists()
    print(f"{'Resuming' if resumed else 'Training'} {spec.name} on {n_train:,} faces "
          f"({size}x{size}, {channels} channel(s)), {epochs} epochs, "
          f"preset {preset.name}; writing to {out}", flush=True)
    if spec.backbone:
        print(f"  {parts.weights_note}", flush=True)
    start = time.perf_counter()
    if spec.backbone:
        print(f"  computing the frozen trunk's features once (up to {parts.cut}; each face and "
              f"its views: {', '.join(spec.views)}), then {phases[0]} epoch(s) of heads only and "
              f"{phases[1]} of fine-tuning", flush=True)
        history = train_transfer(parts, faces, size, preset.batch_size, phases,
                                 (1e-3, spec.learning_rate), age_weight=spec.age_weight,
                                 run_dir=out, seed=seed, verbose=verbose, views=spec.views)
        final = history[history["phase"] == 2].reset_index(drop=True)
    else:
        train_ds, val_ds = datasets_for(faces, size, channels, preset.batch_size, seed)
        # Cosine runs use their whole budget (the rate is tiny at the end); plateau runs stop
        # early.
        history = fit(model, train_ds, val_ds, epochs, run_dir=out, schedule=spec.schedule,
                      patience=epochs if spec.schedule == "cosine" else 5, verbose=verbose)
        final = history
    model.save(out / "model.keras")
    for cached in out.glob("features_*.npy"):  # only needed to resume an unfinished run
        cached.unlink()
    # The weights kept: the last epoch's for a cosine schedule, else the best val_loss's.
    last = final.iloc[-1] if spec.schedule == "cosine" else \
        final.iloc[int(final["val_loss"].idxmin())]
    config.update(finished=True, epochs_run=len(history),
                  seconds_this_session=round(time.perf_counter() - start, 1),
                  seconds_per_epoch=round(float(history["seconds"].mean()), 1)
                  if "seconds" in history else None,
                  kept_epoch=int(last["epoch"]),
                  val_age_mae=round(float(last["val_age_mae"]), 3),
                  val_gender_accuracy=round(float(last["val_gender_accuracy"]), 4))
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"Saved {out / 'model.keras'}: epoch {config['kept_epoch']}, validation age MAE "
          f"{config['val_age_mae']:.2f} years, gender accuracy "
          f"{config['val_gender_accuracy']:.1%}.", flush=True)
    return config


def load_trained_model(path: Path) -> keras.Model:
    """Load a saved .keras model (or RUN_DIR/model.keras) with a clear error when it is missing."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise DataNotFoundError(f"No model at {path}. Train one first, for example: course train "
                                "--data DIR --preset cpu --model scratch --out runs/scratch")
    return keras.models.load_model(path)


def run_experiment(name: str, model: keras.Model, faces: pd.DataFrame, preset: Preset,
                   epochs: int | None = None, optimizer: str = "adam", lr: float = 1e-3,
                   schedule: str = "cosine", age_weight: float = 0.1, gender_weight: float = 1.0,
                   seed: int = 0, split: str = "val") -> tuple[dict, pd.DataFrame]:
    """Compile, train and score one variant the same way as every other (for the comparison
    tables): returns its row (parameters, seconds per epoch, scores on `split`) and history."""
    from .evaluation import input_shape

    seed_everything(seed)
    epochs = epochs or preset.epochs
    size, channels = input_shape(model)
    train_ds, val_ds = datasets_for(faces, size, channels, preset.batch_size, seed)
    steps = math.ceil(int((faces["split"] == "train").sum()) / preset.batch_size)
    compile_model(model, optimizer=optimizer,
                  learning_rate=learning_rate(schedule, lr, epochs, steps),
                  age_weight=age_weight, gender_weight=gender_weight)
    history = fit(model, train_ds, val_ds, epochs, schedule=schedule,
                  patience=epochs if schedule == "cosine" else 5, verbose=0)
    return experiment_row(name, model, history, faces, split), history


def experiment_row(name: str, model: keras.Model, history: pd.DataFrame, faces: pd.DataFrame,
                   split: str = "val") -> dict:
    """The comparison-table row of a model trained outside run_experiment (same columns)."""
    from .evaluation import predict_faces, score

    scores = score(predict_faces(model, faces[faces["split"] == split]))
    seconds = history["seconds"].mean() if "seconds" in history else float("nan")
    return {"model": name, **count_params(model), "seconds_per_epoch": seconds,
            "epochs": len(history), f"{split}_gender_accuracy": scores["gender_accuracy"],
            f"{split}_gender_f1": scores["gender_f1"], f"{split}_age_mae": scores["age_mae"]}
