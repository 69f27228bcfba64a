"""The exercises whose answer is code (chapters 4 to 7): the worked answer passes, a plausible
wrong one fails with a reason, and an unanswered one says so."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from helpers.exercises import ____, call_answer
from helpers.questions import ch04, ch05, ch06, ch07


def test_call_answer_reports_blanks_errors_and_non_functions():
    assert call_answer(lambda: ____)[1].startswith("not answered yet: it still returns ____")
    assert "ZeroDivisionError" in call_answer(lambda: 1 / 0)[1]
    assert "expected a function" in call_answer(3)[1]
    assert call_answer(lambda x: x + 1, 1) == (2, None)


def _conv_block(x, filters, padding="same", pool=True):
    x = layers.Conv2D(filters, (3, 3), padding=padding, activation="relu")(x)
    return layers.MaxPooling2D((2, 2))(x) if pool else x


def test_conv_block(capsys):
    assert ch04.q4.check(_conv_block)
    assert not ch04.q4.check(lambda x, f: _conv_block(x, f, padding="valid"))
    assert "(15, 15, 8)" in capsys.readouterr().out
    assert not ch04.q4.check(lambda x, f: _conv_block(x, f, pool=False))
    assert not ch04.q4.check(lambda x, f: ____)


def test_weighted_loss(capsys):
    def right(a, ap, g, p, wa, wg):
        bce = -np.mean(g * np.log(p) + (1 - g) * np.log(1 - p))
        return wa * np.mean(np.abs(a - ap)) + wg * bce

    assert ch04.q5.check(right)
    assert not ch04.q5.check(lambda a, ap, g, p, wa, wg: right(a, ap, g, p, 1.0, 1.0))
    assert "with weights 0.7 and 1.5" in capsys.readouterr().out


def test_augmentation(capsys):
    def augmentation(flip="horizontal", rotation=0.05):
        return keras.Sequential([layers.RandomFlip(flip), layers.RandomRotation(rotation),
                                 layers.RandomZoom(0.1)])

    assert ch05.q4.check(augmentation())
    assert not ch05.q4.check(augmentation(flip="horizontal_and_vertical"))
    assert "upside down" in capsys.readouterr().out
    assert not ch05.q4.check(augmentation(rotation=0.2))
    assert not ch05.q4.check(keras.Sequential([layers.RandomFlip("horizontal")]))
    assert not ch05.q4.check(____)


def test_stop_callback(capsys):
    class Right(keras.callbacks.Callback):
        def __init__(self, target):
            super().__init__()
            self.target = target

        def on_epoch_end(self, epoch, logs=None):
            if logs["val_age_mae"] <= self.target:
                self.model.stop_training = True

    class Always(Right):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    class Never(Right):
        def on_epoch_end(self, epoch, logs=None):
            pass

    assert ch05.q5.check(Right)
    assert not ch05.q5.check(Always)
    assert "above the target" in capsys.readouterr().out
    assert not ch05.q5.check(Never)
    assert not ch05.q5.check(Right(5.0))


def _with_heads(backbone, freeze=True, pool=True):
    backbone.trainable = not freeze
    x = backbone.output
    x = layers.GlobalAveragePooling2D()(x) if pool else layers.Flatten()(x)
    gender = layers.Dense(1, activation="sigmoid", name="gender")(x)
    age = layers.Dense(1, name="age")(x)
    return keras.Model(backbone.input, {"gender": gender, "age": age})


def test_heads_on_a_frozen_backbone(capsys):
    assert ch06.q4.check(_with_heads)
    assert not ch06.q4.check(lambda b: _with_heads(b, freeze=False))
    assert "still trains" in capsys.readouterr().out
    assert not ch06.q4.check(lambda b: _with_heads(b, pool=False))


def _unfreeze(backbone, n, keep_bn_frozen=True):
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        layer.trainable = i >= len(backbone.layers) - n and not (
            keep_bn_frozen and isinstance(layer, layers.BatchNormalization))


def test_unfreeze_top(capsys):
    assert ch06.q5.check(_unfreeze)
    assert not ch06.q5.check(lambda b, n: _unfreeze(b, n, keep_bn_frozen=False))
    assert "batch normalisation" in capsys.readouterr().out
    assert not ch06.q5.check(lambda b, n: _unfreeze(b, n + 5))
    assert not ch06.q5.check(lambda b, n: ____)


@pytest.mark.parametrize("wrong, reason", [
    (lambda t, sizes, seed: {s: t.sample(s, random_state=seed + s) for s in sizes}, "inside"),
    (lambda t, sizes, seed: {s: t.head(s) for s in sizes}, "first 50 rows"),
    (lambda t, sizes, seed: {s: t.sample(frac=1, random_state=0).head(s) for s in sizes},
     "another seed"),
])
def test_nested_subsets(wrong, reason, capsys):
    def right(train, sizes, seed):
        shuffled = train.sample(frac=1, random_state=seed)
        return {size: shuffled.head(size) for size in sizes}

    assert ch07.q2.check(right)
    capsys.readouterr()
    assert not ch07.q2.check(wrong)
    assert reason in capsys.readouterr().out


def test_band_classifier(capsys):
    def model(n, k, activation="softmax", loss="sparse_categorical_crossentropy"):
        m = keras.Sequential([keras.Input((n,)), layers.Dense(k, activation=activation)])
        m.compile(optimizer="adam", loss=loss)
        return m

    assert ch07.q3.check(model)
    assert ch07.q3.check(
        lambda n, k: model(n, k, loss=keras.losses.SparseCategoricalCrossentropy()))
    assert not ch07.q3.check(lambda n, k: model(n, k, activation=None))
    assert "softmax" in capsys.readouterr().out
    assert not ch07.q3.check(lambda n, k: model(n, k, loss="categorical_crossentropy"))
    assert not ch07.q3.check(lambda n, k: model(n, k + 1))
