"""The code the chapters teach, copied from their `#@save` cells.

GENERATED: do not edit. Change the cell in notebooks/, then run `python3 tasks.py save`
(tests/test_codegen.py fails until the two agree). The rest of `helpers`, the `course` command
line and the tests import from here, so they run the very code each chapter shows.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from sklearn.linear_model import QuantileRegressor
from sklearn.metrics import precision_recall_curve

from helpers.data import AGE_BAND_LABELS, age_band
from helpers.learn.history import best_so_far
from helpers.learn.weights import resolve_weights

# ---- 02_how_a_network_learns.ipynb -------------------------------------------------------------

def gradient_descent(x: np.ndarray, y: np.ndarray, learning_rate: float = 0.1,
                     epochs: int = 50, batch_size: int | None = None,
                     seed: int = 0) -> tuple[float, float, np.ndarray]:
    """Fit y = w * x + b by gradient descent on the mean squared error, one batch at a time
    (batch_size None: all the examples at each step); returns w, b and the training loss after
    each epoch."""
    rng = np.random.default_rng(seed)
    batch_size = batch_size or len(x)
    w, b = 0.0, 0.0
    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(x))  # a new random order of the examples at every epoch
        for start in range(0, len(x), batch_size):
            batch = order[start:start + batch_size]
            error = (w * x[batch] + b) - y[batch]  # prediction minus target
            w -= learning_rate * 2 * np.mean(error * x[batch])  # a step against dL/dw
            b -= learning_rate * 2 * np.mean(error)  # a step against dL/db
        losses.append(float(np.mean((w * x + b - y) ** 2)))
    return w, b, np.array(losses)


# ---- 04_scratch_cnn.ipynb ----------------------------------------------------------------------

def seed_cnn(image_size: int = 128, channels: int = 1) -> keras.Model:
    """Project 001's network: four 3x3 convolutions (32 to 256 filters), each followed by 2x2
    max-pooling, flatten, a shared dense layer, then a gender head and an age head."""
    image = keras.Input((image_size, image_size, channels), name="image")
    x = layers.Rescaling(1 / 255, name="scale_0_1")(image)  # pixels 0-255 -> 0-1
    x = layers.Conv2D(32, (3, 3), activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D((2, 2), name="pool1")(x)
    x = layers.Conv2D(64, (3, 3), activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D((2, 2), name="pool2")(x)
    x = layers.Conv2D(128, (3, 3), activation="relu", name="conv3")(x)
    x = layers.MaxPooling2D((2, 2), name="pool3")(x)
    x = layers.Conv2D(256, (3, 3), activation="relu", name="conv4")(x)
    x = layers.MaxPooling2D((2, 2), name="pool4")(x)
    x = layers.Flatten(name="flatten")(x)
    dense1 = layers.Dense(256, activation="relu", name="dense1")(x)  # shared by both heads
    dense2 = layers.Dense(256, activation="relu", name="dense2")(dense1)  # age only
    gender = layers.Dropout(0.3, name="gender_dropout")(dense1)
    gender = layers.Dense(1, activation="sigmoid", name="gender")(gender)
    age = layers.Dropout(0.3, name="age_dropout")(dense2)
    age = layers.Dense(1, activation="relu", name="age")(age)
    return keras.Model(image, {"age": age, "gender": gender}, name="seed_cnn")


def compile_model(model: keras.Model, optimizer: keras.optimizers.Optimizer | None = None,
                  age_weight: float = 1.0, gender_weight: float = 1.0,
                  gender_loss: str | keras.losses.Loss = "binary_crossentropy",
                  age_loss: str | keras.losses.Loss = "mae",
                  age_metric: keras.metrics.Metric | None = None) -> keras.Model:
    """One loss per head (MAE for age, cross-entropy for gender), weighted, and a metric each
    (chapter 5's age distribution brings its own age loss and metric)."""
    model.compile(
        optimizer=optimizer or keras.optimizers.Adam(learning_rate=1e-3),
        loss={"age": age_loss, "gender": gender_loss},
        loss_weights={"age": age_weight, "gender": gender_weight},
        metrics={"age": [age_metric or keras.metrics.MeanAbsoluteError(name="mae")],
                 "gender": [keras.metrics.BinaryAccuracy(name="accuracy")]})
    return model


def plateau_callbacks(patience: int = 5,
                      monitor: str = "val_loss") -> list[keras.callbacks.Callback]:
    """Halve the learning rate when `monitor` stalls; stop when it has not improved for
    `patience` epochs, with the best epoch's weights put back."""
    return [keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5,
                                              patience=max(1, patience // 2), min_lr=1e-5),
            keras.callbacks.EarlyStopping(monitor=monitor, patience=patience,
                                          restore_best_weights=True)]


def paired_difference(a, b, n_boot: int = 1000, seed: int = 0) -> dict[str, float]:
    """The mean of b - a over the same faces (one value per face for each model), with a 95%
    bootstrap interval that resamples the faces together for both."""
    difference = np.asarray(b, float) - np.asarray(a, float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(difference), size=(n_boot, len(difference)))
    means = difference[draws].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"difference": float(difference.mean()), "low": float(low), "high": float(high)}


# ---- 05_making_it_better.ipynb -----------------------------------------------------------------

# The age head predicts in units of AGE_SCALE years around AGE_OFFSET, so that a freshly
# initialised network starts near a typical age instead of 0 (fixed constants, not fitted).
AGE_OFFSET = 33.0
AGE_SCALE = 20.0


def age_output(x: keras.KerasTensor, name: str = "age") -> keras.KerasTensor:
    """A linear unit rescaled to years around AGE_OFFSET."""
    unit = layers.Dense(1, name=f"{name}_unit")(x)
    return layers.Rescaling(AGE_SCALE, offset=AGE_OFFSET, name=name)(unit)


def conv_block(x: keras.KerasTensor, filters: int, name: str, batch_norm: bool = True,
               convs: int = 1) -> keras.KerasTensor:
    """convs x (3x3 convolution [+ batch normalisation] + ReLU), then 2x2 max-pooling."""
    for j in range(convs):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not batch_norm,
                          name=f"{name}_conv{j + 1}")(x)
        if batch_norm:
            # momentum 0.9: the moving statistics used at inference follow the weights closely
            # (Keras's 0.99 lags behind them in short runs at a high learning rate).
            x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn{j + 1}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{j + 1}")(x)
    return layers.MaxPooling2D(2, name=f"{name}_pool")(x)


def augmentation(kind: str = "flip", seed: int = 0) -> keras.Sequential:
    """Random changes applied in training only: 'flip', or 'full' (flip, rotation 15 degrees,
    zoom 0.1, brightness, contrast), as Keras preprocessing layers on 0-1 images."""
    steps: list[layers.Layer] = [layers.RandomFlip("horizontal", seed=seed)]
    if kind == "full":
        steps += [layers.RandomRotation(15 / 360, fill_mode="reflect", seed=seed),
                  layers.RandomZoom(0.1, fill_mode="reflect", seed=seed),
                  layers.RandomBrightness(0.1, value_range=(0, 1), seed=seed),
                  layers.RandomContrast(0.2, seed=seed)]
    elif kind != "flip":
        raise ValueError(f"augmentation kind {kind!r}: choose 'flip' or 'full'")
    return keras.Sequential(steps, name=f"augment_{kind}")


def age_outputs(x: keras.KerasTensor, kind: str = "regression") -> dict[str, keras.KerasTensor]:
    """The age head's outputs: "age" in years ('regression'), or a distribution over the years
    with its mean as "age" and its spread as "age_sd" ('distribution')."""
    if kind == "regression":
        return {"age": age_output(x)}
    if kind == "distribution":  # the optional section at the end of the chapter
        probs = age_distribution(x)
        mean, spread = ExpectedAge(name="age")(probs)
        return {"age": mean, "age_sd": spread, "age_probs": probs}
    raise ValueError(f"age head {kind!r}: choose 'regression' or 'distribution'")


def scratch_cnn(image_size: int = 64, channels: int = 3,
                widths: tuple[int, ...] = (32, 64, 128, 256), convs: tuple[int, ...] = (1, 1, 1, 1),
                augment: str | None = "flip", batch_norm: bool = True, pooling: str = "gap",
                dropout: float = 0.3, dense: int = 128, age_head: str = "regression",
                seed: int = 0) -> keras.Model:
    """The chapter's network: the earlier projects' four blocks plus batch normalisation, global
    average pooling, augmentation layers and an age head in years (or a distribution over
    them)."""
    if len(convs) != len(widths):
        raise ValueError(f"{len(widths)} widths but {len(convs)} conv counts")
    image = keras.Input((image_size, image_size, channels), name="image")
    x = layers.Rescaling(1 / 255, name="scale_0_1")(image)
    if augment:
        x = augmentation(augment, seed=seed)(x)
    for i, (filters, n) in enumerate(zip(widths, convs, strict=True), start=1):
        x = conv_block(x, filters, f"block{i}", batch_norm=batch_norm, convs=n)
    if pooling == "gap":
        x = layers.GlobalAveragePooling2D(name="gap")(x)
    elif pooling == "flatten":
        x = layers.Flatten(name="flatten")(x)
    else:
        raise ValueError(f"pooling {pooling!r}: choose 'gap' or 'flatten'")
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(dense, activation="relu", name="shared_dense")(x)
    gender = layers.Dense(1, activation="sigmoid", name="gender")(x)
    return keras.Model(image, {**age_outputs(x, age_head), "gender": gender}, name="scratch_cnn")


class EpochTimer(keras.callbacks.Callback):
    """Adds the epoch's wall-clock seconds to the logs (so CSVLogger and History record it)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Start the clock."""
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Record the seconds this epoch took."""
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self._start


def make_callbacks(run_dir: str | Path | None = None, schedule: str = "plateau",
                   patience: int = 5, monitor: str = "val_loss") -> list[keras.callbacks.Callback]:
    """The timer; for a constant rate ('plateau'), chapter 4's plateau rule and early stopping;
    with a run folder, also the best model, the history as CSV, and a backup to resume from."""
    callbacks: list[keras.callbacks.Callback] = [EpochTimer()]
    if schedule == "plateau":
        callbacks += plateau_callbacks(patience, monitor)
    # A cosine schedule runs its whole budget and keeps the last weights (its rate ends near 0).
    if run_dir is not None:
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        callbacks += [
            keras.callbacks.ModelCheckpoint(
                run_dir / "best.keras", monitor=monitor, save_best_only=True,
                initial_value_threshold=best_so_far(run_dir / "history.csv", monitor)),
            keras.callbacks.CSVLogger(run_dir / "history.csv", append=True),
            # after the CSV row; double_checkpoint keeps the previous backup in case a kill
            # comes in the middle of writing one
            keras.callbacks.BackupAndRestore(run_dir / "backup", double_checkpoint=True),
        ]
    return callbacks


OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9),
}


def learning_rate(schedule: str, base: float, epochs: int,
                  steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """A constant rate for 'plateau' (ReduceLROnPlateau lowers it), a cosine decay for 'cosine'."""
    if schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(base, decay_steps=epochs * steps_per_epoch,
                                                      alpha=0.01)
    if schedule == "plateau":
        return base
    raise ValueError(f"schedule {schedule!r}: choose 'cosine' or 'plateau'")


# One class per year, 0 to 100: the few faces older than 100 count as 100 in the soft label
# (the error of the expected value still uses their real age).
AGE_BINS = np.arange(0, 101, dtype="float32")


def age_distribution(x: keras.KerasTensor, name: str = "age_probs") -> keras.KerasTensor:
    """A softmax over AGE_BINS: the probability of each year of age."""
    return layers.Dense(len(AGE_BINS), activation="softmax", name=name)(x)


@keras.saving.register_keras_serializable(package="course")
class ExpectedAge(layers.Layer):
    """A distribution over AGE_BINS read out as its mean (the predicted age) and its standard
    deviation (how spread out, in years, the network's belief is)."""

    def call(self, probs: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Mean and standard deviation of each row, in years."""
        ages = tf.constant(AGE_BINS, dtype=probs.dtype)
        mean = tf.reduce_sum(probs * ages, axis=-1, keepdims=True)
        variance = tf.reduce_sum(probs * tf.square(ages - mean), axis=-1, keepdims=True)
        return mean, tf.sqrt(variance + 1e-6)


def soft_label(age: tf.Tensor, sigma: float = 2.0) -> tf.Tensor:
    """A Gaussian of `sigma` years around each age, over AGE_BINS, summing to 1."""
    age = tf.clip_by_value(tf.reshape(tf.cast(age, tf.float32), (-1, 1)), 0.0, AGE_BINS[-1])
    weights = tf.exp(-tf.square(tf.constant(AGE_BINS) - age) / (2 * sigma**2))
    return weights / tf.reduce_sum(weights, axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="course")
def expected_age_error(age: tf.Tensor, probs: tf.Tensor) -> tf.Tensor:
    """The absolute error, in years, of the distribution's expected value."""
    mean = tf.reduce_sum(probs * tf.constant(AGE_BINS, dtype=probs.dtype), axis=-1)
    return tf.abs(mean - tf.reshape(tf.cast(age, probs.dtype), (-1,)))


@keras.saving.register_keras_serializable(package="course")
class AgeDistributionLoss(keras.losses.Loss):
    """KL divergence from the soft label, plus `mean_weight` x the expected value's error."""

    def __init__(self, sigma: float = 2.0, mean_weight: float = 0.1,
                 name: str = "age_distribution", **kwargs):
        super().__init__(name=name, **kwargs)
        self.sigma, self.mean_weight = sigma, mean_weight

    def call(self, age: tf.Tensor, probs: tf.Tensor) -> tf.Tensor:
        """One value per face."""
        target = tf.cast(soft_label(age, self.sigma), probs.dtype)
        return (keras.losses.kl_divergence(target, probs)
                + self.mean_weight * expected_age_error(age, probs))

    def get_config(self) -> dict:
        """What a saved model needs to rebuild the loss."""
        return {**super().get_config(), "sigma": self.sigma, "mean_weight": self.mean_weight}


def training_view(model: keras.Model) -> keras.Model:
    """The model that trains: the same layers, with the distribution as its "age" output (a
    regression model is its own training view)."""
    if "age_probs" not in model.output:
        return model
    return keras.Model(model.input, {"age": model.output["age_probs"],
                                     "gender": model.output["gender"]},
                       name=f"{model.name}_training")


def age_head_loss(model: keras.Model) -> dict:
    """compile_model's age loss and metric for a training view: the distribution's loss and the
    expected value's MAE (still logged as age_mae) for a distribution, MAE otherwise."""
    if model.output["age"].shape[-1] == len(AGE_BINS):
        return {"age_loss": AgeDistributionLoss(),
                "age_metric": keras.metrics.MeanMetricWrapper(expected_age_error, name="mae")}
    return {}


def renamed(model: keras.Model, name: str) -> keras.Model:
    """The same network (the same layers and weights) under another name."""
    return keras.Model(model.input, model.output, name=name)


def averaged(*models: keras.Model, name: str = "averaged") -> keras.Model:
    """One model whose answers are the means of the models' answers (an ensemble): age and
    gender, and the age distribution and its spread where all have them. Each model needs a name
    of its own (see `renamed`)."""
    if not models:
        raise ValueError("averaged() needs at least one model")
    inputs = keras.Input(models[0].input_shape[1:], name=models[0].inputs[0].name)
    answers = [model(inputs) for model in models]
    heads = [head for head in ("age", "gender", "age_sd", "age_probs")
             if all(head in a for a in answers)]
    return keras.Model(inputs, {head: layers.Average(name=head)([a[head] for a in answers])
                                for head in heads}, name=name)


def average_of(networks: list[keras.Model]) -> keras.Model:
    """Networks of one architecture as one model that averages their answers (one: itself)."""
    if len(networks) == 1:
        return networks[0]
    return averaged(*[renamed(net, f"{net.name}_{k}") for k, net in enumerate(networks)],
                    name=networks[0].name)


# ---- 06_transfer_learning.ipynb ----------------------------------------------------------------

@keras.saving.register_keras_serializable(package="course")
class CaffePreprocess(layers.Layer):
    """VGG16's `preprocess_input` as a layer: RGB to BGR, minus the ImageNet channel means."""

    def call(self, x: tf.Tensor) -> tf.Tensor:
        """Reverse the channels and subtract the means (input in 0-255)."""
        return x[..., ::-1] - tf.constant([103.939, 116.779, 123.68], dtype=x.dtype)


def preprocess_layer(backbone: str) -> layers.Layer:
    """The backbone's own `preprocess_input`, as a layer inside the model (0-255 in)."""
    if backbone == "mobilenetv2":  # scales to [-1, 1]
        return layers.Rescaling(1 / 127.5, offset=-1.0, name="mobilenetv2_preprocess")
    if backbone == "vgg16":  # "caffe" mode: BGR, mean-centred, not scaled
        return CaffePreprocess(name="vgg16_preprocess")
    raise ValueError(f"unknown backbone {backbone!r}: choose 'mobilenetv2' or 'vgg16'")


@dataclass(frozen=True)
class Backbone:
    """A pretrained network: how to build it, and where to cut it."""

    name: str
    application: type  # a keras.applications network
    cut: str  # the last layer of the frozen trunk; the layers after it are fine-tuned
    min_size: int = 32


BACKBONES: dict[str, Backbone] = {
    "mobilenetv2": Backbone("mobilenetv2", keras.applications.MobileNetV2,
                            cut="block_5_add"),  # blocks 6 to 16 are fine-tuned
    "vgg16": Backbone("vgg16", keras.applications.VGG16, cut="block4_pool"),
}


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
                   cut: str | None = None, age_head: str = "regression",
                   seed: int = 0) -> TransferModel:
    """A pretrained backbone cut into a frozen trunk and a trainable top, with the two heads
    (age in years, or chapter 5's distribution over the years: `age_head`). The seed fixes the
    random weights (the heads', and the backbone's when not pretrained)."""
    if backbone not in BACKBONES:
        raise ValueError(f"unknown backbone {backbone!r}: choose one of {', '.join(BACKBONES)}")
    spec = BACKBONES[backbone]
    if image_size < spec.min_size:
        raise ValueError(f"{backbone} needs images of at least {spec.min_size} pixels")
    weights, note = resolve_weights(backbone, weights)  # a local file, a download, or None
    keras.utils.set_random_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "weights for 224 loaded at another size": intended
        base = spec.application(input_shape=(image_size, image_size, 3), include_top=False,
                                weights=weights)
    image = keras.Input((image_size, image_size, 3), name="image")
    cut_output = base.get_layer(cut or spec.cut).output
    trunk_core = keras.Model(base.input, cut_output, name=f"{backbone}_trunk_core")
    trunk_core.trainable = False
    trunk = keras.Model(image, trunk_core(preprocess_layer(backbone)(image)),
                        name=f"{backbone}_trunk")
    upper = keras.Model(cut_output, base.output, name=f"{backbone}_top_blocks")
    features = keras.Input(tuple(cut_output.shape[1:]), name="features")
    # training=False: the backbone's batch normalisation always uses its ImageNet statistics.
    x = upper(features, training=False)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Dense(dense, activation="relu", name="shared_dense")(x)
    gender = layers.Dense(1, activation="sigmoid", name="gender")  # made before the age unit,
    ages = age_outputs(x, age_head)  # so that a seed draws the same start as the recorded runs
    answers = keras.Model(features, {**ages, "gender": gender(x)}, name=f"{backbone}_top")
    model = keras.Model(image, answers(trunk(image)), name=f"{backbone}_transfer")
    top = training_view(answers)  # what trains (the same layers)
    parts = TransferModel(model, trunk, top, list(upper.layers[1:]), weights is not None, note,
                          cut or spec.cut)
    parts.set_phase(1)
    return parts


def jitter(seed: int = 0) -> keras.Sequential:
    """Faces framed the way a detector crops photos (Keras preprocessing layers): zoomed 15% in
    to 20% out and shifted up to 8%, edges repeated, mirrored half the time, grey a fifth."""
    return keras.Sequential([
        layers.RandomZoom((-0.15, 0.2), fill_mode="nearest", seed=seed),
        layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=seed + 1),
        layers.RandomFlip("horizontal", seed=seed + 2),
        layers.RandomGrayscale(0.2, seed=seed + 3)], name="jitter")


PHASE_RATES = (1e-3, 1e-4)  # Adam's learning rate in phase 1 (heads) and phase 2 (fine-tuning)


def prepare_phase(parts: TransferModel, phase: int,
                  rate: float | keras.optimizers.schedules.LearningRateSchedule,
                  age_weight: float = 0.1,
                  gender_loss: str | keras.losses.Loss = "binary_crossentropy") -> keras.Model:
    """Set what trains in this phase, then compile the top again (with Adam at `rate`)."""
    parts.set_phase(phase)
    return compile_model(parts.top, keras.optimizers.Adam(rate), age_weight=age_weight,
                         gender_loss=gender_loss, **age_head_loss(parts.top))


def ensemble(nets: list[TransferModel]) -> keras.Model:
    """One model from image to answers: the trunk the nets share (frozen, the same ImageNet
    weights; a clear error if theirs differ), then the average of their tops (one net: its own
    model)."""
    if len(nets) == 1:
        return nets[0].model
    shared = nets[0].trunk.get_weights()
    for net in nets[1:]:  # each top must have learnt from the features of this very trunk
        weights = net.trunk.get_weights()
        if len(weights) != len(shared) or not all(
                np.array_equal(a, b) for a, b in zip(weights, shared, strict=True)):
            raise ValueError("ensemble() needs tops trained on one trunk: the same backbone, "
                             "cut and weights (random weights: the same seed)")
    tops = [net.model.layers[-1] for net in nets]  # features -> answers, called last
    top = average_of(tops)
    image = keras.Input(nets[0].model.input_shape[1:], name="image")
    return keras.Model(image, top(nets[0].trunk(image)), name=nets[0].model.name)


def best_threshold(y_true, p_female) -> dict[str, float]:
    """The decision threshold on p_female that maximises F1 (choose it on the validation split,
    then apply it once to the test split), with the F1 it reaches there."""
    precision, recall, thresholds = precision_recall_curve(np.asarray(y_true).astype(int),
                                                           np.asarray(p_female))
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    best = int(np.argmax(f1[:-1]))  # the last point has no threshold
    return {"threshold": float(thresholds[best]), "f1": float(f1[best])}


# ---- 07_how_much_data.ipynb --------------------------------------------------------------------

def head_model(n_features: int, age_head: str = "regression", dense: int = 256,
               dropout: float = 0.3) -> keras.Model:
    """Two heads on a feature vector: age in years ('regression') or age group probabilities
    ('classes', output 'age_band'), and the gender probability."""
    features = keras.Input((n_features,), name="features")
    x = layers.Dropout(dropout, name="dropout")(features)
    x = layers.Dense(dense, activation="relu", name="shared_dense")(x)
    gender = layers.Dense(1, activation="sigmoid", name="gender")(x)
    if age_head == "regression":
        return keras.Model(features, {"age": age_output(x), "gender": gender})
    if age_head == "classes":
        band = layers.Dense(len(AGE_BAND_LABELS), activation="softmax", name="age_band")(x)
        return keras.Model(features, {"age_band": band, "gender": gender})
    raise ValueError(f"age_head {age_head!r}: choose 'regression' or 'classes'")


def compile_head(model: keras.Model,
                 rate: float | keras.optimizers.schedules.LearningRateSchedule) -> keras.Model:
    """Compile head_model: cross-entropy over the groups for the softmax head; chapter 4's
    losses (age weighted 0.1, as in chapter 5) for the regression head."""
    if "age_band" not in model.output:
        return compile_model(model, keras.optimizers.Adam(rate), age_weight=0.1)
    model.compile(optimizer=keras.optimizers.Adam(rate),
                  loss={"age_band": "sparse_categorical_crossentropy",
                        "gender": "binary_crossentropy"},
                  metrics={"age_band": ["accuracy"], "gender": ["accuracy"]})
    return model


# ---- 08_where_it_fails.ipynb -------------------------------------------------------------------

def gap_interval(a, b, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """The 95% bootstrap interval of mean(a) - mean(b) for two groups of different faces (one
    value per face): each group's faces are resampled on their own."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    rng = np.random.default_rng(seed)
    means_a = a[rng.integers(0, len(a), (n_boot, len(a)))].mean(axis=1)
    means_b = b[rng.integers(0, len(b), (n_boot, len(b)))].mean(axis=1)
    low, high = np.percentile(means_a - means_b, [2.5, 97.5])
    return float(low), float(high)


def conformal_scale(errors, spread, coverage: float = 0.9) -> float:
    """Split conformal: the factor q such that |error| <= q x spread held for `coverage` of the
    calibration faces, at the finite-sample rank ceil((n + 1) x coverage) of n."""
    scores = np.sort(np.abs(np.asarray(errors, float)) / np.asarray(spread, float))
    rank = int(np.ceil((len(scores) + 1) * coverage))
    if rank > len(scores):
        raise ValueError(f"{len(scores)} calibration faces are too few for {coverage:.0%} coverage")
    return float(scores[rank - 1])


def conformal_scales(predicted_age, errors, spread, coverage: float = 0.9,
                     min_faces: int = 50) -> dict[str, float]:
    """q for each band of *predicted* age, from that band's calibration faces alone, and "all"
    from every face (used for a band with fewer than min_faces of them)."""
    bands = age_band(predicted_age)
    errors, spread = np.asarray(errors, float), np.asarray(spread, float)
    scales = {"all": conformal_scale(errors, spread, coverage)}
    for band in bands.cat.categories:
        inside = (bands == band).to_numpy()
        scales[band] = (conformal_scale(errors[inside], spread[inside], coverage)
                        if inside.sum() >= min_faces else scales["all"])
    return scales


def scale_of(scales, predicted_age) -> np.ndarray:
    """Each face's q: that of its predicted age's band (one number: the same for every face)."""
    predicted_age = np.atleast_1d(np.asarray(predicted_age, float))
    if not isinstance(scales, dict):
        return np.full(len(predicted_age), float(scales))
    bands = age_band(predicted_age).astype(str)
    return np.array([scales.get(band, scales["all"]) for band in bands], float)


def age_interval(age, spread, q) -> tuple[np.ndarray, np.ndarray]:
    """The interval age +- q x spread (never below 0 years); q one number or one per face."""
    age, spread, q = np.asarray(age, float), np.asarray(spread, float), np.asarray(q, float)
    return np.maximum(age - q * spread, 0.0), age + q * spread


def split_model(model: keras.Model, layer: str | None = None) -> tuple[keras.Model, keras.Model]:
    """The model as (front, back): images -> feature maps, feature maps -> {"age", "gender"}.
    A transfer model splits at its frozen trunk; a flat CNN at `layer`, by default its last
    layer with a feature map (before global pooling or flattening)."""
    nested = {sub.name: sub for sub in model.layers if isinstance(sub, keras.Model)}
    trunks = [name for name in nested if name.endswith("_trunk")]
    if layer is None and trunks:
        tops = [sub for name, sub in nested.items() if name.endswith("_top")]
        if not tops:
            raise ValueError(f"{model.name} has a trunk but no top part")
        return nested[trunks[0]], tops[0]
    if layer is None:
        skip = keras.Model | keras.layers.InputLayer
        maps = [lay for lay in model.layers if not isinstance(lay, skip)
                and hasattr(lay.output, "shape")  # one tensor (ExpectedAge gives two)
                and len(lay.output.shape) == 4 and lay.output.shape[1] >= 2
                and "pool" not in lay.name and "augment" not in lay.name]
        if not maps:
            raise ValueError(f"{model.name} has no layer with a feature map to explain")
        layer = maps[-1].name
    tensor = model.get_layer(layer).output
    return keras.Model(model.inputs, tensor), keras.Model(tensor, model.output)


def gender_units(model: keras.Model) -> list[keras.layers.Layer]:
    """The layer(s) named "gender" with an activation: the model's gender unit, or each
    member's in an ensemble (chapter 5's `averaged`), whose own "gender" is their mean."""
    units = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            units += gender_units(layer)
        elif layer.name == "gender" and hasattr(layer, "activation"):
            units.append(layer)
    return units


@contextmanager
def gender_logit(back: keras.Model) -> Iterator[None]:
    """The gender unit(s) without their sigmoid while inside (put back on the way out): an
    ensemble's gender output is then the mean of its members' logits."""
    units = gender_units(back)
    if not units:
        raise ValueError(f"{back.name} has no gender unit")
    saved = [layer.activation for layer in units]
    for layer in units:
        layer.activation = keras.activations.linear
    try:
        yield
    finally:
        for layer, activation in zip(units, saved, strict=True):
            layer.activation = activation


def cam_parts(model: keras.Model,
              layer: str | None = None) -> list[tuple[keras.Model, keras.Model]]:
    """split_model's (front, back) of the model, or of each member of an average of flat CNNs
    (chapter 5's `averaged`: each has feature maps of its own)."""
    members = [sub for sub in model.layers if isinstance(sub, keras.Model) and gender_units(sub)]
    trunk = any(sub.name.endswith("_trunk") for sub in model.layers)
    if layer is None and members and not trunk:
        return [split_model(member) for member in members]
    return [split_model(model, layer)]


def grad_cam(model: keras.Model, images: np.ndarray, head: str = "gender",
             layer: str | None = None) -> np.ndarray:
    """One heatmap in [0, 1] per image, at the image's size: where the feature maps push the
    prediction (for gender, towards the predicted gender; for age, towards an older age); for
    an average of flat CNNs, the mean of its members' heatmaps for the average's answer."""
    if head not in ("gender", "age"):
        raise ValueError(f"head {head!r}: choose 'gender' or 'age'")
    parts = cam_parts(model, layer)
    x = tf.convert_to_tensor(images, tf.float32)
    with ExitStack() as logits:
        if head == "gender":
            for _, back in parts:
                logits.enter_context(gender_logit(back))
        with tf.GradientTape() as tape:
            maps = [front(x, training=False) for front, _ in parts]
            for member_maps in maps:
                tape.watch(member_maps)
            out = tf.add_n([back(member_maps, training=False)[head][:, 0]
                            for (_, back), member_maps in zip(parts, maps, strict=True)])
            out = out / len(parts)  # an average's answer is the mean of its members'
            # towards the predicted gender: the logit for "female", minus it for "male"
            target = tf.abs(out) if head == "gender" else out
        grads = tape.gradient(target, maps)
    heatmaps = []
    for member_maps, member_grads in zip(maps, grads, strict=True):
        weights = tf.reduce_mean(member_grads, axis=(1, 2), keepdims=True)  # one per channel
        cam = tf.nn.relu(tf.reduce_sum(weights * member_maps, axis=-1))[..., None]
        heatmaps.append(tf.image.resize(cam, x.shape[1:3], method="bilinear")[..., 0].numpy())
    cams = np.mean(heatmaps, axis=0)  # the members' heatmaps, averaged
    peak = cams.reshape(len(cams), -1).max(axis=1)[:, None, None]
    return np.divide(cams, peak, out=np.zeros_like(cams), where=peak > 0)


# ---- 09_your_own_photos.ipynb ------------------------------------------------------------------

def to_tflite(model: keras.Model, path: str | Path, quantize: bool = False) -> Path:
    """Convert a Keras model to a TensorFlow Lite file; `quantize` stores the weights as 8-bit
    integers (dynamic-range quantisation: about 4x smaller, activations stay float)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    path = Path(path)
    logger, level = tf.get_logger(), tf.get_logger().level
    logger.setLevel("ERROR")  # "Assets written to ..."
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras's export lists every tensor
            path.write_bytes(converter.convert())
    finally:
        logger.setLevel(level)
    return path


def to_tflite_one_face(model: keras.Model, path: str | Path) -> Path:
    """Convert a Keras model to a TensorFlow Lite file whose input is exactly one face (a fixed
    batch of 1) and which uses only TensorFlow Lite's built-in operations: what a browser runs."""
    image = keras.Input(shape=model.inputs[0].shape[1:], batch_size=1, name="image")
    one_face = keras.Model(image, model(image, training=False))
    converter = tf.lite.TFLiteConverter.from_keras_model(one_face)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    path = Path(path)
    with contextlib.redirect_stdout(io.StringIO()):  # Keras's export lists every tensor
        path.write_bytes(converter.convert())
    return path


# ---- 10_does_it_carry_over.ipynb ---------------------------------------------------------------

def age_line(predicted: np.ndarray, ages: np.ndarray) -> tuple[float, float]:
    """The straight line (slope, intercept) from a model's ages to the true ones with the least
    absolute error: a median regression."""
    fit = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs")
    fit.fit(np.asarray(predicted, float).reshape(-1, 1), np.asarray(ages, float))
    return float(fit.coef_[0]), float(fit.intercept_)


def recalibrated(model: keras.Model, slope: float, intercept: float) -> keras.Model:
    """The model with its age mapped to slope x age + intercept (a distribution head's spread
    scaled by the slope too); gender unchanged."""
    image = keras.Input(model.input_shape[1:], name="image")
    out = model(image)
    heads = {"age": layers.Rescaling(slope, offset=intercept, name="age")(out["age"]),
             "gender": out["gender"]}
    if "age_sd" in out:
        heads["age_sd"] = layers.Rescaling(abs(slope), name="age_sd")(out["age_sd"])
    return keras.Model(image, heads, name="recalibrated")
