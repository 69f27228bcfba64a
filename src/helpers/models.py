"""Model builders: every network of the chapters, with two heads named "age" and "gender".

Each builder returns an uncompiled `keras.Model` whose input is a float32 image in [0, 255]
(what `helpers.pipeline` yields) and whose outputs are a dict: "age" in years and "gender", the
probability that the face is female (UTKFace codes female as 1). `compile_model` adds the losses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import pandas as pd
from keras import layers

# The age head predicts in units of AGE_SCALE years around AGE_OFFSET, so that a freshly
# initialised network starts near a typical age instead of 0 (fixed constants, not fitted).
AGE_OFFSET = 33.0
AGE_SCALE = 20.0


def seed_cnn(image_size: int = 128, channels: int = 1, dropout: float = 0.5) -> keras.Model:
    """The seeds' network: four 3x3 conv blocks (32-256) with max-pooling, flatten, two heads."""
    inputs = keras.Input((image_size, image_size, channels), name="image")
    x = layers.Rescaling(1 / 255, name="scale_0_1")(inputs)
    for i, filters in enumerate((32, 64, 128, 256), start=1):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    heads = {}
    for name, activation in (("gender", "sigmoid"), ("age", None)):
        h = layers.Dense(256, activation="relu", name=f"{name}_dense")(x)
        h = layers.Dropout(dropout, name=f"{name}_dropout")(h)
        heads[name] = layers.Dense(1, activation=activation, name=name)(h)
    return keras.Model(inputs, heads, name="seed_cnn")


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


def age_output(x: keras.KerasTensor, name: str = "age") -> keras.KerasTensor:
    """A linear unit rescaled to years around AGE_OFFSET (see the module's constants)."""
    z = layers.Dense(1, name=f"{name}_unit")(x)
    return layers.Rescaling(AGE_SCALE, offset=AGE_OFFSET, name=name)(z)


def scratch_cnn(image_size: int = 64, channels: int = 3,
                widths: tuple[int, ...] = (32, 64, 128, 256), convs: tuple[int, ...] = (1, 1, 1, 1),
                augment: str | None = "flip", batch_norm: bool = True, pooling: str = "gap",
                dropout: float = 0.3, dense: int = 128, seed: int = 0) -> keras.Model:
    """The chapter's best scratch network: the seeds' blocks plus batch normalisation, global
    average pooling, augmentation layers and an age head scaled to years."""
    inputs = keras.Input((image_size, image_size, channels), name="image")
    x = layers.Rescaling(1 / 255, name="scale_0_1")(inputs)
    if augment:
        x = augmentation(augment, seed=seed)(x)
    if len(convs) != len(widths):
        raise ValueError(f"{len(widths)} widths but {len(convs)} conv counts")
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
    return keras.Model(inputs, {"age": age_output(x), "gender": gender}, name="scratch_cnn")


def compile_model(model: keras.Model, optimizer: str | keras.optimizers.Optimizer = "adam",
                  learning_rate: float | keras.optimizers.schedules.LearningRateSchedule = 1e-3,
                  age_weight: float = 1.0, gender_weight: float = 1.0,
                  gender_loss: str | keras.losses.Loss = "binary_crossentropy") -> keras.Model:
    """Compile with MAE for age and binary cross-entropy for gender, weighted, with metrics."""
    if isinstance(optimizer, str):
        kinds = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop,
                 "sgd": lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9)}
        if optimizer not in kinds:
            raise ValueError(f"optimizer {optimizer!r}: choose one of {', '.join(kinds)}")
        optimizer = kinds[optimizer](learning_rate=learning_rate)
    model.compile(optimizer=optimizer,
                  loss={"age": "mae", "gender": gender_loss},
                  loss_weights={"age": age_weight, "gender": gender_weight},
                  metrics={"age": [keras.metrics.MeanAbsoluteError(name="mae")],
                           "gender": [keras.metrics.BinaryAccuracy(name="accuracy")]})
    return model


# The chosen scratch network's filters per block: 16 instead of the seeds' 32 in the first block,
# which runs on the most pixels, so blocks 1 and 2 cost about half (chapter 4 measures it).
NARROW_FIRST_BLOCK = (16, 64, 128, 256)


@dataclass(frozen=True)
class ModelSpec:
    """A named model of the chapters: how to build it and how to train it."""

    name: str
    build: Callable[..., keras.Model] | None  # None: a pretrained backbone (helpers.transfer)
    channels: int | None  # None: the preset's channels
    age_weight: float
    gender_weight: float
    schedule: str  # "cosine" (learning rate decays to 0 over the run) or "plateau"
    learning_rate: float
    description: str
    backbone: str | None = None  # for transfer models: a key of helpers.transfer.BACKBONES
    # Keyword arguments for `build` beyond the preset's size and channels.
    options: dict = field(default_factory=dict)
    # Transfer models: the views of each training face whose trunk features are cached besides
    # the face itself (keys of helpers.transfer.VIEWS); each epoch shows one of them at random.
    views: tuple[str, ...] = ("mirror",)


MODELS: dict[str, ModelSpec] = {
    "seed-cnn": ModelSpec("seed-cnn", seed_cnn, channels=1, age_weight=1.0, gender_weight=1.0,
                          schedule="plateau", learning_rate=1e-3,
                          description="the seeds' network: grayscale, flatten, no augmentation"),
    "scratch": ModelSpec("scratch", scratch_cnn, channels=None, age_weight=0.1, gender_weight=1.0,
                         schedule="cosine", learning_rate=1e-3,
                         description="the chapter's best scratch network: batch norm, global "
                                     "average pooling, flips, a narrower first block, cosine "
                                     "learning rate",
                         options={"widths": NARROW_FIRST_BLOCK}),
    "mobilenetv2": ModelSpec("mobilenetv2", None, channels=3, age_weight=0.1, gender_weight=1.0,
                             schedule="cosine", learning_rate=1e-4, backbone="mobilenetv2",
                             description="ImageNet MobileNetV2, heads then its last blocks "
                                         "fine-tuned (two phases)"),
    "vgg16": ModelSpec("vgg16", None, channels=3, age_weight=0.1, gender_weight=1.0,
                       schedule="cosine", learning_rate=1e-4, backbone="vgg16",
                       description="ImageNet VGG16, heads then its last block fine-tuned "
                                   "(two phases)"),
}


def get_model_spec(name: str) -> ModelSpec:
    """The spec of a named model, with a clear error listing the known names."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    return MODELS[name]


def count_params(model: keras.Model) -> dict[str, int]:
    """Total and trainable parameter counts."""
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    return {"params": int(model.count_params()), "trainable_params": trainable}


def layer_table(model: keras.Model) -> pd.DataFrame:
    """One row per layer: its name, kind, output shape and parameter count (for the prose)."""
    rows = []
    for layer in model.layers:
        shape = layer.output.shape if hasattr(layer, "output") else None
        if isinstance(layer.output, dict | list):
            shape = None
        rows.append({"layer": layer.name, "kind": type(layer).__name__,
                     "output shape": "" if shape is None else str(tuple(shape[1:])),
                     "parameters": int(layer.count_params())})
    return pd.DataFrame(rows)
