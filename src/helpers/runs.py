"""Run folders: what `course train` writes (model.keras, history.csv, config.json, splits.csv,
the backup to resume from), one type that the command line, the chapters and `course evaluate`
share, and `train_run`, which trains a named model into one exactly as the chapters do."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from .config import Preset, get_preset
from .data import DataNotFoundError, age_band, scan_folder, seed_everything, split_faces
from .members import member_folder, threads_per_member, train_members
from .models import (
    ModelSpec,
    count_params,
    default_epochs,
    default_members,
    get_model_spec,
    input_size,
)
from .taught import (
    age_head_loss,
    average_of,
    compile_model,
    conformal_scale,
    conformal_scales,
    ensemble,
    learning_rate,
    training_view,
)
from .training import build_model, datasets_for, fit, load_trained_model
from .transfer import (
    TOP_DONE,
    VIEWS,
    features_for,
    phase_epochs,
    train_transfer,
    trainable_per_phase,
    transfer_model,
)

SPLIT_COLUMNS = ["file", "split", "age", "gender", "race"]
# A band of predicted age with fewer validation faces keeps the q of all faces (chapter 7).
MIN_BAND_FACES = 50


@dataclass(frozen=True)
class RunFolder:
    """One run's folder and the files in it."""

    path: Path

    @classmethod
    def of(cls, path: str | Path) -> RunFolder:
        """The run folder of a folder, or of the model.keras file inside one."""
        path = Path(path)
        return cls(path.parent if path.suffix == ".keras" else path)

    @property
    def model_path(self) -> Path:
        """The trained model."""
        return self.path / "model.keras"

    @property
    def config_path(self) -> Path:
        """What the run was: model, preset, data, seed, and, once finished, its scores."""
        return self.path / "config.json"

    @property
    def splits_path(self) -> Path:
        """Which face was in which split."""
        return self.path / "splits.csv"

    @property
    def history_path(self) -> Path:
        """One row per epoch."""
        return self.path / "history.csv"

    def config(self) -> dict:
        """The run's config ({} when there is none yet)."""
        return json.loads(self.config_path.read_text()) if self.config_path.exists() else {}

    def write_config(self, config: dict) -> None:
        """Write the run's config."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")

    def finished(self) -> bool:
        """Whether the run ran to its end and saved its model."""
        return bool(self.config().get("finished")) and self.model_path.exists()

    def write_splits(self, faces: pd.DataFrame) -> None:
        """Record which face went to which split."""
        self.path.mkdir(parents=True, exist_ok=True)
        faces[SPLIT_COLUMNS].to_csv(self.splits_path, index=False)

    def splits(self) -> pd.DataFrame:
        """The run's splits.csv, with a clear error when it is missing."""
        if not self.splits_path.exists():
            raise DataNotFoundError(f"{self.splits_path} is missing: it is written by "
                                    "`course train` beside the model")
        return pd.read_csv(self.splits_path)

    def split_files(self, split: str) -> set[str]:
        """The file names of one split of the run."""
        splits = self.splits()
        return set(splits.loc[splits["split"] == split, "file"])

    def load_model(self) -> keras.Model:
        """The trained model, with a clear error when there is none."""
        return load_trained_model(self.model_path)

    def networks(self) -> list[keras.Model]:
        """The networks the run's model averages, each alone (member0, member1, ...), or its
        one model."""
        config = self.config()
        folders = config.get("member_dirs") or [member_folder(".", k).name  # older runs
                                                for k in range(config.get("members", 1))]
        if config.get("members", 1) == 1 and "member_dirs" not in config:
            return [self.load_model()]
        return [RunFolder(self.path / folder).load_model() for folder in folders]


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
    """Scan a UTKFace folder, split it (seeded) and train a named model on it into out/
    (`tops` replaces the preset's number of transfer tops, `minutes` its time budget, `members`
    its number of scratch networks averaged)."""
    started = time.perf_counter()
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
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = scan_folder(data)
    for w in caught:
        print(f"Warning: {w.message}", file=sys.stderr)
    faces = split_faces(report.manifest, seed=seed, max_faces=preset.max_faces)
    return train_on_faces(faces, str(report.folder), report.source, preset, model_name, out,
                          seed=seed, epochs=epochs, verbose=verbose, views=views, started=started)


def train_on_faces(faces: pd.DataFrame, data: str, source: str, preset: Preset, model_name: str,
                   out: str | Path, seed: int = 0, epochs: int | None = None,
                   verbose: int | str = "auto", views: tuple[str, ...] | None = None,
                   started: float | None = None) -> dict:
    """Train a named model on faces already split into out/ (model.keras, history.csv,
    config.json, splits.csv); a second call after an interruption resumes from out/backup.
    `views` replaces a transfer model's cached views of each training face (transfer.VIEWS);
    `started` (a time.perf_counter() reading) is when the run began, for the preset's budget.
    A scratch network at a preset with `scratch_members` > 1 is that many networks, trained side
    by side in out/member0, member1, ... (seeds seed, seed + 1, ...) and saved as their average."""
    run = RunFolder(Path(out))
    spec = with_views(get_model_spec(model_name), views)
    epochs = epochs or default_epochs(spec, preset)
    if run.finished():
        previous = run.config()
        print(f"{run.model_path} is already trained ({previous['epochs_run']} epochs); "
              "delete the folder to train again.")
        return previous
    seed_everything(seed)
    run.write_splits(faces)
    channels = spec.channels or preset.channels
    size = input_size(spec, preset)
    n_train = int((faces["split"] == "train").sum())
    members = default_members(spec, preset)
    extra: dict = {}
    if spec.backbone:  # a pretrained backbone, trained in two phases on cached features
        # preset.transfer_tops tops from the same start, each trained with its own seed on the
        # same cached features, saved as one model: their average behind the shared trunk.
        nets = [transfer_model(spec.backbone, size, **spec.options)
                for _ in range(preset.transfer_tops)]
        parts = nets[0]
        model, phases = ensemble(nets), phase_epochs(epochs)
        trainable = list(trainable_per_phase(parts).values())
        extra = {"pretrained": parts.pretrained, "weights": parts.weights_note,
                 "cut": parts.cut, "views": list(spec.views), "tops": len(nets),
                 "phase_epochs": list(phases), "trainable_params_per_phase": trainable}
    elif members > 1:  # trained in their own processes below, then averaged
        model = build_model(spec, preset, seed)  # for the parameter count: one network's
        extra = {"members": members, "member_seeds": list(range(seed, seed + members)),
                 "member_dirs": [member_folder(".", k).name for k in range(members)],
                 "threads_per_member": threads_per_member(members)}
    else:
        model = build_model(spec, preset, seed)
        trains = training_view(model)  # the same layers; a distribution head trains on its probs
        steps = math.ceil(n_train / preset.batch_size)
        compile_model(trains, keras.optimizers.Adam(
                          learning_rate(spec.schedule, spec.learning_rate, epochs, steps)),
                      age_weight=spec.age_weight, gender_weight=spec.gender_weight,
                      **age_head_loss(trains))
    config = {"model": spec.name, "description": spec.description, "options": spec.options,
              "preset": preset.to_dict(),
              "seed": seed, "data": data, "data_source": source,
              "n_train": n_train, "n_val": int((faces["split"] == "val").sum()),
              "n_test": int((faces["split"] == "test").sum()), "image_size": size,
              "channels": channels, "epochs": epochs, "schedule": spec.schedule,
              "learning_rate": spec.learning_rate, "age_weight": spec.age_weight,
              "gender_weight": spec.gender_weight,
              **{k: v * members for k, v in count_params(model).items()}, **extra,
              "finished": False}
    run.write_config(config)
    resumed = (run.path / "backup").exists() or (run.path / "phase1").exists() or any(
        run.path.glob("member*/history.csv"))
    print(f"{'Resuming' if resumed else 'Training'} {spec.name} on {n_train:,} faces "
          f"({size}x{size}, {channels} channel(s)), {epochs} epochs, "
          f"preset {preset.name}; writing to {run.path}", flush=True)
    if spec.backbone:
        print(f"  {parts.weights_note}", flush=True)
    start = time.perf_counter()
    if spec.backbone:
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
            if k and over_budget(preset.transfer_minutes, started or start, max(seconds),
                                 run.path / f"top{k}"):
                print(f"  {len(nets) - k} of {len(nets)} tops not trained: one more would take "
                      f"about {max(seconds) / 60:.0f} min, and the run would pass its budget of "
                      f"{preset.transfer_minutes:g} minutes (--minutes); saving the "
                      f"{k} trained", flush=True)
                config.update(tops=k, tops_skipped=len(nets) - k,
                              budget_minutes=preset.transfer_minutes)
                nets = nets[:k]
                model = ensemble(nets)
                config.update(count_params(model))
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
        extra_done = {"seconds_per_top": seconds, "val_per_top": per_top}
    elif members > 1:
        print(f"  {members} networks side by side, seeds {seed} to {seed + members - 1}, each in "
              f"its own process with {threads_per_member(members)} CPU thread(s), its own folder "
              f"({run.path / 'member0'}, ...) and its output in that folder's train.log; then "
              "their average is saved", flush=True)
        budget = preset.scratch_minutes
        if budget is not None:
            print(f"  a network is stopped if, at the slowest one's pace, the run would not end "
                  f"within {budget:g} minutes (--minutes)", flush=True)
        deadline = None if budget is None else \
            (started or start) + budget * 60 - FINISH_SECONDS
        configs = train_members(faces, data, source, preset, spec.name, run.path, members,
                                epochs, seed=seed, verbose=verbose, deadline=deadline)
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
        final = history
        extra_done = {"seconds_per_member": [configs[k]["seconds_this_session"] for k in kept],
                      "val_per_member": [configs[k]["val_one_view"] for k in kept],
                      "val_mirror_per_member": [configs[k]["val_mirror"] for k in kept]}
    else:
        train_ds, val_ds = datasets_for(faces, size, channels, preset.batch_size, seed)
        # Cosine runs use their whole budget (the rate is tiny at the end); plateau runs stop
        # early.
        history = fit(trains, train_ds, val_ds, epochs, run_dir=run.path, schedule=spec.schedule,
                      patience=epochs if spec.schedule == "cosine" else 5, verbose=verbose)
        final = history
        extra_done = {}
    model.save(run.model_path)
    for cached in run.path.glob("features_*.npy"):  # only needed to resume an unfinished run
        cached.unlink()
    # The weights kept: the last epoch's for a cosine schedule, else the best val_loss's.
    last = final.iloc[-1] if spec.schedule == "cosine" else \
        final.iloc[int(final["val_loss"].idxmin())]
    config.update(calibrate(model, faces[faces["split"] == "val"]))
    config.update(extra_done)
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


def thin_bands(predicted_age: pd.Series | Sequence[float],
               min_faces: int = MIN_BAND_FACES) -> list[str]:
    """The bands of predicted age with fewer than min_faces faces: they keep the q of all."""
    counts = age_band(predicted_age).value_counts()
    return [band for band in counts.index.astype(str) if counts[band] < min_faces]


def calibrate(model: keras.Model, val: pd.DataFrame, coverage: float = 0.9) -> dict:
    """What `course predict` and `course evaluate` use beside the model, chosen on the validation
    faces: whether to average each face with its mirror image (kept when it lowers the age MAE
    without lowering gender accuracy), and the conformal scale of the 90% age interval: one for
    a distribution head (times each face's spread), one per band of predicted age for a
    regression head (chapter 7)."""
    from .evaluation import age_spread, predict_faces, score

    views = {mirror: predict_faces(model, val, flip_average=mirror) for mirror in (False, True)}
    scores = {mirror: score(pred) for mirror, pred in views.items()}
    mirror = bool(scores[True]["age_mae"] < scores[False]["age_mae"]
                  and scores[True]["gender_accuracy"] >= scores[False]["gender_accuracy"])
    chosen = views[mirror]
    spread = "age_sd" if "age_sd" in chosen else "1 year"
    if spread == "age_sd":  # the distribution's spread already widens the unsure faces' interval
        q, by_band = conformal_scale(chosen["age_error"], age_spread(chosen), coverage), {}
    else:  # a regression head has no spread of its own: a q per band of predicted age instead
        by_band = conformal_scales(chosen["age_pred"], chosen["age_error"], age_spread(chosen),
                                   coverage, min_faces=MIN_BAND_FACES)
        q = by_band.pop("all")
        few = thin_bands(chosen["age_pred"])
        if few:
            print(f"  fewer than {MIN_BAND_FACES} validation faces were predicted in "
                  f"{', '.join(few)}: {'that band keeps' if len(few) == 1 else 'those keep'} "
                  f"the q of all faces ({q:.2f})", flush=True)
    brief = {m: {"age_mae": round(s["age_mae"], 3),
                 "gender_accuracy": round(s["gender_accuracy"], 4)} for m, s in scores.items()}
    return {"test_time_mirror": mirror, "val_one_view": brief[False], "val_mirror": brief[True],
            "age_interval": {"coverage": coverage, "q": round(q, 4), "spread": spread,
                             **({"q_by_band": {band: round(v, 4) for band, v in by_band.items()}}
                                if by_band else {}),
                             "calibrated_on": f"{len(val):,} validation faces"}}


def prediction_options(config: dict) -> dict:
    """predict_photo's `mirror` and `interval_q` from a run's config: what `course train` chose
    (no mirror and no interval for a run from before it calibrated any; one q for all faces
    for a run from before it calibrated one per band of predicted age)."""
    interval = config.get("age_interval") or {}
    q = interval.get("q_by_band") or interval.get("q")
    if isinstance(q, dict):
        q = {**q, "all": interval["q"]}
    return {"mirror": bool(config.get("test_time_mirror", False)), "interval_q": q}


def prediction_settings(model_path: str | Path) -> tuple[bool, float | dict | None]:
    """The mirror averaging and the interval scale `course train` chose for a model (from its
    run's config.json); (False, None) for a model without one."""
    options = prediction_options(RunFolder.of(model_path).config())
    return options["mirror"], options["interval_q"]
