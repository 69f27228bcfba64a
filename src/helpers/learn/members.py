"""Several networks of one recipe trained side by side, each in its own process (its own seed,
threads and folder `member{k}`, to resume from), for `course train` to save as their average
(chapter 5). TensorFlow is imported by the processes, not by this module. When the time budget
stops a network, the one that goes on alone is restarted from its last finished epoch with every
core (a process's TensorFlow threads are fixed when it starts)."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import wait
from pathlib import Path

import pandas as pd

from helpers.config import Preset
from helpers.learn.folder import RunFolder, member_folder

POLL_SECONDS = 5.0  # how often the progress of the networks is read from their history.csv
LOG_NAME = "train.log"  # each network's own output, in its folder
PACE_EPOCHS = 3  # epochs after the first that a network's pace is measured on


def threads_per_member(members: int, cores: int | None = None) -> int:
    """The CPU threads each of `members` networks trained side by side gets (at least one)."""
    return max(1, (cores or os.cpu_count() or 1) // members)


def _train_member(train: Callable, faces: pd.DataFrame, data: str, source: str, preset: Preset,
                  model_name: str, out: Path, seed: int, epochs: int | None,
                  threads: int) -> None:
    """In a fresh process: train one network into `out` with `train` (runs.train_on_faces) and
    `threads` CPU threads, writing what it prints to out/train.log."""
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / LOG_NAME, "a", buffering=1)  # noqa: SIM115 (open for the process's life)
    for stream in (1, 2):  # TensorFlow's own messages too, which bypass sys.stdout
        os.dup2(log.fileno(), stream)
    sys.stdout = sys.stderr = log
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    for gpu in tf.config.list_physical_devices("GPU"):  # several processes share one GPU
        tf.config.experimental.set_memory_growth(gpu, True)
    train(faces, data, source, preset, model_name, out, seed=seed, epochs=epochs, verbose=2)


def new_epochs(folder: Path, shown: int) -> pd.DataFrame:
    """The complete rows of a network's history.csv after the first `shown` ones."""
    try:
        history = pd.read_csv(folder / "history.csv")
    except (FileNotFoundError, pd.errors.EmptyDataError, pd.errors.ParserError):
        return pd.DataFrame()
    return history.iloc[shown:].dropna(subset=["val_age_mae", "val_gender_accuracy"])


def log_tail(folder: Path, lines: int = 15) -> str:
    """The last lines a network's process wrote."""
    path = folder / LOG_NAME
    return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else "(no log)"


def pace(folder: Path) -> float | None:
    """A network's mean seconds per epoch so far (slow spells included: they lengthen the run
    too), its first epoch (which also builds the graph and caches the images) left out; None
    before PACE_EPOCHS more."""
    seconds = new_epochs(folder, 0).get("seconds", pd.Series(dtype=float)).iloc[1:].dropna()
    return float(seconds.mean()) if len(seconds) >= PACE_EPOCHS else None


def seconds_left(folder: Path, epochs: int) -> float | None:
    """A network's seconds still to train at its pace (None while its pace is not known)."""
    seconds = pace(folder)
    return None if seconds is None else (epochs - len(new_epochs(folder, 0))) * seconds


def network_to_stop(left: dict[int, float | None], now: float, deadline: float) -> int | None:
    """Which of the networks still training to stop so that the run can end by `deadline`
    (seconds, like `now`), given each one's seconds still to train (None: not known yet): the
    one with the most left, when at the pace of the slowest they would all end after it."""
    if len(left) < 2 or any(seconds is None for seconds in left.values()):
        return None
    if now + max(left.values()) <= deadline:
        return None
    return max(left, key=lambda k: (left[k], k))


def train_members(train: Callable, faces: pd.DataFrame, data: str, source: str, preset: Preset,
                  model_name: str, out: str | Path, members: int, epochs: int, seed: int = 0,
                  verbose: int | str = "auto", deadline: float | None = None) -> dict[int, dict]:
    """Train `members` networks of a named model on the same split with `train`
    (runs.train_on_faces), side by side, network k with seed seed + k into out/member{k}; the
    run configs of those that finished, by k, each with the CPU threads its processes had
    ("threads"). A network already trained is kept; an interrupted one resumes from its backup.
    With a `deadline` (a time.perf_counter() reading), a network is stopped, and its folder
    removed, when at the slowest one's pace the networks would all end after it; the one left
    alone is restarted with every core after its next finished epoch."""
    single = replace(preset, scratch_members=1)
    cores = os.cpu_count() or 1
    folders = [member_folder(out, k) for k in range(members)]
    context = multiprocessing.get_context("spawn")  # a fresh TensorFlow in each process

    def process(k: int, threads: int) -> multiprocessing.Process:
        return context.Process(target=_train_member, name=f"member{k}", args=(
            train, faces, data, source, single, model_name, folders[k], seed + k, epochs,
            threads))

    todo = [k for k, folder in enumerate(folders) if not RunFolder(folder).finished()]
    threads = {k: [threads_per_member(len(todo), cores)] for k in todo}
    jobs = {k: process(k, threads[k][0]) for k in todo}
    shown, stopped = dict.fromkeys(jobs, 0), []
    alone: tuple[int, int] | None = None  # (network, epochs shown) once the others stopped
    try:
        for job in jobs.values():
            job.start()
        running = {job.sentinel: k for k, job in jobs.items()}
        while running:
            for done in wait(list(running), timeout=POLL_SECONDS):
                running.pop(done)
            for k in jobs:
                rows = new_epochs(folders[k], shown[k])
                shown[k] += len(rows)
                for _, row in rows.iterrows() if verbose else ():
                    print(f"  network {k + 1} of {members}, epoch {int(row['epoch']) + 1}: "
                          f"validation age MAE {row['val_age_mae']:.2f} years, gender "
                          f"{row['val_gender_accuracy']:.1%} ({row.get('seconds', 0):.0f} s)",
                          flush=True)
            if alone is not None and alone[0] in running.values() and shown[alone[0]] > alone[1]:
                k = alone[0]  # an epoch ended (and was backed up) since the others stopped
                jobs[k].terminate()
                jobs[k].join()
                jobs[k] = process(k, cores)
                jobs[k].start()
                threads[k].append(cores)
                running = {sentinel: j for sentinel, j in running.items() if j != k}
                running[jobs[k].sentinel] = k
                alone = None
                print(f"  network {k + 1} of {members} goes on alone with all {cores} CPU "
                      "threads, from its last finished epoch", flush=True)
            if deadline is None:
                continue
            left = {k: seconds_left(folders[k], epochs) for k in running.values()}
            stop = network_to_stop(left, time.perf_counter(), deadline)
            if stop is not None:
                late = (time.perf_counter() + max(left.values()) - deadline) / 60
                jobs[stop].terminate()
                jobs[stop].join()
                running = {sentinel: k for sentinel, k in running.items() if k != stop}
                stopped.append(stop)
                shutil.rmtree(folders[stop])
                print(f"  network {stop + 1} of {members} stopped: at this pace the networks "
                      f"would end about {late:.1f} min past the run's time budget (--minutes); "
                      "the others go on", flush=True)
                if len(running) == 1:
                    (last,) = running.values()
                    if threads[last][-1] < cores:
                        alone = (last, shown[last])
    finally:  # an interrupted run stops its networks; each resumes from its own backup
        for job in jobs.values():
            if job.is_alive():
                job.terminate()
            if job.pid is not None:
                job.join()
    for k, job in jobs.items():
        if job.exitcode != 0 and k not in stopped:
            raise RuntimeError(f"network {k + 1} of {members} failed (exit code {job.exitcode})"
                               f"; the end of {folders[k] / LOG_NAME}:\n{log_tail(folders[k])}")
    return {k: {**RunFolder(folder).config(), "threads": threads.get(k, [])}
            for k, folder in enumerate(folders) if k not in stopped}


def networks_that_fit(members: int, epochs: int, epoch_seconds: float,
                      seconds_left: float) -> int:
    """How many of `members` networks can train side by side and end within `seconds_left`,
    given one network's seconds per epoch alone on every core: k networks side by side share
    the cores, so each epoch takes about k times as long. 0 when even one would not end."""
    for k in range(members, 0, -1):
        if epochs * k * epoch_seconds <= seconds_left:
            return k
    return 0
