"""Chapter 4's auto-checked questions: the seeds' network and honest baselines.

Questions 1 and 2 are answered from the network's architecture (the expected value is read from a
model built here). Question 3 depends on the faces the page ran on, so the notebook binds them
once with `ch04.use(chapter)`, and the expected answer is computed at check time.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers.exercises import Question, ____, close_to

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
