"""Transfer learning: weights are found or refused plainly, the network is cut in two views that
share their weights, the phases train what they should, and `course train` runs it end to end."""

from __future__ import annotations

import inspect
import json
import re
import warnings

import keras
import numpy as np
import pandas as pd
import pytest

from helpers.cli import main
from helpers.config import get_preset
from helpers.data import AGE_BAND_LABELS, scan_folder, split_faces
from helpers.learn import calibration, models, runs, transfer
from helpers.learn import weights as weight_files
from helpers.taught import conformal_scales

WEIGHTS = weight_files.WEIGHT_FILES["mobilenetv2"]


def test_no_download_means_random_weights_said_plainly(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COURSE_NO_DOWNLOAD", "1")
    with pytest.warns(UserWarning, match="NOT pretrained"):
        weights, note = transfer.resolve_weights("mobilenetv2")
    assert weights is None and "COURSE_NO_DOWNLOAD" in note and WEIGHTS in note


def test_offline_fails_fast_instead_of_downloading(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("COURSE_NO_DOWNLOAD", raising=False)
    asked = []
    monkeypatch.setattr(weight_files, "_network_reachable",
                        lambda host, port, timeout: asked.append((host, timeout)) or False)
    with pytest.warns(UserWarning, match="cannot be reached"):
        weights, _ = transfer.resolve_weights("vgg16", timeout=0.5)
    assert weights is None and asked == [(weight_files.WEIGHTS_HOST, 0.5)]


def test_a_local_keras_cache_is_used_first(monkeypatch, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / WEIGHTS).write_bytes(b"stand-in")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(weight_files, "_network_reachable", lambda *a: pytest.fail("no network"))
    weights, note = transfer.resolve_weights("mobilenetv2")
    assert weights == str(tmp_path / "models" / WEIGHTS) and "local Keras cache" in note


@pytest.mark.parametrize("backbone, reference", [
    ("mobilenetv2", keras.applications.mobilenet_v2.preprocess_input),
    ("vgg16", keras.applications.vgg16.preprocess_input)])
def test_preprocessing_layers_match_keras(backbone, reference):
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    ours = np.asarray(transfer.preprocess_layer(backbone)(x))
    np.testing.assert_allclose(ours, reference(x.copy()), rtol=1e-5, atol=1e-4)


@pytest.fixture(scope="module")
def net() -> transfer.TransferModel:
    """MobileNetV2 at 32 pixels, random weights (no download)."""
    return transfer.transfer_model("mobilenetv2", 32, weights=None)


def test_views_share_weights_and_phases_train_what_they_should(net):
    x = np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    whole, parts = net.model(x), net.top(net.trunk(x))
    np.testing.assert_allclose(whole["age"], parts["age"], rtol=1e-5)
    counts = transfer.trainable_per_phase(net)
    assert counts["trainable_phase1"] == (1280 * 256 + 256) + 2 * (256 + 1)
    assert counts["trainable_phase2"] > counts["trainable_phase1"]
    assert not any(w.trainable for w in net.trunk.weights)
    bn = [layer for layer in net.backbone_layers
          if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and not any(layer.trainable for layer in bn)
    net.set_phase(1)
    assert sum(int(np.prod(w.shape)) for w in net.model.trainable_weights) == \
        counts["trainable_phase1"]


def test_transfer_model_saves_and_loads(net, tmp_path):
    vgg = transfer.transfer_model("vgg16", 32, weights=None)
    x = np.random.default_rng(2).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    for parts in (net, vgg):
        parts.model.save(tmp_path / "m.keras")
        again = keras.models.load_model(tmp_path / "m.keras")
        np.testing.assert_allclose(again(x)["age"], parts.model(x)["age"], rtol=1e-5)


def test_same_seed_same_random_trunk():
    a = transfer.transfer_model("mobilenetv2", 32, weights=None, seed=3)
    b = transfer.transfer_model("mobilenetv2", 32, weights=None, seed=3)
    x = np.random.default_rng(3).uniform(0, 255, (1, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(a.trunk(x), b.trunk(x))


def test_feature_dataset_shows_each_face_or_its_mirror():
    faces = pd.DataFrame({"age": np.arange(64.0), "gender": np.zeros(64)})
    plain, mirrored = np.zeros((64, 2, 2, 1), "float16"), np.ones((64, 2, 2, 1), "float16")
    ds = transfer.feature_dataset(plain, faces, 64, mirrored, shuffle=True, seed=0)
    x, y = next(iter(ds))
    picked = x.numpy()[:, 0, 0, 0]
    assert set(picked) == {0.0, 1.0} and 10 < picked.sum() < 54
    assert sorted(y["age"].numpy()) == list(range(64))


def test_feature_dataset_picks_among_several_views_of_the_same_face():
    faces = pd.DataFrame({"age": np.arange(64.0), "gender": np.zeros(64)})
    views = [np.full((64, 2, 2, 1), 0, "float16") + np.arange(64)[:, None, None, None] + 100 * k
             for k in range(3)]
    ds = transfer.feature_dataset(views[0], faces, 16, views[1:], shuffle=True, seed=1)
    seen = set()
    for x, y in ds:
        value = x.numpy()[:, 0, 0, 0]
        assert np.array_equal(value % 100, y["age"].numpy())  # each face with its own label
        seen |= set((value // 100).astype(int))
    assert seen == {0, 1, 2}


def test_zoom_view_keeps_the_size_and_magnifies_the_centre():
    images = np.zeros((1, 20, 20, 3), "float32")
    images[:, 5:15, 5:15] = 255
    zoomed, labels = transfer.zoom(images, {"age": 1})
    assert zoomed.shape == (1, 20, 20, 3) and labels == {"age": 1}
    assert (zoomed.numpy()[0, :, :, 0] > 127).sum() > (images[0, :, :, 0] > 127).sum()


def test_jitter_view_reframes_some_faces_greys_others_and_keeps_the_size():
    rng = np.random.default_rng(4)
    images = rng.uniform(0, 255, (64, 24, 24, 3)).astype("float32")
    jittered = np.asarray(transfer.jitter(seed=0)(images, training=True))
    assert jittered.shape == images.shape
    assert not np.allclose(jittered, images)
    grey = np.isclose(jittered[..., 0], jittered[..., 1]).all(axis=(1, 2))
    assert 0 < grey.sum() < 32  # about a fifth of the faces made grey, the rest in colour


def test_cache_features_of_a_layer_view_runs_the_layer(synthetic_dir, net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = scan_folder(synthetic_dir).manifest.head(6)
    plain = transfer.cache_features(net.trunk, faces, 32)
    jittered = transfer.cache_features(net.trunk, faces, 32, view="jitter")
    assert jittered.shape == plain.shape and jittered.dtype == np.float16
    assert not np.allclose(jittered, plain)


def test_the_second_jitter_is_another_draw_of_the_same_reframing(synthetic_dir, net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = scan_folder(synthetic_dir).manifest.head(6)
    first = transfer.cache_features(net.trunk, faces, 32, view="jitter")
    again = transfer.cache_features(net.trunk, faces, 32, view="jitter")
    second = transfer.cache_features(net.trunk, faces, 32, view="jitter2")
    np.testing.assert_array_equal(first, again)  # seeded: a resumed run caches the same view
    assert second.shape == first.shape and not np.allclose(second, first)
    assert "jitter2" in models.get_model_spec("mobilenetv2").views


def test_views_can_be_chosen_for_transfer_models_only(synthetic_dir, tmp_path, capsys):
    spec = runs.with_views(models.get_model_spec("mobilenetv2"), ("mirror", "jitter"))
    assert spec.views == ("mirror", "jitter") and runs.with_views(spec, None) is spec
    with pytest.raises(ValueError, match="unknown view.*blur.*choose among mirror"):
        runs.with_views(spec, ("blur",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                     "scratch", "--views", "jitter", "--out", str(tmp_path / "run")]) != 0
    assert "--views is for the transfer models" in capsys.readouterr().err
    for model, tops, said in (("scratch", "2", "--tops is for the transfer models"),
                              ("mobilenetv2", "0", "train at least one top")):
        assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                     model, "--tops", tops, "--out", str(tmp_path / "run")]) != 0
        assert said in capsys.readouterr().err
    for model, minutes, said in (("seed-cnn", "40", "--minutes is for the transfer models and "
                                                    "the scratch model"),
                                 ("mobilenetv2", "0", "positive budget"),
                                 ("mobilenetv2", "nan", "positive budget")):
        assert main(["train", "--data", str(synthetic_dir), "--preset", "smoke", "--model",
                     model, "--minutes", minutes, "--out", str(tmp_path / "run")]) != 0
        assert said in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before anything was written
    from helpers.cli import build_parser
    help_text = build_parser()._subparsers._group_actions[0].choices["train"].format_help()
    assert all(view in " ".join(help_text.split()) for view in transfer.VIEWS)


def test_thin_bands_are_those_that_keep_the_overall_q():
    predicted = np.array([25.0] * 60 + [70.0] * 10)  # 60 faces in 20-29, 10 in 60+, none else
    errors = np.random.default_rng(0).normal(0, 5, len(predicted))
    scales = conformal_scales(predicted, errors, np.ones(len(predicted)))
    thin = calibration.thin_bands(predicted)
    assert set(thin) == set(AGE_BAND_LABELS) - {"20-29"}
    assert all(scales[band] == scales["all"] for band in thin)
    assert scales["20-29"] != scales["all"]


def test_phase_epochs():
    assert transfer.phase_epochs(20) == (3, 17)
    assert transfer.phase_epochs(2) == (1, 1)


def test_train_transfer_runs_both_phases_and_saves_phase1(synthetic_dir, tmp_path, net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = split_faces(scan_folder(synthetic_dir).manifest, seed=0)
    history = transfer.train_transfer(net, faces, 32, 16, (1, 2), run_dir=tmp_path)
    assert list(history["phase"]) == [1, 2, 2] and list(history["epoch"]) == [1, 2, 3]
    assert (tmp_path / "phase1.weights.h5").exists()
    assert (tmp_path / "history.csv").exists() and (tmp_path / "phase1" / "history.csv").exists()


def test_an_ensemble_averages_its_tops_behind_one_trunk(tmp_path):
    """Chapter 6's `ensemble`: one model, one trunk, the mean of the tops' answers; saved and
    loaded like any model; a distribution head's probabilities are averaged too, so the
    ensemble still has a training view."""
    from helpers.taught import ensemble, training_view

    x = np.random.default_rng(3).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    for head in ("regression", "distribution"):
        nets = [transfer.transfer_model("mobilenetv2", 32, weights=None, age_head=head)
                for _ in range(2)]  # the same seed: one random trunk, as course train builds
        rng = np.random.default_rng(7)
        for net in nets:  # two identical tops so far: give each its own head weights
            for name in ("age_unit" if head == "regression" else "age_probs", "gender"):
                unit = net.model.layers[-1].get_layer(name)
                unit.set_weights([rng.normal(0, 0.5, w.shape) for w in unit.get_weights()])
        both = ensemble(nets)
        assert [layer.name for layer in both.layers] == [
            "image", "mobilenetv2_trunk", "mobilenetv2_top"]
        out, each = both(x), [net.model(x) for net in nets]
        for key in ("age", "gender"):  # two different tops
            assert not np.allclose(each[0][key], each[1][key])
        for key in out:
            np.testing.assert_allclose(out[key], (each[0][key] + each[1][key]) / 2,
                                       rtol=1e-4, atol=1e-5)
        assert ("age_probs" in out) == (head == "distribution")
        assert training_view(both.layers[-1]).output["age"].shape[-1] == (
            101 if head == "distribution" else 1)
        both.save(tmp_path / "both.keras")
        again = keras.models.load_model(tmp_path / "both.keras")
        np.testing.assert_allclose(again(x)["age"], out["age"], rtol=1e-5)
    assert ensemble(nets[:1]) is nets[0].model
    other = transfer.transfer_model("mobilenetv2", 32, weights=None, seed=1)  # another trunk
    with pytest.raises(ValueError, match="one trunk"):
        ensemble([nets[0], other])


def test_a_finished_top_is_loaded_not_trained_again(synthetic_dir, tmp_path, net):
    """A killed `course train` of several tops resumes after the last finished top."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = split_faces(scan_folder(synthetic_dir).manifest, seed=0)
    features = transfer.features_for(net, faces, 32)
    first = transfer.train_transfer(net, faces, 32, 16, (1, 1), run_dir=tmp_path,
                                    features=features)
    assert (tmp_path / transfer.TOP_DONE).exists()
    fresh = transfer.transfer_model("mobilenetv2", 32, weights=None, seed=5)
    again = transfer.train_transfer(fresh, faces, 32, 16, (1, 1), run_dir=tmp_path,
                                    features=features)
    pd.testing.assert_frame_equal(first, again)
    for a, b in zip(net.top.weights, fresh.top.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def train_offline(data, tmp_path, monkeypatch, *options: str):
    """`course train --preset smoke --model mobilenetv2` without weights or network; its
    folder."""
    monkeypatch.setenv("COURSE_NO_DOWNLOAD", "1")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "no-cache"))
    monkeypatch.setenv("HOME", str(tmp_path))
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["train", "--data", str(data), "--preset", "smoke", "--model",
                     "mobilenetv2", *options, "--out", str(out)]) == 0
    return out


def test_course_train_mobilenetv2_then_evaluate(synthetic_dir, tmp_path, capsys, monkeypatch):
    out = train_offline(synthetic_dir, tmp_path, monkeypatch)
    config = json.loads((out / "config.json").read_text())
    assert config["finished"] and config["pretrained"] is False
    printed = capsys.readouterr().out
    assert "NOT pretrained" in printed
    assert config["image_size"] == 32 and config["phase_epochs"] == [1, 1]
    spec = models.get_model_spec("mobilenetv2")
    assert config["cut"] == transfer.BACKBONES["mobilenetv2"].cut
    assert config["views"] == list(spec.views) and "mirror" in spec.views
    assert set(spec.views) <= set(transfer.VIEWS)
    assert not list(out.glob("features_*.npy"))  # caches removed once the run is finished
    # the preset's tops, each scored alone, saved as one ensemble behind one trunk
    assert config["tops"] == get_preset("smoke").transfer_tops == 2
    assert len(config["val_per_top"]) == len(config["seconds_per_top"]) == 2
    assert config["val_age_mae"] == config["val_one_view"]["age_mae"]  # the ensemble's own
    saved = keras.models.load_model(out / "model.keras")
    assert [layer.name for layer in saved.layers[-1].layers[1:3]] == [
        "mobilenetv2_top_0", "mobilenetv2_top_1"]
    assert (out / "top1" / transfer.TOP_DONE).exists()
    interval = config["age_interval"]  # a regression head: chapter 8's q per predicted age band
    assert interval["spread"] == "1 year" and set(interval["q_by_band"]) == set(AGE_BAND_LABELS)
    # The bands with too few validation faces are named, and they keep the overall q.
    fallback = re.search(r"validation faces were predicted in (.+): th\w+ keeps? the q", printed)
    assert fallback, printed
    for band in fallback.group(1).split(", "):
        assert interval["q_by_band"][band] == interval["q"]
    # course train's minimum per band is the default of chapter 8's conformal_scales
    assert inspect.signature(conformal_scales).parameters["min_faces"].default == \
        calibration.MIN_BAND_FACES
    assert main(["evaluate", "--model", str(out / "model.keras"), "--data", str(synthetic_dir),
                 "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["n"] == 85 and 0 <= scores["gender_accuracy"] <= 1


def test_the_budget_adds_a_top_only_when_the_run_still_ends_in_time(tmp_path, monkeypatch):
    """`course train`'s time budget (the preset's transfer_minutes, --minutes): a top costs as
    long as the longest so far, plus the time to save and calibrate."""
    assert get_preset("cpu").transfer_minutes == 45 and get_preset("smoke").transfer_minutes is None
    monkeypatch.setattr(runs.time, "perf_counter", lambda: 1000.0)
    started = 1000.0 - 20 * 60  # 20 minutes ago
    assert not runs.over_budget(None, started, 3600, tmp_path)  # no budget
    room = 45 * 60 - 20 * 60 - runs.FINISH_SECONDS
    assert not runs.over_budget(45, started, room, tmp_path)  # ends exactly in time
    assert runs.over_budget(45, started, room + 1, tmp_path)
    (tmp_path / transfer.TOP_DONE).write_text("")  # trained before an interruption: free
    assert not runs.over_budget(45, started, room + 1, tmp_path)


def test_course_train_stops_adding_tops_at_its_budget(synthetic_dir, tmp_path, capsys,
                                                       monkeypatch):
    """A budget too short for a second top: the run says so, saves the one it trained, and its
    config records what it skipped; course evaluate takes the model like any other."""
    out = train_offline(synthetic_dir, tmp_path, monkeypatch, "--tops", "3", "--minutes", "0.01")
    printed = capsys.readouterr().out
    assert "2 of 3 tops not trained" in printed and "budget of 0.01 minutes" in printed
    assert "only if the run still ends within 0.01 minutes" in printed  # said at the start
    assert "top 2 of 3" not in printed
    config = json.loads((out / "config.json").read_text())
    assert (config["tops"], config["tops_skipped"], config["budget_minutes"]) == (1, 2, 0.01)
    assert config["preset"]["transfer_tops"] == 3 and config["finished"]
    assert len(config["val_per_top"]) == len(config["seconds_per_top"]) == 1
    assert not (out / "top1").exists()
    saved = keras.models.load_model(out / "model.keras")
    assert saved.count_params() == config["params"]
    assert not any(layer.name.endswith("_top_1") for layer in saved.layers[-1].layers)
    assert main(["evaluate", "--model", str(out), "--data", str(synthetic_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 85


def test_each_top_starts_from_its_own_weights(monkeypatch):
    from helpers.taught import ensemble

    monkeypatch.setenv("COURSE_NO_DOWNLOAD", "1")
    spec = models.get_model_spec("mobilenetv2")
    first, second = runs.initial_tops(spec, 32, 2, seed=3)
    again = runs.initial_tops(spec, 32, 1, seed=3)[0]
    kernel = [w for w in first.top.weights if "shared_dense" in w.path and "kernel" in w.path]
    assert kernel, "the top has its shared dense layer"
    weights = {name: {w.path: np.asarray(w) for w in net.top.weights} for name, net in
               (("first", first), ("second", second), ("again", again))}
    path = kernel[0].path
    assert not np.allclose(weights["first"][path], weights["second"][path])
    assert np.array_equal(weights["first"][path], weights["again"][path])  # a seed repeats
    for a, b in zip(first.trunk.get_weights(), second.trunk.get_weights(), strict=True):
        assert np.array_equal(a, b)  # one trunk: the features both tops learn from
    ensemble([first, second])  # which the average of the tops needs


def test_cached_features_are_used_only_for_what_they_were_made_from(monkeypatch, tmp_path,
                                                                     capsys):
    monkeypatch.setenv("COURSE_NO_DOWNLOAD", "1")
    from helpers.data.synthetic import make_synthetic_utkface

    folder = make_synthetic_utkface(tmp_path / "faces", n=40, seed=0)
    faces = split_faces(scan_folder(folder).usable, seed=0)
    parts = transfer.transfer_model("mobilenetv2", 32)
    cache = tmp_path / "run"
    first = transfer.features_for(parts, faces, 32, cache, ())
    assert (cache / transfer.FEATURES_STAMP).is_file()
    again = transfer.features_for(parts, faces, 32, cache, ())
    assert np.array_equal(first["train"], again["train"])
    assert "computing them again" not in capsys.readouterr().out
    fewer = faces.drop(faces.index[faces["split"] == "train"][:3])  # other faces, same folder
    changed = transfer.features_for(parts, fewer, 32, cache, ())
    assert "computing them again" in capsys.readouterr().out
    assert len(changed["train"]) == len(first["train"]) - 3
    other = transfer.transfer_model("mobilenetv2", 32, seed=5)  # other (random) trunk weights
    transfer.features_for(other, fewer, 32, cache, ())
    assert "computing them again" in capsys.readouterr().out
