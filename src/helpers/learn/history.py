"""A run's history: the table of its epochs, kept across an interrupted run and its resume."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import pandas as pd


def history_table(fitted: keras.callbacks.History) -> pd.DataFrame:
    """What `model.fit` returned, as a table: one row per epoch, numbered from 1."""
    frame = pd.DataFrame(fitted.history)
    frame.insert(0, "epoch", range(1, len(frame) + 1))
    return frame


def best_so_far(history_csv: Path, monitor: str = "val_loss") -> float | None:
    """The best monitored value of an interrupted run's history (None for a fresh run)."""
    if not history_csv.exists():
        return None
    try:
        history = pd.read_csv(history_csv)
    except (pd.errors.EmptyDataError, pd.errors.ParserError):
        return None
    return float(history[monitor].min()) if monitor in history and len(history) else None


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
