"""`course train --model scratch` with several networks (helpers.learn.members): each trained
side by side in its own process and folder, then saved as their average."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from helpers.cli import main
from helpers.config import get_preset
from helpers.data import scan_folder, split_faces
from helpers.data.pipeline import load_images
from helpers.learn import members, runs
from helpers.learn.folder import RunFolder


@pytest.fixture
def pair(trained_scratch):
    """`course train --preset smoke --model scratch`: the preset's two networks, 2 epochs."""
    return trained_scratch


def test_the_scratch_model_is_the_average_of_its_networks(pair, synthetic_dir):
    config = RunFolder(pair).config()
    assert get_preset("smoke").scratch_members == get_preset("cpu").scratch_members == 2
    assert config["finished"] and config["members"] == 2 and config["member_seeds"] == [0, 1]
    assert len(config["val_per_member"]) == len(config["seconds_per_member"]) == 2
    alone = [RunFolder(members.member_folder(pair, k)) for k in range(2)]
    for k, run in enumerate(alone):  # each trained alone, with its own seed, on the same split
        assert run.finished() and run.config()["seed"] == k and "members" not in run.config()
        assert run.config()["epochs_run"] == 2
        assert run.splits().equals(RunFolder(pair).splits())
        assert config["val_per_member"][k] == run.config()["val_one_view"]
        assert "Training scratch" in (run.path / members.LOG_NAME).read_text()
    faces = scan_folder(synthetic_dir, warn=False).usable.head(8)
    images = load_images(faces, 32, 3).astype("float32")
    answers = [run.load_model().predict(images, verbose=0) for run in alone]
    average = RunFolder(pair).load_model().predict(images, verbose=0)
    for head in ("age", "gender", "age_sd"):
        np.testing.assert_allclose(average[head], (answers[0][head] + answers[1][head]) / 2,
                                   rtol=1e-5, atol=1e-5)
    assert not np.allclose(answers[0]["age"], answers[1]["age"])  # two different networks
    assert config["params"] == 2 * alone[0].config()["params"]
    assert config["val_age_mae"] == config["val_one_view"]["age_mae"]  # the average's own


def test_a_second_call_keeps_the_trained_networks(pair, synthetic_dir, capsys):
    for k in range(2):  # as if the run had been stopped after its networks, before the average
        assert RunFolder(members.member_folder(pair, k)).finished()
    config = RunFolder(pair).config()
    RunFolder(pair).write_config({**config, "finished": False})
    (pair / "model.keras").rename(pair / "saved.keras")
    try:
        assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                     "scratch", "--out", str(pair), "--epochs", "2"]) == 0
        printed = capsys.readouterr().out
        assert "Resuming" in printed and "epoch 1:" not in printed  # nothing trained again
        assert RunFolder(pair).finished()
        assert RunFolder(pair).config()["val_per_member"] == config["val_per_member"]
    finally:
        (pair / "saved.keras").unlink(missing_ok=True)


def test_one_member_is_one_network(synthetic_dir, tmp_path):
    assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                 "scratch", "--out", str(tmp_path), "--epochs", "1", "--members", "1"]) == 0
    config = RunFolder(tmp_path).config()
    assert config["finished"] and "members" not in config
    assert not list(tmp_path.glob("member*")) and (tmp_path / "history.csv").exists()


@pytest.mark.parametrize("options, message", [
    (["--members", "0"], "train at least one network"),
    (["--model", "mobilenetv2", "--members", "2"], "averages its tops (--tops)"),
    (["--model", "seed-cnn", "--members", "2"], "trains one network"),
    (["--members", "1", "--minutes", "30"], "there is none to stop"),
])
def test_members_refused_where_they_mean_nothing(synthetic_dir, tmp_path, capsys, options,
                                                 message):
    assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--out",
                 str(tmp_path / "run"), *options]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_network_that_fails_is_reported_with_the_end_of_its_log(synthetic_dir, tmp_path):
    faces = split_faces(scan_folder(synthetic_dir, warn=False).usable, seed=0)
    faces = faces.assign(path=[str(tmp_path / f"missing{i}.jpg") for i in range(len(faces))])
    with pytest.raises(RuntimeError, match=r"network 1 of 1 failed .*train\.log"):
        members.train_members(runs.train_on_faces, faces, str(synthetic_dir), "utkface",
                              get_preset("smoke"), "scratch", tmp_path, 1, epochs=1)
    assert (members.member_folder(tmp_path, 0) / members.LOG_NAME).exists()


def test_a_network_is_stopped_when_the_networks_would_pass_the_budget():
    stop = members.network_to_stop
    assert stop({0: 600.0, 1: 660.0}, now=1000.0, deadline=2000.0) is None  # all end in time
    assert stop({0: 600.0, 1: 660.0}, now=1000.0, deadline=1600.0) == 1  # the one with most left
    assert stop({0: 700.0, 1: 700.0}, now=1000.0, deadline=1600.0) == 1  # a tie: the last
    assert stop({0: 700.0, 1: None}, now=1000.0, deadline=1600.0) is None  # no pace yet
    assert stop({0: 9e9}, now=1000.0, deadline=1600.0) is None  # the last one always goes on


def test_course_train_says_before_it_starts_when_the_budget_cannot_be_met(
        synthetic_dir, tmp_path, capsys):
    assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                 "scratch", "--out", str(tmp_path), "--epochs", "40", "--minutes", "0.01"]) == 0
    printed = capsys.readouterr().out
    assert "cannot fit its time budget of 0.01 minutes" in printed
    assert printed.index("cannot fit") < printed.index("Training scratch")  # said first
    config = RunFolder(tmp_path).config()
    assert config["finished"] and "members" not in config and config["members_skipped"] == 1
    assert config["budget_minutes"] == 0.01 and config["epochs_run"] == 40
    assert not list(tmp_path.glob("member*")) and len(RunFolder(tmp_path).networks()) == 1


def test_the_networks_that_fit_the_budget_are_chosen_from_the_pace():
    fit = members.networks_that_fit
    assert fit(2, epochs=50, epoch_seconds=20.0, seconds_left=2000.0) == 2  # 2 x 50 x 20
    assert fit(2, epochs=50, epoch_seconds=20.0, seconds_left=1999.0) == 1
    assert fit(3, epochs=10, epoch_seconds=10.0, seconds_left=250.0) == 2
    assert fit(2, epochs=50, epoch_seconds=20.0, seconds_left=999.0) == 0  # not even one


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: nothing to hand over")
def test_the_network_left_alone_gets_the_freed_cores(synthetic_dir, tmp_path, capsys,
                                                       monkeypatch):
    monkeypatch.setattr(members, "POLL_SECONDS", 0.2)  # the smoke epochs take a second or less
    # the plan before training lets both start; the budget then stops one of them
    monkeypatch.setattr(runs, "networks_in_budget", lambda *args, **kwargs: 2)
    assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                 "scratch", "--out", str(tmp_path), "--epochs", "40", "--minutes", "0.01"]) == 0
    printed = capsys.readouterr().out
    config = RunFolder(tmp_path).config()
    assert config["finished"] and config["members"] == 1 and config["members_skipped"] == 1
    (kept,) = config["member_dirs"]  # the one with the most epochs left was stopped: either
    stopped = 1 - int(kept.removeprefix("member"))
    assert f"network {stopped + 1} of 2 stopped" in printed and "within 0.01 minutes" in printed
    assert config["budget_minutes"] == 0.01 and config["member_seeds"] == [1 - stopped]
    assert not members.member_folder(tmp_path, stopped).exists()
    assert len(config["val_per_member"]) == 1 and config["epochs_run"] == 40
    assert len(RunFolder(tmp_path).networks()) == 1
    cores = os.cpu_count()
    assert f"network {2 - stopped} of 2 goes on alone with all {cores} CPU threads" in printed
    assert config["threads_per_member_process"] == [[cores // 2, cores]]
    history = pd.read_csv(members.member_folder(tmp_path, 1 - stopped) / "history.csv")
    assert list(history["epoch"]) == list(range(40))  # each epoch once, across two processes


def test_pace_leaves_out_the_first_epoch(tmp_path):
    header = "epoch,val_age_mae,val_gender_accuracy,seconds\n"
    (tmp_path / "history.csv").write_text(header + "0,9.5,0.8,30\n1,9,0.8,4\n2,9,0.8,6\n")
    assert members.pace(tmp_path) is None  # two epochs after the first: not enough to judge
    (tmp_path / "history.csv").write_text(
        header + "0,9.5,0.8,30\n1,9,0.8,4\n2,9,0.8,6\n3,9,0.8,50\n")
    assert members.pace(tmp_path) == 20.0  # the mean: a slow spell lengthens the run too
    assert members.seconds_left(tmp_path, epochs=10) == 6 * 20.0  # 6 of 10 epochs left


def test_threads_are_shared_between_the_networks():
    assert members.threads_per_member(2, cores=2) == 1
    assert members.threads_per_member(2, cores=16) == 8
    assert members.threads_per_member(3, cores=2) == 1  # never none


def test_progress_reads_only_complete_epochs(tmp_path):
    (tmp_path / "history.csv").write_text(
        "epoch,val_age_mae,val_gender_accuracy,seconds\n0,9.5,0.8,3\n1,9.1,0.81,3\n2,")
    assert list(members.new_epochs(tmp_path, 0)["epoch"]) == [0, 1]
    assert list(members.new_epochs(tmp_path, 1)["epoch"]) == [1]
    assert members.new_epochs(tmp_path / "none", 0).empty
    assert members.log_tail(tmp_path) == "(no log)"
