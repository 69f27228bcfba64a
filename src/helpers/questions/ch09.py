"""Chapter 9's auto-checked questions: deployment. The notebook binds its measured deployment
table once with `ch09.use(table)`; the expected answer is computed from it at check time."""

from __future__ import annotations

import pandas as pd

from helpers.exercises import BoundQuestion, bind_table, close_to

_BOUND: dict[str, pd.DataFrame] = {}


def use(table: pd.DataFrame) -> None:
    """Bind a table from deploy.deployment_table (file sizes and latencies per version)."""
    bind_table(_BOUND, "table", table, {"file_mb"}, "deploy.deployment_table",
               "ch09: answers are checked against this deployment table.")


def expected_shrink() -> float:
    """How many times smaller the 8-bit TFLite file is than the float32 one."""
    sizes = _BOUND["table"]["file_mb"]
    return float(sizes["TFLite float32"] / sizes["TFLite 8-bit weights"])


q1 = BoundQuestion(
    name="Question 1 (how much smaller)",
    checker=close_to(expected_shrink, rtol=0.01),
    hint_text="Divide the float32 file's size by the 8-bit file's size (column file_mb).",
    label="ch09-ex1",
    bound=_BOUND, bind_hint="run ch09.use(table) once",
)
