"""Chapter 7's auto-checked questions: age groups. The notebook binds its test predictions once
with `ch07.use(predictions)`; the expected answer is computed from them at check time."""

from __future__ import annotations

import pandas as pd

from helpers.exercises import BoundQuestion, Question, bind_table, call_answer, share_checker

_BOUND: dict[str, pd.DataFrame] = {}


def use(predictions: pd.DataFrame) -> None:
    """Bind a predictions table with 'band' and 'band_pred' (from study.predict_heads)."""
    bind_table(_BOUND, "predictions", predictions, {"band", "band_pred"}, "study.predict_heads",
               f"ch07: answers are checked against these {len(predictions):,} test predictions.")


def expected_one_off() -> float:
    """The share of faces whose predicted age group is the true one or a neighbour."""
    from helpers.learn.study import band_scores

    return band_scores(_BOUND["predictions"])["band_one_off_accuracy"]


q1 = BoundQuestion(
    name="Question 1 (one-off accuracy)",
    checker=share_checker(expected_one_off, atol=1e-6,
                          wrong="a neighbour is one group away: |band_pred - band| <= 1"),
    hint_text="Take the absolute difference of band_pred and band, and the share of faces where "
              "it is at most 1.",
    label="ch07-ex1",
    bound=_BOUND, bind_hint="run ch07.use(predictions['regression']) once",
)


def check_nested_subsets(answer: object) -> str | None:
    """nested_subsets(train, sizes, seed): a random draw of each size from `train`, each smaller
    one inside the larger ones, the same for the same seed and another for another seed."""
    import numpy as np

    train = pd.DataFrame({"file": [f"{i}.jpg" for i in range(500)],
                          "age": np.random.default_rng(0).integers(1, 90, 500)})
    sizes = [50, 200, 500]
    drawn, problem = call_answer(answer, train, sizes, 0)
    if problem:
        return problem
    if not isinstance(drawn, dict) or sorted(drawn) != sizes:
        return f"expected a dict with one table per size {sizes}, got {type(drawn).__name__}"
    files = {size: set(drawn[size]["file"]) for size in sizes}
    for size in sizes:
        if len(drawn[size]) != size or len(files[size]) != size:
            return (f"the table for size {size} has {len(drawn[size])} rows "
                    f"({len(files[size])} distinct)")
        if not files[size] <= set(train["file"]):
            return f"the table for size {size} holds faces that are not in train"
    for small, large in zip(sizes, sizes[1:], strict=False):
        if not files[small] <= files[large]:
            return (f"the {small} faces are not all inside the {large}: draw once, then take "
                    "the first rows")
    if list(drawn[50]["file"]) == list(train["file"][:50]):
        return "the 50 faces are the first 50 rows: draw them at random (with the seed)"
    again, _ = call_answer(answer, train, sizes, 0)
    other, _ = call_answer(answer, train, sizes, 1)
    if again is None or set(again[50]["file"]) != files[50]:
        return "the same seed should give the same faces"
    if other is None or set(other[50]["file"]) == files[50]:
        return "another seed should draw other faces"
    return None


def check_band_classifier(answer: object) -> str | None:
    """band_classifier(n_features, n_bands): one softmax layer over the bands, compiled with
    sparse categorical cross-entropy."""
    import keras
    import numpy as np

    model, problem = call_answer(answer, 32, 8)
    if problem:
        return problem
    if not isinstance(model, keras.Model):
        return f"expected a keras Model, got {type(model).__name__}"
    if tuple(model.input_shape[1:]) != (32,) or tuple(model.output_shape[1:]) != (8,):
        return f"it maps {model.input_shape[1:]} to {model.output_shape[1:]}, not (32,) to (8,)"
    out = np.asarray(model(np.random.default_rng(0).normal(size=(4, 32)).astype("float32")))
    if not (np.allclose(out.sum(axis=1), 1, atol=1e-5) and (out >= 0).all()):
        return "its outputs are not probabilities that sum to 1: use a softmax"
    loss = getattr(model, "loss", None)
    name = loss if isinstance(loss, str) else type(loss).__name__
    if name not in ("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"):
        return (f"it is compiled with the loss {name!r}: the bands are numbered 0, 1, ..., so "
                "use sparse categorical cross-entropy")
    return None


q2 = Question(
    name="Question 2 (training sets that grow)",
    checker=check_nested_subsets,
    hint_text=("Shuffle the rows of train once, with the seed (DataFrame.sample can shuffle "
               "every row); the first rows of one shuffled table are then nested for every "
               "size."),
    label="ch07-ex4",
)

q3 = Question(
    name="Question 3 (age bands as classes)",
    checker=check_band_classifier,
    hint_text=("One dense layer with a unit per band and the activation that turns scores "
               "into probabilities that sum to 1; Keras's loss for classes given as whole "
               "numbers (not one-hot) has 'sparse' in its name."),
    label="ch07-ex5",
)
