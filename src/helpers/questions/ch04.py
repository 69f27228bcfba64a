"""Chapter 4's auto-checked questions: the earlier projects' network and honest baselines.

Questions 1 and 2 are answered from the network's architecture (the expected value is read from a
model built here). Question 3 depends on the faces the page ran on, so the notebook binds them
once with `ch04.use(chapter)`, and the expected answer is computed at check time.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers.exercises import Question, ____, call_answer, close_to

_BOUND: dict[str, pd.DataFrame] = {}


def use(chapter: Any) -> None:
    """Bind the split faces of a Chapter (or a manifest with a 'split' column)."""
    faces = chapter if isinstance(chapter, pd.DataFrame) else getattr(chapter, "faces", None)
    if faces is None or "split" not in faces:
        raise TypeError("ch04.use() takes the Chapter from start_chapter() (or faces with a "
                        "'split' column)")
    _BOUND["faces"] = faces
    print(f"ch04: answers are checked against these {len(faces):,} split faces.")


def expected_conv1_params(channels: int = 3) -> int:
    """Parameters of the seeds' first convolution for an input with this many channels."""
    from helpers.taught import seed_cnn

    return int(seed_cnn(image_size=128, channels=channels).get_layer("conv1").count_params())


def expected_flatten_features(image_size: int = 128) -> int:
    """Numbers the seeds' Flatten layer hands to the dense heads, for a square input."""
    from helpers.taught import seed_cnn

    return int(seed_cnn(image_size=image_size, channels=1).get_layer("flatten").output.shape[-1])


def expected_baseline_mae() -> float:
    """Test MAE of predicting the training split's median age for everyone."""
    from helpers.scoring.evaluation import baseline_scores

    return baseline_scores(_BOUND["faces"])["age_mae"]


class BoundQuestion(Question):
    """A Question whose answer needs the faces bound by `use`."""

    def check(self, answer: Any = ____) -> bool:
        """Print feedback (or say to call ch04.use first); True when right."""
        if "faces" not in _BOUND:
            print(f"{self.name}: run ch04.use(chapter) once, then check again.")
            return False
        return super().check(answer)


q1 = Question(
    name="Question 1 (the first convolution, in colour)",
    checker=close_to(lambda: expected_conv1_params(3), rtol=0),
    hint_text=("Each of the 32 filters has a 3x3 weight for every input channel, plus one bias. "
               "Or build seed_cnn(128, 3) and call .get_layer('conv1').count_params()."),
    label="ch04-ex1",
)

q2 = Question(
    name="Question 2 (what Flatten hands to the heads)",
    checker=close_to(lambda: expected_flatten_features(128), rtol=0),
    hint_text=("Each 3x3 convolution without padding trims 2 pixels and each 2x2 pooling halves "
               "what is left (rounding down): follow 128 through the four blocks, then multiply "
               "height x width x the last block's 256 filters."),
    label="ch04-ex2",
)

q3 = BoundQuestion(
    name="Question 3 (the baseline a model must beat)",
    checker=close_to(expected_baseline_mae, rtol=1e-3),
    hint_text=("Take the median age of chapter.split('train'), predict it for every face of "
               "chapter.split('test') and compute the mean absolute difference with the true "
               "ages."),
    label="ch04-ex3",
)


def check_conv_block(answer: Any) -> str | None:
    """A conv_block(x, filters): a 3x3 'same' ReLU convolution, then 2x2 max-pooling."""
    import keras

    image = keras.Input((32, 32, 3))
    out, problem = call_answer(answer, image, 8)
    if problem:
        return problem
    try:
        model = keras.Model(image, out)
    except Exception as exc:  # not a tensor built from the input
        return f"conv_block should return the tensor it builds from x ({exc})"
    if tuple(model.output_shape[1:]) != (16, 16, 8):
        return (f"on a 32x32x3 input with 8 filters it gives {model.output_shape[1:]}, not "
                "(16, 16, 8): 'same' padding keeps 32x32, the pooling halves it")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    pools = [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]
    if len(convs) != 1 or len(pools) != 1:
        return f"expected one Conv2D and one MaxPooling2D, found {len(convs)} and {len(pools)}"
    conv = convs[0]
    if tuple(conv.kernel_size) != (3, 3) or conv.padding != "same":
        return f"the convolution is {conv.kernel_size} with padding '{conv.padding}'"
    if getattr(conv.activation, "__name__", "") != "relu":
        return "the convolution's activation is not ReLU: activation='relu'"
    if model.count_params() != 3 * 3 * 3 * 8 + 8:
        return f"it has {model.count_params()} parameters, not {3 * 3 * 3 * 8 + 8}"
    return None


def check_weighted_loss(answer: Any) -> str | None:
    """weighted_loss(age_true, age_pred, gender_true, p_female, age_weight, gender_weight)
    against Keras's own mean absolute error and binary cross-entropy."""
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    age_true, age_pred = rng.uniform(1, 90, 16), rng.uniform(1, 90, 16)
    gender_true, p_female = rng.integers(0, 2, 16).astype(float), rng.uniform(0.05, 0.95, 16)
    for age_weight, gender_weight in [(1.0, 1.0), (0.7, 1.5)]:
        got, problem = call_answer(answer, age_true, age_pred, gender_true, p_female,
                                   age_weight, gender_weight)
        if problem:
            return problem
        mae = float(keras.losses.MeanAbsoluteError()(age_true, age_pred))
        bce = float(keras.losses.BinaryCrossentropy()(gender_true, p_female))
        expected = age_weight * mae + gender_weight * bce
        try:
            value = float(got)
        except (TypeError, ValueError):
            return f"it returns {type(got).__name__}, not one number"
        if not np.isclose(value, expected, rtol=1e-4):
            return (f"with weights {age_weight} and {gender_weight} it gives {value:.4f}; "
                    f"Keras's losses give {expected:.4f} (MAE {mae:.3f}, cross-entropy "
                    f"{bce:.4f})")
    return None


q4 = Question(
    name="Question 4 (a convolutional block of your own)",
    checker=check_conv_block,
    hint_text=("Two Keras layers, each called on the tensor the previous one returned: "
               "layers.Conv2D (look up its kernel_size, padding and activation arguments), then "
               "layers.MaxPooling2D. A 3x3 convolution has 3 x 3 x channels weights per filter, "
               "plus one bias."),
    label="ch04-ex5",
)

q5 = Question(
    name="Question 5 (the two heads' loss, by hand)",
    checker=check_weighted_loss,
    hint_text=("Chapter 1 defines the mean absolute error; the binary cross-entropy of a face "
               "is minus the log of the probability given to its true gender (p_female for a "
               "woman, 1 - p_female for a man), averaged over the faces. Weight each, then add."),
    label="ch04-ex6",
)
