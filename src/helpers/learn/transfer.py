"""Transfer learning's plumbing: chapter 6 builds the network (`transfer_model`, in
helpers.taught) and trains it in two phases (heads only, then the backbone's last blocks at a
lower learning rate); this module caches the frozen trunk's features and runs both phases into a
run folder that can resume.

The backbone is cut in two. The *trunk* (input up to the cut) stays frozen in both phases, so
its output never changes: it is computed once per face (and once per mirrored face, the flip
augmentation) and cached, and every epoch trains only the *top* (the last blocks and the heads)
on the cached features. That is what makes fine-tuning fit in minutes on a laptop's CPU. The
saved model is one ordinary Keras model from image to {"age", "gender"}.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from helpers.data import seed_everything
from helpers.data.pipeline import make_dataset
from helpers.learn.models import count_params
from helpers.learn.training import fit
from helpers.learn.weights import WEIGHTS_HOST, cached_weights, resolve_weights  # noqa: F401

# The chapter's code, re-exported for the callers that know it as helpers.learn.transfer.*
from helpers.taught import (  # noqa: F401
    BACKBONES,
    PHASE_RATES,
    Backbone,
    CaffePreprocess,
    TransferModel,
    jitter,
    learning_rate,
    prepare_phase,
    preprocess_layer,
    transfer_model,
)


def mirror(images: tf.Tensor, labels: dict) -> tuple[tf.Tensor, dict]:
    """A batch of faces mirrored left to right (labels unchanged)."""
    return tf.image.flip_left_right(images), labels


def zoom(images: tf.Tensor, labels: dict, fraction: float = 0.9) -> tuple[tf.Tensor, dict]:
    """A batch of faces zoomed in: the central `fraction` of each, resized back (labels kept)."""
    size = tf.shape(images)[1:3]
    return tf.image.resize(tf.image.central_crop(images, fraction), size, method="area"), labels


# The extra views of each training face whose trunk features are cached (the augmentation of
# training on cached features): each epoch shows every face as itself or as one of these.
# Functions map a batch; LAYER_VIEWS build a random Keras layer once per caching pass
# ("jitter2" is a second reframing of every face, drawn with other seeds).
LAYER_VIEWS = {"jitter": jitter, "jitter2": lambda: jitter(seed=10)}
VIEWS = {"mirror": (mirror,), "zoom": (zoom,), "zoom_mirror": (zoom, mirror),
         **{name: () for name in LAYER_VIEWS}}


def cache_features(trunk: keras.Model, faces: pd.DataFrame, image_size: int,
                   mirrored: bool = False, batch_size: int = 128,
                   view: str | None = None) -> np.ndarray:
    """The trunk's output for every face (float16), optionally of the mirrored faces or of
    another of the VIEWS."""
    ds = make_dataset(faces, image_size, 3, batch_size=batch_size, cache=False)
    view = view or ("mirror" if mirrored else None)
    for step in VIEWS[view] if view else ():
        ds = ds.map(step)
    if view in LAYER_VIEWS:
        layer = LAYER_VIEWS[view]()
        ds = ds.map(lambda x, y: (layer(x, training=True), y))
    out = [trunk(x, training=False).numpy().astype(np.float16) for x, _ in ds]
    return np.concatenate(out)


def feature_dataset(features: np.ndarray, faces: pd.DataFrame, batch_size: int,
                    mirrored: np.ndarray | list[np.ndarray] | None = None,
                    shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """Cached features with their labels; with `mirrored` (the features of the mirrored faces,
    or a list of several views), each face is shown as itself or as one of its other views, at
    random (augmentation, on cached features)."""
    labels = {"age": faces["age"].to_numpy("float32"),
              "gender": faces["gender"].to_numpy("float32")}
    if mirrored is None:
        ds = tf.data.Dataset.from_tensor_slices((features, labels))
    else:
        views = (features, *(mirrored if isinstance(mirrored, list) else [mirrored]))
        ds = tf.data.Dataset.from_tensor_slices((views, labels))
    if shuffle:
        ds = ds.shuffle(len(features), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)
    if mirrored is not None:
        rng = tf.random.Generator.from_seed(seed)

        def pick(views, y):
            stacked = tf.stack(views)  # (views, batch, ...)
            n = tf.shape(stacked)[1]
            which = rng.uniform([n], 0, len(views), dtype=tf.int32)
            return tf.gather_nd(stacked, tf.stack([which, tf.range(n)], axis=1)), y

        ds = ds.map(pick)
    return ds.map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(tf.data.AUTOTUNE)


def phase_epochs(epochs: int) -> tuple[int, int]:
    """Split an epoch budget into (heads only, fine-tuning): about 15% for the first phase."""
    heads = max(1, round(epochs * 0.15))
    return heads, max(1, epochs - heads)


FEATURES_STAMP = "features.json"  # what the cached features in a run folder were made from


def feature_fingerprint(parts: TransferModel, faces: pd.DataFrame, image_size: int,
                        views: tuple[str, ...]) -> str:
    """A digest of everything cached trunk features depend on: the faces of each split, the
    input size, the cut, the views and the trunk's weights themselves."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"files": {split: sorted(faces.loc[faces["split"] == split, "file"])
                                        for split in ("train", "val")},
                              "size": image_size, "cut": parts.cut, "views": list(views)},
                             sort_keys=True).encode())
    for weight in parts.trunk.weights:
        digest.update(np.ascontiguousarray(np.asarray(weight)).tobytes())
    return digest.hexdigest()


def features_for(parts: TransferModel, faces: pd.DataFrame, image_size: int,
                 cache_dir: Path | None = None,
                 views: tuple[str, ...] = ("mirror",)) -> dict[str, np.ndarray]:
    """The trunk's features of the training faces (plain and each of `views`: by default the
    mirrored faces) and of the validation faces, loaded from cache_dir when an interrupted run
    already computed them from the same faces, size, cut, views and weights (a fingerprint in
    features.json says so; features made from anything else are computed again)."""
    wanted = {"train": ("train", None), "val": ("val", None)}
    wanted.update({("train_mirrored" if view == "mirror" else f"train_{view}"): ("train", view)
                   for view in views})
    if cache_dir is not None:
        cache_dir = Path(cache_dir)
        stamp = cache_dir / FEATURES_STAMP
        fingerprint = feature_fingerprint(parts, faces, image_size, views)
        cached = sorted(cache_dir.glob("features_*.npy"))
        made_from = json.loads(stamp.read_text()).get("fingerprint") if stamp.is_file() else None
        if made_from != fingerprint:
            if cached:
                print(f"  the cached features in {cache_dir.name} were made from other faces, "
                      "size, cut, views or weights: computing them again", flush=True)
            for path in cached:
                path.unlink()
            cache_dir.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps({"fingerprint": fingerprint}) + "\n")
    out = {}
    for key, (split, view) in wanted.items():
        path = cache_dir / f"features_{key}.npy" if cache_dir is not None else None
        if path is not None and path.exists():
            out[key] = np.load(path)
            continue
        out[key] = cache_features(parts.trunk, faces[faces["split"] == split], image_size,
                                  view=view)
        if path is not None:
            np.save(path, out[key])
    return out


def train_transfer(parts: TransferModel, faces: pd.DataFrame, image_size: int, batch_size: int,
                   epochs: tuple[int, int], learning_rates: tuple[float, float] = PHASE_RATES,
                   age_weight: float = 0.1, gender_loss: str | keras.losses.Loss =
                   "binary_crossentropy", run_dir: str | Path | None = None, seed: int = 0,
                   verbose: int | str = 0, features: dict[str, np.ndarray] | None = None,
                   views: tuple[str, ...] = ("mirror",)) -> pd.DataFrame:
    """Phase 1 trains the heads, phase 2 also the backbone's top blocks (cosine-decayed lower
    rate), both on cached trunk features; returns both phases' history with a 'phase' column.
    With a run folder, a killed run resumes (features, phase 1 and phase 2 are all saved).
    `features` (from features_for) reuses the cached features of the same backbone and faces;
    `views` are the extra views of each training face (see VIEWS)."""
    seed_everything(seed)
    run_dir = Path(run_dir) if run_dir is not None else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        if (run_dir / TOP_DONE).exists():  # both phases finished before an interruption
            return _finished_top(parts, run_dir)
    feats = features if features is not None else features_for(parts, faces, image_size, run_dir,
                                                               views)
    train, val = faces[faces["split"] == "train"], faces[faces["split"] == "val"]
    others = [feats[key] for key in feats if key.startswith("train_")]
    extra = None if not others else others[0] if len(others) == 1 else others
    train_ds = feature_dataset(feats["train"], train, batch_size, extra, shuffle=True, seed=seed)
    val_ds = feature_dataset(feats["val"], val, batch_size)
    steps = math.ceil(len(train) / batch_size)
    histories = []
    for phase, (n_epochs, rate) in enumerate(zip(epochs, learning_rates, strict=True), start=1):
        folder = None if run_dir is None else run_dir / ("phase1" if phase == 1 else "")
        done = None if run_dir is None else run_dir / "phase1.weights.h5"
        parts.set_phase(phase)  # prepare_phase sets it again, and compiles
        if phase == 1 and done is not None and done.exists():  # resumed after phase 1
            parts.top.load_weights(done)
            history = pd.read_csv(folder / "history.csv")
            history["epoch"] += 1
        else:
            # Phase 1: a constant rate; phase 2: a lower one, decayed along a cosine.
            rate = learning_rate("cosine", rate, n_epochs, steps) if phase == 2 else rate
            prepare_phase(parts, phase, rate, age_weight=age_weight, gender_loss=gender_loss)
            history = fit(parts.top, train_ds, val_ds, n_epochs, run_dir=folder,
                          schedule="cosine", patience=n_epochs, verbose=verbose)
            if phase == 1 and done is not None:
                parts.top.save_weights(done)
        histories.append(history.assign(phase=phase))
    history = pd.concat(histories, ignore_index=True)
    history["epoch"] = range(1, len(history) + 1)  # counted across both phases
    if run_dir is not None:
        parts.top.save_weights(run_dir / TOP_DONE)
        history.to_csv(run_dir / "history_both_phases.csv", index=False)
    return history


TOP_DONE = "top.weights.h5"  # a run folder's top after both phases


def _finished_top(parts: TransferModel, run_dir: Path) -> pd.DataFrame:
    """Load a top that train_transfer finished in run_dir; its history of both phases."""
    parts.set_phase(2)
    parts.top.load_weights(run_dir / TOP_DONE)
    return pd.read_csv(run_dir / "history_both_phases.csv")


def trainable_per_phase(parts: TransferModel) -> dict[str, int]:
    """Trainable parameters in phase 1 and in phase 2 (leaves the model in phase 2)."""
    counts = {}
    for phase in (1, 2):
        parts.set_phase(phase)
        counts[f"trainable_phase{phase}"] = count_params(parts.model)["trainable_params"]
    return counts
