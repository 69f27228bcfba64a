"""The chapters' networks: shapes, parameter counts, heads, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.learn import models


def _inbound(model, name):
    """The names of the layers feeding a layer."""
    node = model.get_layer(name)._inbound_nodes[0]
    return [t._keras_history.operation.name for t in node.input_tensors]


def test_seed_cnn_is_seed_001s_network():
    model = models.seed_cnn(128, 1)
    assert model.input_shape == (None, 128, 128, 1)
    convs = [model.get_layer(f"conv{i}") for i in range(1, 5)]
    assert [c.filters for c in convs] == [32, 64, 128, 256]
    assert all(c.padding == "valid" and c.kernel_size == (3, 3) for c in convs)
    assert all(c.activation.__name__ == "relu" for c in convs)
    assert model.get_layer("conv1").count_params() == 3 * 3 * 1 * 32 + 32
    # 128 -> 126 -> 63 -> 61 -> 30 -> 28 -> 14 -> 12 -> 6: 6 x 6 x 256
    assert model.get_layer("flatten").output.shape[-1] == 9216
    # one shared Dense(256); gender from it through Dropout(0.3) to a sigmoid unit; age through
    # a second Dense(256) and Dropout(0.3) to a ReLU unit
    assert _inbound(model, "dense1") == ["flatten"] and _inbound(model, "dense2") == ["dense1"]
    assert _inbound(model, "gender_dropout") == ["dense1"]
    assert _inbound(model, "age_dropout") == ["dense2"]
    assert _inbound(model, "gender") == ["gender_dropout"]
    assert _inbound(model, "age") == ["age_dropout"]
    assert model.get_layer("dense1").units == model.get_layer("dense2").units == 256
    assert model.get_layer("gender_dropout").rate == model.get_layer("age_dropout").rate == 0.3
    assert model.get_layer("gender").activation.__name__ == "sigmoid"
    assert model.get_layer("age").activation.__name__ == "relu"
    out = model(np.zeros((2, 128, 128, 1), "float32"))
    assert set(out) == {"age", "gender"}
    assert out["age"].shape == (2, 1) and out["gender"].shape == (2, 1)


def test_seed_cnn_needs_46_pixels_and_its_spec_asks_for_48():
    from helpers.config import get_preset

    models.seed_cnn(46, 1)
    with pytest.raises(ValueError):
        models.seed_cnn(45, 1)
    spec = models.get_model_spec("seed-cnn")
    assert models.input_size(spec, get_preset("smoke")) == 48
    assert models.input_size(spec, get_preset("cpu")) == 64


@pytest.mark.parametrize("channels", [1, 3])
def test_scratch_cnn_outputs_a_probability_and_an_age_near_the_offset(channels):
    model = models.scratch_cnn(32, channels, augment="full")
    out = model(np.random.default_rng(0).uniform(0, 255, (4, 32, 32, channels)).astype("float32"),
                training=False)
    p = out["gender"].numpy()
    assert ((p > 0) & (p < 1)).all()
    # an untrained network starts near a typical age, not near 0
    assert np.abs(out["age"].numpy() - models.AGE_OFFSET).max() < 3 * models.AGE_SCALE
    assert model.get_layer("gap") is not None


def test_scratch_cnn_has_far_fewer_parameters_than_flatten():
    gap = models.scratch_cnn(64, 3).count_params()
    flat = models.scratch_cnn(64, 3, pooling="flatten").count_params()
    # the shared dense layer (128 units) sees 4x4x256 numbers after flatten, 256 after pooling
    assert flat - gap == (4 * 4 * 256 - 256) * 128


def test_bad_arguments_are_refused_clearly():
    with pytest.raises(ValueError, match="augmentation kind"):
        models.augmentation("wild")
    with pytest.raises(ValueError, match="pooling"):
        models.scratch_cnn(32, 3, pooling="max")
    with pytest.raises(ValueError, match="conv counts"):
        models.scratch_cnn(32, 3, convs=(1, 1))
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        models.get_model_spec("resnet")


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "sgd"])
def test_compile_model_trains_one_step(optimizer):
    from helpers.taught import OPTIMIZERS

    model = models.compile_model(models.scratch_cnn(32, 3, augment=None),
                                 OPTIMIZERS[optimizer](1e-3))
    x = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype("float32")
    y = {"age": np.full(8, 30.0, "float32"), "gender": np.array([0, 1] * 4, "float32")}
    logs = model.train_on_batch(x, y, return_dict=True)
    assert {"age_mae", "gender_accuracy", "loss"} <= set(logs)
    assert np.isfinite(logs["loss"])


def test_layer_table_counts_every_parameter():
    model = models.seed_cnn(64, 1)
    table = models.layer_table(model)
    assert table["parameters"].sum() == model.count_params()
    assert table.loc[table["layer"] == "conv1", "output shape"].item() == "(62, 62, 32)"
    assert models.count_params(model)["trainable_params"] == model.count_params()


@pytest.mark.parametrize("record, name", [("scratch-cpu.json", "scratch"),
                                          ("mobilenetv2-cpu.json", "mobilenetv2")])
def test_each_recorded_cpu_run_was_trained_as_course_train_trains_it_today(record, name):
    """The chapters quote these records as what `course train --preset cpu` gives: a change to
    a model's defaults (epochs, views, head, loss weights) needs the record re-made."""
    from helpers.config import get_preset
    from helpers.scoring.evaluation import recorded_file

    config = recorded_file(record)["config"]
    spec = models.get_model_spec(name)
    assert config["model"] == name
    assert config["epochs"] == models.default_epochs(spec, get_preset("cpu"))
    assert config["image_size"] == models.input_size(spec, get_preset("cpu"))
    assert config["options"] == {k: list(v) if isinstance(v, tuple) else v
                                 for k, v in spec.options.items()}
    assert (config["age_weight"], config["learning_rate"], config["schedule"]) == (
        spec.age_weight, spec.learning_rate, spec.schedule)
    assert config.get("members", 1) == models.default_members(spec, get_preset("cpu"))
    if config.get("members", 1) > 1:  # chapter 5 quotes each network alone and their average
        assert config["member_seeds"] == list(range(config["seed"], config["seed"]
                                                    + config["members"]))
        assert len(config["val_per_member"]) == config["members"]
    if spec.backbone:
        assert tuple(config["views"]) == spec.views
        # chapter 6 quotes each top and their average; a run that met its time budget
        # (transfer_minutes) before the preset's last top says how many it skipped
        tops = config.get("tops", 1)
        assert tops + config.get("tops_skipped", 0) == get_preset("cpu").transfer_tops, config
        assert len(config["seconds_per_top"]) == len(config["val_per_top"]) == tops, config


def test_the_fgnet_record_scored_the_models_course_train_trains_today():
    """Chapter 10 quotes results/fgnet-cpu.json as the `course train --preset cpu` models."""
    from helpers.config import get_preset
    from helpers.scoring.evaluation import recorded_file

    for name, run in recorded_file("fgnet-cpu.json")["models"].items():
        spec = models.get_model_spec(name)
        assert run["preset"] == "cpu" and run["finished"], run
        assert run["epochs_run"] == models.default_epochs(spec, get_preset("cpu")), run
        assert (run.get("members") or 1) == models.default_members(spec, get_preset("cpu")), run
        if spec.backbone:
            assert tuple(run.get("views") or ()) == spec.views, run
            assert run["image_size"] == models.input_size(spec, get_preset("cpu")), run
            assert run.get("tops", 1) + (run.get("tops_skipped") or 0) == \
                get_preset("cpu").transfer_tops, run


def test_the_fgnet_record_fine_tuned_the_way_course_finetune_does_today():
    """Chapter 10 quotes the record's cross-validation as what `course finetune` buys."""
    from helpers.learn import finetune
    from helpers.scoring.evaluation import recorded_file

    tuned = recorded_file("fgnet-cpu.json")["finetune"]
    assert (tuned["epochs"], tuned["learning_rate"], tuned["batch_size"], tuned["jitters"]) == (
        finetune.EPOCHS, finetune.LEARNING_RATE, finetune.BATCH_SIZE, finetune.JITTERS), tuned
    assert (tuned["method"], tuned["copies"]) == (finetune.METHOD, finetune.COPIES), tuned
    cv = tuned["cv"]  # chapter 10: the average did better than either of the two it averages
    assert cv["mae_after"] < min(cv["mae_tuned"], cv["mae_recalibrated"]), cv
    assert abs(cv["mae_recalibrated"] - cv["mae_tuned"]) < 0.5, cv  # "compete"
    assert set(cv["by_age"]) == set(finetune.AGE_GROUPS), cv  # chapter 10 quotes "30 or more"
    from helpers.config import get_preset
    from helpers.taught import ensemble, transfer_model  # the weights it quotes: today's

    nets = [transfer_model("mobilenetv2", 32, weights=None)
            for _ in range(get_preset("cpu").transfer_tops)]
    for parts in nets:
        parts.set_phase(2)  # as `course train` saves it: the top blocks and heads trainable
    assert tuned["tuned_weights"] == finetune.tuned_weights(ensemble(nets)), tuned
    assert cv["versus_tuned"] == pytest.approx(cv["mae_after"] - cv["mae_tuned"], abs=2e-3)


def test_chapter_4_reads_the_repeat_and_augmentation_records_as_it_describes_them():
    """Chapter 5's recorded section: scratch-run2-cpu is the same one-network command as
    scratch-one-cpu, scratch-augment-cpu differs in its augmentation only, scratch-cpu averages
    two networks of the same recipe, and what the prose says of them holds (flips kept: full
    augmentation's validation age error is higher, mirror or not, while its one-view gender
    accuracy is higher; the average beats each of its networks on validation in both heads and
    the single flip-only runs on test)."""
    from helpers.scoring.evaluation import recorded_file, recorded_runs

    base, again, full, pair = (recorded_file(f"{name}.json")["config"] for name in (
        "scratch-one-cpu", "scratch-run2-cpu", "scratch-augment-cpu", "scratch-cpu"))
    same = ("model", "epochs", "image_size", "age_weight", "learning_rate", "schedule", "seed",
            "n_train", "n_val", "n_test")
    assert all(base[key] == again[key] == full[key] == pair[key] for key in same)
    assert again["options"] == base["options"] == pair["options"]
    assert full["options"] == {**base["options"], "augment": "full"}
    assert [run.get("members", 1) for run in (base, again, full, pair)] == [1, 1, 1, 2]
    flips = [base, again]
    assert all(full[view]["age_mae"] > max(run[view]["age_mae"] for run in flips)
               for view in ("val_one_view", "val_mirror"))
    assert full["val_one_view"]["gender_accuracy"] > max(
        run["val_one_view"]["gender_accuracy"] for run in flips)
    gain_base, gain_again, gain_full = (
        run["val_one_view"]["age_mae"] - run["val_mirror"]["age_mae"]
        for run in (base, again, full))
    assert gain_full < min(gain_base, gain_again)  # exercise 8: the mirror helps flips-only more
    alone = pair["val_mirror_per_member"]  # the prose: "better than either of them in both heads"
    assert pair["test_time_mirror"] and len(alone) == 2
    assert pair["val_mirror"]["age_mae"] < min(net["age_mae"] for net in alone)
    assert pair["val_mirror"]["gender_accuracy"] > max(net["gender_accuracy"] for net in alone)
    tested = [recorded_file(f"{name}.json")["summary"] for name in (
        "scratch-one-cpu", "scratch-run2-cpu", "scratch-cpu")]
    assert tested[2]["age_mae"] < min(run["age_mae"] for run in tested[:2])
    assert tested[2]["gender_accuracy"] > max(run["gender_accuracy"] for run in tested[:2])
    assert "augment" not in models.get_model_spec("scratch").options  # course train keeps flips
    table = recorded_runs(["scratch", "seed-cnn"])
    assert table.loc["scratch-augment-cpu", "augment"] == "full"
    assert table.loc["scratch-run2-cpu", "augment"] == "flip"
    assert pd.isna(table.loc["seed-cnn-cpu", "augment"])  # the earlier projects' network has none
