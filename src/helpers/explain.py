"""What a network looks at: Grad-CAM heatmaps (Selvaraju et al., 2017) with TensorFlow's
GradientTape, for the course's flat scratch CNNs and for its two-part transfer models."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import keras
import numpy as np
import tensorflow as tf


def split_model(model: keras.Model, layer: str | None = None) -> tuple[keras.Model, keras.Model]:
    """The model as (front, back): images -> feature maps, feature maps -> {"age", "gender"}.
    A transfer model splits at its frozen trunk; a flat CNN at `layer`, by default its last
    layer with a feature map (before global pooling or flattening)."""
    nested = {sub.name: sub for sub in model.layers if isinstance(sub, keras.Model)}
    trunks = [name for name in nested if name.endswith("_trunk")]
    if layer is None and trunks:
        trunk = nested[trunks[0]]
        tops = [sub for name, sub in nested.items() if name.endswith("_top")]
        if not tops:
            raise ValueError(f"{model.name} has a trunk but no top part")
        return trunk, tops[0]
    if layer is None:
        skip = keras.Model | keras.layers.InputLayer
        maps = [lay for lay in model.layers if not isinstance(lay, skip)
                and len(lay.output.shape) == 4 and lay.output.shape[1] >= 2
                and "pool" not in lay.name and "augment" not in lay.name]
        if not maps:
            raise ValueError(f"{model.name} has no layer with a feature map to explain")
        layer = maps[-1].name
    tensor = model.get_layer(layer).output
    return keras.Model(model.inputs, tensor), keras.Model(tensor, model.output)


@contextmanager
def _gender_logit(back: keras.Model) -> Iterator[None]:
    """The gender unit without its sigmoid while inside: Grad-CAM explains the score before the
    squashing, as it explains a class score before softmax (confident faces keep a gradient)."""
    layer = back.get_layer("gender")
    saved = layer.activation
    layer.activation = keras.activations.linear
    try:
        yield
    finally:
        layer.activation = saved


def grad_cam(model: keras.Model, images: np.ndarray, head: str = "gender",
             layer: str | None = None) -> np.ndarray:
    """One heatmap in [0, 1] per image, at the image's size: where the feature maps push the
    prediction (for gender, towards the predicted gender; for age, towards an older age)."""
    if head not in ("gender", "age"):
        raise ValueError(f"head {head!r}: choose 'gender' or 'age'")
    front, back = split_model(model, layer)
    x = tf.convert_to_tensor(images, tf.float32)
    with _gender_logit(back) if head == "gender" else nullcontext():
        with tf.GradientTape() as tape:
            maps = front(x, training=False)
            tape.watch(maps)
            out = back(maps, training=False)[head][:, 0]
            # towards the predicted gender: the logit for "female", minus it for "male"
            target = tf.abs(out) if head == "gender" else out
        grads = tape.gradient(target, maps)
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per channel
    cams = tf.nn.relu(tf.reduce_sum(weights * maps, axis=-1))[..., None]
    cams = tf.image.resize(cams, x.shape[1:3], method="bilinear")[..., 0].numpy()
    peak = cams.reshape(len(cams), -1).max(axis=1)[:, None, None]
    return np.divide(cams, peak, out=np.zeros_like(cams), where=peak > 0)

