"""`course train`: train a named model into a run folder exactly as the chapters do, in five
named steps: prepare the faces (scan, split), build, train, calibrate (helpers.learn.calibration)
and record (config.json). Each kind of model trains in one place: one network
(`train_network`), several scratch networks side by side and averaged (`train_networks`, with
helpers.learn.members), or a pretrained backbone's tops on cached features (`train_tops`)."""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd

from helpers.config import Preset, get_preset
from helpers.data import scan_folder, seed_everything, split_faces
from helpers.learn.calibration import calibrate
from helpers.learn.folder import RunFolder, member_folder
from helpers.learn.members import networks_that_fit, threads_per_member, train_members
from helpers.learn.models import (
    ModelSpec,
    count_params,
    default_epochs,
    default_members,
    get_model_spec,
    input_size,
)
from helpers.learn.training import build_model, datasets_for, fit
from helpers.learn.transfer import (
    TOP_DONE,
    VIEWS,
    features_for,
    phase_epochs,
    train_transfer,
    trainable_per_phase,
    transfer_model,
)
from helpers.taught import (
    age_head_loss,
    average_of,
    compile_model,
    ensemble,
    learning_rate,
    training_view,
)


@dataclass
class Trained:
    """What one kind of model's training hands to the steps every run shares."""

    model: keras.Model  # the model to save: one network, or an average behind one input
    history: pd.DataFrame  # one row per epoch (of the first network or top)
    final: pd.DataFrame  # the epochs among which the kept weights were chosen
    extra: dict  # what this kind of model adds to config.json once trained


def with_views(spec: ModelSpec, views: tuple[str, ...] | None) -> ModelSpec:
    """A transfer model's spec with other cached views of each training face (None: its own),
    with a clear error for an unknown view or a model trained on images, not cached features."""
    if views is None:
        return spec
    if not spec.backbone:
        raise ValueError(f"--views is for the transfer models; {spec.name} trains on images")
    unknown = [view for view in views if view not in VIEWS]
    if unknown:
        raise ValueError(f"unknown view(s) {', '.join(unknown)}: choose among {', '.join(VIEWS)}")
    return dataclasses.replace(spec, views=tuple(views))


FINISH_SECONDS = 90  # after the last top: save the model, score and calibrate on validation


def over_budget(minutes: float | None, started: float, top_seconds: float,
                next_top: Path) -> bool:
    """Whether one more top, as long as the longest so far, would end the run past its budget
    of `minutes` (a top that finished before an interruption, in next_top, costs nothing)."""
    if minutes is None or (next_top / TOP_DONE).exists():
        return False
    return time.perf_counter() - started + top_seconds + FINISH_SECONDS > minutes * 60


def train_run(data: str | Path, preset: str | Preset | None, model_name: str,
              out: str | Path, seed: int = 0, epochs: int | None = None,
              verbose: int | str = "auto", views: tuple[str, ...] | None = None,
              tops: int | None = None, minutes: float | None = None,
              members: int | None = None) -> dict:
    """`course train`: scan a UTKFace folder, split it (seeded) and train a named model on it
    into out/ (`tops` replaces the preset's number of transfer tops, `minutes` its time budget,
    `members` its number of scratch networks averaged)."""
    started = time.perf_counter()
    preset = run_preset(preset, model_name, tops=tops, minutes=minutes, members=members)
    faces, folder, source = prepare_faces(data, preset, seed)
    return train_on_faces(faces, folder, source, preset, model_name, out, seed=seed,
                          epochs=epochs, verbose=verbose, views=views, started=started)


def run_preset(preset: str | Preset | None, model_name: str, tops: int | None = None,
               minutes: float | None = None, members: int | None = None) -> Preset:
    """The preset with the command line's --tops, --minutes and --members, each refused with a
    clear error where it means nothing for the model."""
    preset = preset if isinstance(preset, Preset) else get_preset(preset)
    if minutes is not None:
        if not minutes > 0:
            raise ValueError(f"--minutes {minutes}: give the run a positive budget (inf: none)")
        budget = None if math.isinf(minutes) else minutes
        if get_model_spec(model_name).backbone:
            preset = dataclasses.replace(preset, transfer_minutes=budget)
        elif model_name == "scratch":
            preset = dataclasses.replace(preset, scratch_minutes=budget)
        else:
            raise ValueError(f"--minutes is for the transfer models and the scratch model; "
                             f"{model_name} trains one network")
    if tops is not None:
        if tops < 1:
            raise ValueError(f"--tops {tops}: train at least one top")
        if not get_model_spec(model_name).backbone:
            raise ValueError(f"--tops is for the transfer models; {model_name} has no top")
        preset = dataclasses.replace(preset, transfer_tops=tops)
    if members is not None:
        if members < 1:
            raise ValueError(f"--members {members}: train at least one network")
        if model_name != "scratch":
            raise ValueError(f"--members is for the scratch model; {model_name} "
                             + ("averages its tops (--tops)" if get_model_spec(model_name).backbone
                                else "trains one network"))
        preset = dataclasses.replace(preset, scratch_members=members)
    if minutes is not None and model_name == "scratch" and preset.scratch_members == 1:
        raise ValueError("--minutes stops one of the scratch model's networks when they would "
                         "not all end in time; with one network (--members 1) there is none "
                         "to stop")
    return preset


def prepare_faces(data: str | Path, preset: Preset, seed: int) -> tuple[pd.DataFrame, str, str]:
    """Step 1: the usable faces of a folder, split (seeded), with the folder and its source;
    every defect found is printed as a warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = scan_folder(data)
    for w in caught:
        print(f"Warning: {w.message}", file=sys.stderr)
    faces = split_faces(report.manifest, seed=seed, max_faces=preset.max_faces)
    return faces, str(report.folder), report.source


def train_on_faces(faces: pd.DataFrame, data: str, source: str, preset: Preset, model_name: str,
                   out: str | Path, seed: int = 0, epochs: int | None = None,
                   verbose: int | str = "auto", views: tuple[str, ...] | None = None,
                   started: float | None = None) -> dict:
    """Train a named model on faces already split into out/ (model.keras, history.csv,
    config.json, splits.csv); a second call after an interruption resumes where it stopped.
    `views` replaces a transfer model's cached views of each training face (transfer.VIEWS);
    `started` (a time.perf_counter() reading) is when the run began, for the preset's budget."""
    run = RunFolder(Path(out))
    if run.finished():
        previous = run.config()
        print(f"{run.model_path} is already trained ({previous['epochs_run']} epochs); "
              "delete the folder to train again.")
        return previous
    spec = with_views(get_model_spec(model_name), views)
    epochs = epochs or default_epochs(spec, preset)
    seed_everything(seed)
    run.write_splits(faces)
    config = base_config(spec, preset, faces, data, source, seed, epochs)
    trainer = trainer_for(spec, preset)
    start = time.perf_counter()
    trained = trainer(run, spec, preset, faces, config, seed=seed, verbose=verbose,
                      started=started or start)  # steps 2 and 3: build, train
    trained.model.save(run.model_path)
    for cached in run.path.glob("features_*.npy"):  # only needed to resume an unfinished run
        cached.unlink()
    config.update(calibrate(trained.model, faces[faces["split"] == "val"]))  # step 4
    config.update(trained.extra)
    return record(run, config, trained, spec, start)  # step 5


def trainer_for(spec: ModelSpec, preset: Preset) -> Callable[..., Trained]:
    """Which kind of training a named model at a preset gets."""
    if spec.backbone:
        return train_tops
    return train_networks if default_members(spec, preset) > 1 else train_network


def base_config(spec: ModelSpec, preset: Preset, faces: pd.DataFrame, data: str, source: str,
                seed: int, epochs: int) -> dict:
    """What a run is, written to config.json before it trains (finished: false)."""
    split = faces["split"]
    return {"model": spec.name, "description": spec.description, "options": spec.options,
            "preset": preset.to_dict(), "seed": seed, "data": data, "data_source": source,
            "n_train": int((split == "train").sum()), "n_val": int((split == "val").sum()),
            "n_test": int((split == "test").sum()), "image_size": input_size(spec, preset),
            "channels": spec.channels or preset.channels, "epochs": epochs,
            "schedule": spec.schedule, "learning_rate": spec.learning_rate,
            "age_weight": spec.age_weight, "gender_weight": spec.gender_weight}


def begin(run: RunFolder, config: dict, model: keras.Model, copies: int = 1,
          **extra) -> None:
    """Write the config of a run about to train (the parameters of `copies` such models) and
    say what it trains."""
    config.update({k: v * copies for k, v in count_params(model).items()}, **extra,
                  finished=False)
    run.write_config(config)
    resumed = any((run.path / name).exists() for name in ("backup", "phase1")) or any(
        run.path.glob("member*/history.csv"))
    print(f"{'Resuming' if resumed else 'Training'} {config['model']} on "
          f"{config['n_train']:,} faces ({config['image_size']}x{config['image_size']}, "
          f"{config['channels']} channel(s)), {config['epochs']} epochs, preset "
          f"{config['preset']['name']}; writing to {run.path}", flush=True)


def train_network(run: RunFolder, spec: ModelSpec, preset: Preset, faces: pd.DataFrame,
                  config: dict, seed: int = 0, verbose: int | str = "auto",
                  started: float | None = None) -> Trained:
    """One network on the images, with chapter 5's callbacks: resumable from out/backup."""
    epochs = config["epochs"]
    model = build_model(spec, preset, seed)
    trains = training_view(model)  # the same layers; a distribution head trains on its probs
    steps = math.ceil(config["n_train"] / preset.batch_size)
    compile_model(trains, keras.optimizers.Adam(
                      learning_rate(spec.schedule, spec.learning_rate, epochs, steps)),
                  age_weight=spec.age_weight, gender_weight=spec.gender_weight,
                  **age_head_loss(trains))
    begin(run, config, model)
    train_ds, val_ds = datasets_for(faces, config["image_size"], config["channels"],
                                    preset.batch_size, seed)
    # Cosine runs use their whole budget (the rate is tiny at the end); plateau runs stop early.
    history = fit(trains, train_ds, val_ds, epochs, run_dir=run.path, schedule=spec.schedule,
                  patience=epochs if spec.schedule == "cosine" else 5, verbose=verbose)
    return Trained(model, history, history, {})


def epoch_seconds_alone(spec: ModelSpec, preset: Preset, n_train: int, seed: int = 0,
                        steps: int = 12) -> float:
    """One network's seconds per epoch alone on every core, timed on a few batches of random
    images before the run starts (the first steps, which build the graph, left out)."""
    model = training_view(build_model(spec, preset, seed))
    compile_model(model, keras.optimizers.Adam(1e-3), **age_head_loss(model))
    size, channels = input_size(spec, preset), spec.channels or preset.channels
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (preset.batch_size, size, size, channels)).astype("float32")
    labels = {"age": rng.uniform(1, 90, preset.batch_size).astype("float32"),
              "gender": rng.integers(0, 2, preset.batch_size).astype("float32")}
    for _ in range(3):
        model.train_on_batch(images, labels)
    begun = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(images, labels)
    return (time.perf_counter() - begun) / steps * math.ceil(n_train / preset.batch_size)


def networks_in_budget(spec: ModelSpec, preset: Preset, config: dict, members: int,
                       seconds_left: float, seed: int = 0) -> int:
    """Before training: how many networks the budget allows, from one network's pace measured
    now; says so when fewer than asked, and when even one will not end in time."""
    epochs, alone = config["epochs"], epoch_seconds_alone(spec, preset, config["n_train"], seed)
    fit_now = networks_that_fit(members, epochs, alone, seconds_left)
    need = epochs * alone / 60
    if fit_now == 0:
        print(f"  this run cannot fit its time budget of {preset.scratch_minutes:g} minutes "
              f"(--minutes): at the pace measured now one network alone needs about "
              f"{need:.0f} min; training one network, with every core", flush=True)
        return 1
    if fit_now < members:
        print(f"  at the pace measured now one network alone needs about {need:.0f} min, so "
              f"{fit_now} of {members} networks fit the time budget of "
              f"{preset.scratch_minutes:g} minutes (--minutes): training "
              f"{fit_now}, with every core shared between them", flush=True)
    return fit_now


def train_networks(run: RunFolder, spec: ModelSpec, preset: Preset, faces: pd.DataFrame,
                   config: dict, seed: int = 0, verbose: int | str = "auto",
                   started: float | None = None) -> Trained:
    """The scratch model's networks (the preset's `scratch_members`), side by side, each in its
    own process and folder (member0, ...) with its own seed, saved as their average
    (chapter 5); with a time budget, as many as the budget allows."""
    members, budget = default_members(spec, preset), preset.scratch_minutes
    started = started or time.perf_counter()
    alone = (run.path / "backup").exists() or (run.path / "history.csv").exists()
    if alone:  # an earlier session of this run chose one network: it resumes
        members = 1
    elif budget is not None and not any(run.path.glob("member*/history.csv")):
        left = started + budget * 60 - FINISH_SECONDS - time.perf_counter()
        members = networks_in_budget(spec, preset, config, members, left, seed)
    if members == 1:
        config.update(members_skipped=default_members(spec, preset) - 1, budget_minutes=budget)
        return train_network(run, spec, preset, faces, config, seed, verbose, started)
    model = build_model(spec, preset, seed)  # for the parameter count: one network's
    begin(run, config, model, copies=members, members=members,
          member_seeds=list(range(seed, seed + members)),
          member_dirs=[member_folder(".", k).name for k in range(members)],
          threads_per_member=threads_per_member(members))
    print(f"  {members} networks side by side, seeds {seed} to {seed + members - 1}, each in "
          f"its own process with {threads_per_member(members)} CPU thread(s), its own folder "
          f"({run.path / 'member0'}, ...) and its output in that folder's train.log; then "
          "their average is saved", flush=True)
    if budget is not None:
        print(f"  a network is stopped if, at the slowest one's pace, the run would not end "
              f"within {budget:g} minutes (--minutes)", flush=True)
    deadline = None if budget is None else started + budget * 60 - FINISH_SECONDS
    configs = train_members(train_on_faces, faces, config["data"], config["data_source"],
                            preset, spec.name, run.path, members, config["epochs"], seed=seed,
                            verbose=verbose, deadline=deadline)
    kept = sorted(configs)
    if len(kept) < members:
        config.update(members=len(kept), members_skipped=members - len(kept),
                      budget_minutes=budget, member_seeds=[seed + k for k in kept],
                      member_dirs=[member_folder(".", k).name for k in kept])
    run.write_config(config)  # the networks to average, for run.networks()
    model = average_of(run.networks())
    config.update(count_params(model))
    history = pd.read_csv(member_folder(run.path, kept[0]) / "history.csv")
    history["epoch"] = history["epoch"] + 1
    return Trained(model, history, history, {
        "seconds_per_member": [configs[k]["seconds_this_session"] for k in kept],
        "threads_per_member_process": [configs[k]["threads"] for k in kept],
        "val_per_member": [configs[k]["val_one_view"] for k in kept],
        "val_mirror_per_member": [configs[k]["val_mirror"] for k in kept]})


def initial_tops(spec: ModelSpec, size: int, n: int, seed: int = 0) -> list:
    """`n` transfer models of one backbone, top k drawn with seed + k: each top starts from its
    own weights, so that averaging them averages different networks, while all share the first
    one's frozen trunk (the same ImageNet weights; random weights copied), whose features they
    all learn from."""
    nets = [transfer_model(spec.backbone, size, **spec.options, seed=seed + k) for k in range(n)]
    for net in nets[1:]:
        net.trunk.set_weights(nets[0].trunk.get_weights())
    return nets


def train_tops(run: RunFolder, spec: ModelSpec, preset: Preset, faces: pd.DataFrame,
               config: dict, seed: int = 0, verbose: int | str = "auto",
               started: float | None = None) -> Trained:
    """A pretrained backbone, trained in two phases on its frozen trunk's cached features: the
    preset's `transfer_tops` tops, each with its own seed, saved as their average behind the
    one trunk (chapter 6); with a time budget, a top after the first trains only when the run
    still ends in time."""
    epochs, size = config["epochs"], config["image_size"]
    nets = initial_tops(spec, size, preset.transfer_tops, seed)
    parts, phases = nets[0], phase_epochs(epochs)
    begin(run, config, ensemble(nets), pretrained=parts.pretrained,
          weights=parts.weights_note, cut=parts.cut, views=list(spec.views), tops=len(nets),
          phase_epochs=list(phases),
          trainable_params_per_phase=list(trainable_per_phase(parts).values()))
    print(f"  {parts.weights_note}", flush=True)
    tops = f"each of {len(nets)} tops (seeds {seed} to {seed + len(nets) - 1}): " \
        if len(nets) > 1 else ""
    print(f"  computing the frozen trunk's features once (up to {parts.cut}; each face and "
          f"its views: {', '.join(spec.views)}), then for {tops}{phases[0]} epoch(s) of "
          f"heads only and {phases[1]} of fine-tuning", flush=True)
    if len(nets) > 1 and preset.transfer_minutes is not None:
        print(f"  a top after the first trains only if the run still ends within "
              f"{preset.transfer_minutes:g} minutes (--minutes)", flush=True)
    features = features_for(parts, faces, size, run.path, spec.views)
    histories, seconds, per_top = [], [], []
    for k, net in enumerate(nets):
        if k and over_budget(preset.transfer_minutes, started, max(seconds),
                             run.path / f"top{k}"):
            print(f"  {len(nets) - k} of {len(nets)} tops not trained: one more would take "
                  f"about {max(seconds) / 60:.0f} min, and the run would pass its budget of "
                  f"{preset.transfer_minutes:g} minutes (--minutes); saving the "
                  f"{k} trained", flush=True)
            config.update(tops=k, tops_skipped=len(nets) - k,
                          budget_minutes=preset.transfer_minutes)
            nets = nets[:k]
            config.update(count_params(ensemble(nets)))
            break
        top_start = time.perf_counter()
        if len(nets) > 1:
            print(f"  top {k + 1} of {len(nets)}", flush=True)
        histories.append(train_transfer(
            net, faces, size, preset.batch_size, phases, (1e-3, spec.learning_rate),
            age_weight=spec.age_weight, run_dir=run.path if k == 0 else run.path / f"top{k}",
            seed=seed + k, verbose=verbose, features=features))
        seconds.append(round(time.perf_counter() - top_start, 1))
        last_epoch = histories[-1].iloc[-1]
        per_top.append({"age_mae": round(float(last_epoch["val_age_mae"]), 3),
                        "gender_accuracy": round(float(last_epoch["val_gender_accuracy"]), 4)})
    history = histories[0]
    final = history[history["phase"] == 2].reset_index(drop=True)
    return Trained(ensemble(nets), history, final,
                   {"seconds_per_top": seconds, "val_per_top": per_top})


def record(run: RunFolder, config: dict, trained: Trained, spec: ModelSpec,
           start: float) -> dict:
    """Step 5: the finished run's scores and times in config.json, and a summary printed."""
    history, final = trained.history, trained.final
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
    if len(config.get("val_per_top", config.get("val_per_member", []))) > 1:
        # an ensemble: its own scores, one view per face
        config.update(val_age_mae=config["val_one_view"]["age_mae"],
                      val_gender_accuracy=config["val_one_view"]["gender_accuracy"])
    run.write_config(config)
    print(f"Saved {run.model_path}: epoch {config['kept_epoch']}, validation age MAE "
          f"{config['val_age_mae']:.2f} years, gender accuracy "
          f"{config['val_gender_accuracy']:.1%}.", flush=True)
    interval, one, both = config["age_interval"], config["val_one_view"], config["val_mirror"]
    how = "each face averaged with its mirror image" if config["test_time_mirror"] else \
        "one view per face"
    print(f"  at prediction time: {how} (validation: {both['age_mae']:.2f} years and "
          f"{both['gender_accuracy']:.1%} with the mirror, {one['age_mae']:.2f} and "
          f"{one['gender_accuracy']:.1%} without); 90% age intervals: age +- "
          + (f"{interval['q']:.2f} x {interval['spread']}" if "q_by_band" not in interval else
             "q by band of predicted age (" + ", ".join(
                 f"{band}: {v:.1f}" for band, v in interval["q_by_band"].items()) + ") years"),
          flush=True)
    return config
