"""Training runs: files written, interrupted runs resume, a finished run is not retrained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pandas as pd
import pytest

from helpers.data import scan_folder, split_faces
from helpers.learn import runs, training
from helpers.learn.models import NARROW_FIRST_BLOCK
from helpers.taught import compile_model, scratch_cnn


def test_train_run_writes_a_model_its_history_config_and_split(synthetic_dir, tmp_path, capsys):
    config = runs.train_run(synthetic_dir, "smoke", "scratch", tmp_path / "run", epochs=2,
                            members=1)  # one network (tests/test_members.py: several)
    run = tmp_path / "run"
    assert {"model.keras", "history.csv", "config.json", "splits.csv"} <= {
        p.name for p in run.iterdir()}
    assert config["finished"] and config["epochs_run"] == 2
    assert json.loads((run / "config.json").read_text())["model"] == "scratch"
    history = pd.read_csv(run / "history.csv")
    assert list(history["epoch"]) == [0, 1] and "seconds" in history
    splits = pd.read_csv(run / "splits.csv")
    assert set(splits["split"]) == {"train", "val", "test"}
    model = keras.models.load_model(run / "model.keras")
    assert model.input_shape == (None, 32, 32, 3)
    # the spec's builder options are applied and recorded (the narrower first block)
    recorded = json.loads((run / "config.json").read_text())
    assert recorded["options"]["widths"] == list(NARROW_FIRST_BLOCK)
    assert model.get_layer("block1_conv1").filters == NARROW_FIRST_BLOCK[0]
    # the same command again does not start over
    again = runs.train_run(synthetic_dir, "smoke", "scratch", run, epochs=2, members=1)
    assert again["epochs_run"] == 2 and "already trained" in capsys.readouterr().out


def test_seed_cnn_stays_grayscale_and_at_least_48_pixels(synthetic_dir, tmp_path):
    config = runs.train_run(synthetic_dir, "smoke", "seed-cnn", tmp_path / "seed", epochs=1)
    assert config["channels"] == 1 and config["schedule"] == "plateau"
    assert config["image_size"] == 48, "the earlier projects' valid convolutions need 46 pixels"
    model = runs.RunFolder(tmp_path / "seed").load_model()
    assert model.input_shape == (None, 48, 48, 1)


def test_run_folder_knows_its_files_and_refuses_a_missing_model(synthetic_dir, tmp_path):
    run = runs.RunFolder.of(tmp_path / "r" / "model.keras")
    assert run.path == tmp_path / "r" and run.config() == {} and not run.finished()
    with pytest.raises(Exception, match="No model"):
        run.load_model()
    with pytest.raises(Exception, match="splits.csv"):
        run.splits()
    faces = split_faces(scan_folder(synthetic_dir, warn=False).manifest, seed=0)
    run.write_splits(faces)
    assert run.split_files("test") == set(faces.loc[faces["split"] == "test", "file"])


class Interrupt(keras.callbacks.Callback):
    """Stops the run with an error at the end of the first epoch, like a killed process."""

    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt


def test_an_interrupted_fit_resumes_where_it_stopped(synthetic_dir, tmp_path):
    faces = split_faces(scan_folder(synthetic_dir, warn=False).manifest, seed=0)
    train_ds, val_ds = training.datasets_for(faces, 32, 3, 16)

    def fresh():
        return compile_model(scratch_cnn(32, 3))

    with pytest.raises(KeyboardInterrupt):
        training.fit(fresh(), train_ds, val_ds, 3, run_dir=tmp_path, callbacks=[Interrupt()],
                     verbose=0)
    assert (tmp_path / "backup").exists()
    history = training.fit(fresh(), train_ds, val_ds, 3, run_dir=tmp_path, verbose=0)
    assert list(history["epoch"]) == [1, 2, 3], "resumed at epoch 2, not from the start"
    assert not (tmp_path / "backup").exists(), "the backup is removed once the run is complete"


@pytest.mark.slow
def test_a_killed_course_train_resumes(synthetic_dir, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "helpers.cli", "train", "--data", str(synthetic_dir),
           "--preset", "smoke", "--model", "scratch", "--out", str(run), "--epochs", "6"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    csv = run / "member0" / "history.csv"  # the smoke preset trains two networks side by side
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if csv.exists() and len(csv.read_text().splitlines()) >= 3:  # header + 2 epochs
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL)  # the command and both networks' processes
    proc.wait()
    done_before = len(pd.read_csv(csv))
    assert 2 <= done_before < 6 and not (run / "model.keras").exists()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Resuming" in result.stdout
    for member in ("member0", "member1"):
        history = pd.read_csv(run / member / "history.csv")
        assert list(history["epoch"]) == list(range(6)), "each epoch once, none repeated or lost"
    assert json.loads((run / "config.json").read_text())["finished"]
