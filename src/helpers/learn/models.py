"""The chapters' named models: how each is built (the builders are the chapters' own code, in
`helpers.taught`) and trained, plus tables of their layers and parameters.

Every builder returns an uncompiled `keras.Model` whose input is a float32 image in [0, 255]
(what `helpers.data.pipeline` yields) and whose outputs are a dict: "age" in years and "gender", the
probability that the face is female (UTKFace codes female as 1). `compile_model` adds the losses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import pandas as pd

from helpers.config import Preset

# The chapters' code, re-exported for the callers that know it as helpers.learn.models.*
from helpers.taught import (  # noqa: F401
    AGE_BINS,
    AGE_OFFSET,
    AGE_SCALE,
    age_output,
    age_outputs,
    augmentation,
    compile_model,
    conv_block,
    scratch_cnn,
    seed_cnn,
    training_view,
)

# The chosen scratch network's filters per block: 16 instead of the earlier projects' 32 in the
# first block, which runs on the most pixels, so blocks 1 and 2 cost about half (chapter 5
# measures it).
NARROW_FIRST_BLOCK = (16, 64, 128, 256)

# The age loss weight of chapter 5's distribution head: its KL term (about 1 to 3) and the 0.1 x
# error in years are on another scale than the regression head's MAE in years (weighted 0.1).
DISTRIBUTION_AGE_WEIGHT = 0.3


@dataclass(frozen=True)
class ModelSpec:
    """A named model of the chapters: how to build it and how to train it."""

    name: str
    build: Callable[..., keras.Model] | None  # None: a pretrained backbone (helpers.learn.transfer)
    channels: int | None  # None: the preset's channels
    age_weight: float
    gender_weight: float
    schedule: str  # "cosine" (learning rate decays to 0 over the run) or "plateau"
    learning_rate: float
    description: str
    backbone: str | None = None  # for transfer models: a key of helpers.learn.transfer.BACKBONES
    # Keyword arguments for `build` beyond the preset's size and channels.
    options: dict = field(default_factory=dict)
    # Transfer models: the views of each training face whose trunk features are cached besides
    # the face itself (keys of transfer.VIEWS); each epoch shows one of them at random.
    views: tuple[str, ...] = ("mirror",)
    # The smallest input the network can take (the earlier projects' valid convolutions need 46
    # pixels).
    min_size: int = 32


MODELS: dict[str, ModelSpec] = {
    "seed-cnn": ModelSpec("seed-cnn", seed_cnn, channels=1, age_weight=1.0, gender_weight=1.0,
                          schedule="plateau", learning_rate=1e-3,
                          description="project 001's network: grayscale, valid convolutions, "
                                      "flatten, a ReLU age unit, no augmentation",
                          min_size=48),
    "scratch": ModelSpec("scratch", scratch_cnn, channels=None,
                         age_weight=DISTRIBUTION_AGE_WEIGHT, gender_weight=1.0,
                         schedule="cosine", learning_rate=1e-3,
                         description="the chapter's best scratch network: batch norm, global "
                                     "average pooling, flips, a narrower first block, cosine "
                                     "learning rate, age as a distribution over the years",
                         options={"widths": NARROW_FIRST_BLOCK, "age_head": "distribution"}),
    # The regression head, with the mirror and two random reframings of each face cached: chosen
    # on the validation faces, and no gain from a larger age weight or fine-tuning rate; the
    # figures are records mobilenetv2-head, mobilenetv2-views-*, mobilenetv2-loss-weight-and-rate
    # and mobilenetv2-not-adopted in helpers/results/choices.json.
    "mobilenetv2": ModelSpec("mobilenetv2", None, channels=3, age_weight=0.1, gender_weight=1.0,
                             schedule="cosine", learning_rate=1e-4, backbone="mobilenetv2",
                             description="ImageNet MobileNetV2, heads then its last blocks "
                                         "fine-tuned (two phases); the preset's tops "
                                         "averaged",
                             views=("mirror", "jitter", "jitter2")),
    "vgg16": ModelSpec("vgg16", None, channels=3, age_weight=0.1, gender_weight=1.0,
                       schedule="cosine", learning_rate=1e-4, backbone="vgg16",
                       description="ImageNet VGG16, heads then its last block fine-tuned "
                                   "(two phases); the preset's tops averaged"),
}


def get_model_spec(name: str) -> ModelSpec:
    """The spec of a named model, with a clear error listing the known names."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}: choose one of {', '.join(MODELS)}")
    return MODELS[name]


def default_epochs(spec: ModelSpec, preset: Preset) -> int:
    """The epochs `course train` gives a named model at a preset: the transfer budget for a
    backbone, the preset's `scratch_epochs` for the scratch network, else its `epochs`."""
    if spec.backbone:
        return preset.transfer_epochs
    if spec.name == "scratch" and preset.scratch_epochs:
        return preset.scratch_epochs
    return preset.epochs


def default_members(spec: ModelSpec, preset: Preset) -> int:
    """The networks `course train` trains side by side and averages for a named model at a
    preset: the preset's `scratch_members` for the scratch network, else one."""
    return preset.scratch_members if spec.name == "scratch" else 1


def input_size(spec: ModelSpec, preset: Preset) -> int:
    """The side of the images a named model is trained on at a preset."""
    if spec.backbone:
        return preset.transfer_size
    return max(preset.image_size, spec.min_size)


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
