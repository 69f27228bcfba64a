"""Transfer learning: an ImageNet backbone (MobileNetV2 or VGG16) with the course's two heads,
trained in two phases (heads only, then the backbone's last blocks at a lower learning rate).

The backbone is cut in two. The *trunk* (input up to the cut) stays frozen in both phases, so
its output never changes: it is computed once per face (and once per mirrored face, the flip
augmentation) and cached, and every epoch trains only the *top* (the last blocks and the heads)
on the cached features. That is what makes fine-tuning fit in minutes on a laptop's CPU. The
saved model is one ordinary Keras model from image to {"age", "gender"}.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers

from .data import _network_reachable
from .models import age_output
from .pipeline import make_dataset


@keras.saving.register_keras_serializable(package="course")
class CaffePreprocess(layers.Layer):
    """VGG16's `preprocess_input` as a layer: RGB to BGR, minus the ImageNet channel means."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """Reverse the channels and subtract the means (input in 0-255)."""
        return x[..., ::-1] - tf.constant([103.939, 116.779, 123.68], dtype=x.dtype)


@dataclass(frozen=True)
class Backbone:
    """A pretrained network: how to build it, preprocess for it, where to cut it, its weights."""

    name: str
    application: type
    weight_file: str  # the no-top file name Keras's cache uses
    cut: str  # the last layer of the frozen trunk; the layers after it are fine-tuned
    min_size: int = 32


BACKBONES: dict[str, Backbone] = {
    "mobilenetv2": Backbone("mobilenetv2", keras.applications.MobileNetV2,
                            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
                            cut="block_5_add"),  # blocks 6 to 16 are fine-tuned
    "vgg16": Backbone("vgg16", keras.applications.VGG16,
                      "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5", cut="block4_pool"),
}

PHASE_RATES = (1e-3, 1e-4)  # Adam's learning rate in phase 1 (heads) and phase 2 (fine-tuning)
WEIGHTS_HOST = "storage.googleapis.com"  # where keras.applications downloads weights from


def preprocess_layer(backbone: str) -> layers.Layer:
    """The backbone's own `preprocess_input`, as a layer inside the model (0-255 in)."""
    if backbone == "mobilenetv2":  # scales to [-1, 1]
        return layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenetv2_preprocess")
    if backbone == "vgg16":  # "caffe" mode: BGR, mean-centred, not scaled
        return CaffePreprocess(name="vgg16_preprocess")
    raise ValueError(f"unknown backbone {backbone!r}: choose one of {', '.join(BACKBONES)}")


def cached_weights(backbone: str) -> Path | None:
    """The backbone's ImageNet weight file in a local Keras cache ($KERAS_HOME, ~/.keras)."""
    name = BACKBONES[backbone].weight_file
    homes = [os.environ.get("KERAS_HOME"), Path.home() / ".keras", "/tmp/.keras"]
    for home in homes:
        if home and (Path(home) / "models" / name).is_file():
            return Path(home) / "models" / name
    return None


def resolve_weights(backbone: str, weights: str | None = "imagenet",
                    timeout: float = 3.0) -> tuple[str | None, str]:
    """What to pass as `weights=` and a sentence saying what the network starts from: a local
    cache first, else a download when the network answers, else random weights (said loudly)."""
    if weights != "imagenet":
        return weights, ("random initial weights (asked for): not pretrained" if weights is None
                         else f"weights from {weights}")
    local = cached_weights(backbone)
    if local is not None:
        return str(local), f"ImageNet weights from the local Keras cache ({local.name})"
    if os.environ.get("COURSE_NO_DOWNLOAD"):  # set by `tasks.py test`: tests never download
        reason = "downloads are switched off (COURSE_NO_DOWNLOAD is set)"
    elif _network_reachable(WEIGHTS_HOST, 443, timeout):
        return "imagenet", "ImageNet weights downloaded by Keras"
    else:
        reason = f"{WEIGHTS_HOST} cannot be reached"
    note = (f"NOT pretrained: the ImageNet weights of {backbone} are not in a local Keras cache "
            f"and {reason}, so the backbone starts from random weights. "
            "Its scores are those of a network trained from scratch on these faces, not "
            "of transfer learning. Run on Colab or Kaggle (they download the weights), or put "
            f"{BACKBONES[backbone].weight_file} in $KERAS_HOME/models.")
    warnings.warn(note, stacklevel=2)
    return None, note


@dataclass
class TransferModel:
    """The three views of one network (they share their layers, hence their weights)."""

    model: keras.Model  # image (0-255) -> {"age", "gender"}: the one to save and evaluate
    trunk: keras.Model  # image -> features at the cut (frozen: computed once, cached)
    top: keras.Model  # features -> {"age", "gender"}: the part that trains
    backbone_layers: list[layers.Layer]  # the backbone's layers inside `top`
    pretrained: bool
    weights_note: str
    cut: str  # the trunk's last layer

    def set_phase(self, phase: int) -> None:
        """Phase 1: only the heads train. Phase 2: the backbone's top blocks train too (their
        batch normalisation stays frozen, in inference mode, as Keras's guide advises)."""
        for layer in self.backbone_layers:
            layer.trainable = phase == 2 and not isinstance(layer, layers.BatchNormalization)


def transfer_model(backbone: str = "mobilenetv2", image_size: int = 128,
                   weights: str | None = "imagenet", dense: int = 256, dropout: float = 0.3,
                   cut: str | None = None, seed: int = 0) -> TransferModel:
    """A pretrained backbone cut into a frozen trunk and a trainable top, with the two heads.
    The seed fixes the random weights (the heads', and the backbone's when not pretrained), so
    two models built alike share one trunk and can share its cached features."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}: choose one of {', '.join(BACKBONES)}")
    spec = BACKBONES[backbone]
    if image_size < spec.min_size:
        raise ValueError(f"{backbone} needs images of at least {spec.min_size} pixels")
    weights, note = resolve_weights(backbone, weights)
    keras.utils.set_random_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "weights for 224 loaded at another size": intended
        base = spec.application(input_shape=(image_size, image_size, 3), include_top=False,
                                weights=weights)
    base.trainable = True
    image = keras.Input((image_size, image_size, 3), name="image")
    pre = preprocess_layer(backbone)
    cut_output = base.get_layer(cut or spec.cut).output
    trunk_core = keras.Model(base.input, cut_output, name=f"{backbone}_trunk_core")
    trunk_core.trainable = False
    trunk = keras.Model(image, trunk_core(pre(image)), name=f"{backbone}_trunk")
    upper = keras.Model(cut_output, base.output, name=f"{backbone}_top_blocks")
    head_layers = [layers.GlobalAveragePooling2D(name="gap"),
                   layers.Dropout(dropout, name="dropout"),
                   layers.Dense(dense, activation="relu", name="shared_dense")]
    gender_layer = layers.Dense(1, activation="sigmoid", name="gender")

    def heads(x: keras.KerasTensor) -> dict[str, keras.KerasTensor]:
        for layer in head_layers:
            x = layer(x)
        return {"age": age_output(x), "gender": gender_layer(x)}

    features = keras.Input(tuple(cut_output.shape[1:]), name="features")
    # training=False: the backbone's batch normalisation always uses its ImageNet statistics.
    top = keras.Model(features, heads(upper(features, training=False)), name=f"{backbone}_top")
    model = keras.Model(image, top(trunk(image)), name=f"{backbone}_transfer")
    parts = TransferModel(model, trunk, top, list(upper.layers[1:]), weights is not None, note,
                          cut or spec.cut)
    parts.set_phase(1)
    return parts


def mirror(images: tf.Tensor, labels: dict) -> tuple[tf.Tensor, dict]:
    """A batch of faces mirrored left to right (labels unchanged)."""
    return tf.image.flip_left_right(images), labels


def zoom(images: tf.Tensor, labels: dict, fraction: float = 0.9) -> tuple[tf.Tensor, dict]:
    """A batch of faces zoomed in: the central `fraction` of each, resized back (labels kept)."""
    size = tf.shape(images)[1:3]
    return tf.image.resize(tf.image.central_crop(images, fraction), size, method="area"), labels


# The extra views of each training face whose trunk features are cached (the augmentation of
# training on cached features): each epoch shows every face as itself or as one of these.
VIEWS = {"mirror": (mirror,), "zoom": (zoom,), "zoom_mirror": (zoom, mirror)}


def cache_features(trunk: keras.Model, faces: pd.DataFrame, image_size: int,
                   mirrored: bool = False, batch_size: int = 128,
                   view: str | None = None) -> np.ndarray:
    """The trunk's output for every face (float16), optionally of the mirrored faces or of
    another of the VIEWS."""
    ds = make_dataset(faces, image_size, 3, batch_size=batch_size, cache=False)
    view = view or ("mirror" if mirrored else None)
    for step in VIEWS[view] if view else ():
        ds = ds.map(step)
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


def features_for(parts: TransferModel, faces: pd.DataFrame, image_size: int,
                 cache_dir: Path | None = None,
                 views: tuple[str, ...] = ("mirror",)) -> dict[str, np.ndarray]:
    """The trunk's features of the training faces (plain and each of `views`: by default the
    mirrored faces) and of the validation faces, loaded from cache_dir when an interrupted run
    already computed them."""
    wanted = {"train": ("train", None), "val": ("val", None)}
    wanted.update({("train_mirrored" if view == "mirror" else f"train_{view}"): ("train", view)
                   for view in views})
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
    import math

    from .data import seed_everything
    from .models import compile_model
    from .training import fit, learning_rate

    seed_everything(seed)
    run_dir = Path(run_dir) if run_dir is not None else None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
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
        parts.set_phase(phase)
        if phase == 1 and done is not None and done.exists():  # resumed after phase 1
            parts.top.load_weights(done)
            history = pd.read_csv(folder / "history.csv")
            history["epoch"] += 1
        else:
            # Phase 1: a constant rate; phase 2: a lower one, decayed along a cosine.
            rate = learning_rate("cosine", rate, n_epochs, steps) if phase == 2 else rate
            compile_model(parts.top, learning_rate=rate, age_weight=age_weight,
                          gender_loss=gender_loss)
            history = fit(parts.top, train_ds, val_ds, n_epochs, run_dir=folder,
                          schedule="cosine", patience=n_epochs, verbose=verbose)
            if phase == 1 and done is not None:
                parts.top.save_weights(done)
        histories.append(history.assign(phase=phase))
    history = pd.concat(histories, ignore_index=True)
    history["epoch"] = range(1, len(history) + 1)  # counted across both phases
    return history


def trainable_per_phase(parts: TransferModel) -> dict[str, int]:
    """Trainable parameters in phase 1 and in phase 2 (leaves the model in phase 2)."""
    from .models import count_params

    counts = {}
    for phase in (1, 2):
        parts.set_phase(phase)
        counts[f"trainable_phase{phase}"] = count_params(parts.model)["trainable_params"]
    return counts
