"""Chapter 5's auto-checked questions: what phase 1 trains, and MobileNetV2's preprocessing."""

from __future__ import annotations

from ..exercises import Question, close_to


def expected_phase1_params() -> int:
    """Parameters MobileNetV2's transfer model trains in phase 1 (built without downloading)."""
    from ..transfer import trainable_per_phase, transfer_model

    return trainable_per_phase(transfer_model("mobilenetv2", 32, weights=None))["trainable_phase1"]


q1 = Question(
    name="Question 1 (what phase 1 trains)",
    checker=close_to(expected_phase1_params, rtol=0),
    hint_text=("A dense layer from 1,280 inputs to 256 units has 1,280 x 256 weights and 256 "
               "biases; each of the two output units has 256 weights and one bias."),
    label="ch05-ex1",
)

q2 = Question(
    name="Question 2 (MobileNetV2's preprocessing)",
    checker=close_to(51 / 127.5 - 1, rtol=0, atol=1e-6),
    hint_text="Divide by 127.5, then subtract 1: 0 becomes -1 and 255 becomes 1.",
    label="ch05-ex2",
)
