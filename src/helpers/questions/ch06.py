"""Chapter 6's auto-checked questions: what phase 1 trains, MobileNetV2's preprocessing, and
when averaging two tops pays (the notebook binds the three models' test predictions once with
`ch06.use(first, second, average)`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.exercises import (
    BoundQuestion,
    Question,
    bind_table,
    call_answer,
    close_to,
    share_checker,
)

_BOUND: dict[str, pd.DataFrame] = {}


def use(first: pd.DataFrame, second: pd.DataFrame, average: pd.DataFrame) -> None:
    """Bind the test predictions (evaluation.predict_faces) of two tops and of their average."""
    tables = {"first": first, "second": second, "average": average}
    for name, table in tables.items():
        if not {"file", "age_error"} <= set(getattr(table, "columns", [])):
            raise TypeError("use() takes three tables from evaluation.predict_faces (with 'file' "
                            f"and 'age_error' columns); the {name} one has not")
    errors = pd.concat({name: table.set_index("file")["age_error"].abs()
                        for name, table in tables.items()}, axis=1, join="inner")
    bind_table(_BOUND, "errors", errors, set(tables), "evaluation.predict_faces",
               f"ch06: answers are checked against these {len(errors):,} test faces.")


def expected_average_wins() -> float:
    """The share of faces where the average's age is closer to the truth than both tops'."""
    errors = _BOUND["errors"]
    return float((errors["average"] < errors[["first", "second"]].min(axis=1)).mean())


def expected_phase1_params() -> int:
    """Parameters MobileNetV2's transfer model trains in phase 1 (built without downloading)."""
    from helpers.learn.transfer import trainable_per_phase, transfer_model

    return trainable_per_phase(transfer_model("mobilenetv2", 32, weights=None))["trainable_phase1"]


q1 = Question(
    name="Question 1 (what phase 1 trains)",
    checker=close_to(expected_phase1_params, rtol=0),
    hint_text=("A dense layer from 1,280 inputs to 256 units has 1,280 x 256 weights and 256 "
               "biases; each of the two output units has 256 weights and one bias."),
    label="ch06-ex1",
)

q2 = Question(
    name="Question 2 (MobileNetV2's preprocessing)",
    checker=close_to(51 / 127.5 - 1, rtol=0, atol=1e-6),
    hint_text="Divide by 127.5, then subtract 1: 0 becomes -1 and 255 becomes 1.",
    label="ch06-ex2",
)

q3 = BoundQuestion(
    name="Question 3 (when averaging pays)",
    checker=share_checker(expected_average_wins, atol=1e-6,
                          wrong="count the faces where the average's absolute error is below "
                                "both tops' absolute errors",
                          complement="that is the share where the average does NOT beat both"),
    hint_text="Take the absolute 'age_error' of each table; compare the average's with the "
              "smaller of the two tops' (np.minimum), and take the share of faces where it is "
              "smaller.",
    label="ch06-ex5",
    bound=_BOUND, bind_hint="run ch06.use(first, second_top, average) once",
)


def small_backbone() -> object:
    """A small MobileNetV2 without weights (no download), for checking code that uses one."""
    import keras

    return keras.applications.MobileNetV2(input_shape=(64, 64, 3), include_top=False,
                                          weights=None, alpha=0.35)


def check_with_heads(answer: object) -> str | None:
    """with_heads(backbone): the backbone frozen, global average pooling, a sigmoid 'gender'
    unit and a linear 'age' unit; only the two heads train."""
    import keras

    backbone = small_backbone()
    model, problem = call_answer(answer, backbone)
    if problem:
        return problem
    if not isinstance(model, keras.Model):
        return f"with_heads should return a keras Model, got {type(model).__name__}"
    if backbone.trainable:
        return "the backbone still trains: set backbone.trainable = False"
    names = sorted(getattr(model, "output_names", []) or [])
    if names != ["age", "gender"]:
        return f"its outputs are named {names}, not ['age', 'gender']"
    shapes = model.output_shape
    shapes = shapes.values() if isinstance(shapes, dict) else shapes
    if any(tuple(shape[1:]) != (1,) for shape in shapes):
        return f"each head should give one number per face, got {model.output_shape}"
    if getattr(model.get_layer("gender").activation, "__name__", "") != "sigmoid":
        return "the gender unit needs a sigmoid: a probability between 0 and 1"
    if not any(isinstance(layer, keras.layers.GlobalAveragePooling2D) for layer in model.layers):
        return "there is no GlobalAveragePooling2D between the backbone and the heads"
    features = backbone.output_shape[-1]
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    if trainable != 2 * (features + 1):
        return (f"{trainable:,} weights train; only the two heads should: 2 x ({features:,} "
                f"+ 1) = {2 * (features + 1):,}")
    return None


def check_unfreeze_top(answer: object) -> str | None:
    """unfreeze_top(backbone, n): the backbone trainable, its last n layers train except batch
    normalisation, every earlier layer frozen."""
    import keras

    backbone = small_backbone()
    backbone.trainable = False
    _, problem = call_answer(answer, backbone, 20)
    if problem:
        return problem
    if not backbone.trainable:
        return "the backbone itself must be trainable again (backbone.trainable = True)"
    for i, layer in enumerate(backbone.layers):
        top = i >= len(backbone.layers) - 20
        batch_norm = isinstance(layer, keras.layers.BatchNormalization)
        if layer.trainable != (top and not batch_norm):
            where = "one of the last 20" if top else "an earlier layer"
            return (f"layer {layer.name} ({where}{', batch normalisation' if batch_norm else ''})"
                    f" has trainable={layer.trainable}")
    return None


q4 = Question(
    name="Question 4 (heads on a frozen backbone)",
    checker=check_with_heads,
    hint_text=("Chapter 6's 'Transfer learning in plain Keras' does the same with one more "
               "dense layer: freeze with the model's trainable attribute, pool the backbone's "
               "output, and name each head's layer after its output."),
    label="ch06-ex6",
)

q5 = Question(
    name="Question 5 (unfreeze the top of the backbone)",
    checker=check_unfreeze_top,
    hint_text=("A model's trainable attribute sets every layer's; after setting it, each layer's "
               "own flag can be changed. backbone.layers lists them in order, so the last n are "
               "a slice of it; isinstance tells a BatchNormalization layer."),
    label="ch06-ex7",
)
