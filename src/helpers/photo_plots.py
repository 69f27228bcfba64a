"""Figures of whole photos and their crops: landmarks numbered on a photo, the ways one face is
cut side by side, and an error per age band on two datasets with its intervals."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def show_landmarks(image: np.ndarray, points: np.ndarray, ax: Axes | None = None,
                   title: str = "") -> Axes:
    """A photo with its landmarks drawn and numbered (to see which layout they follow)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 6))
    ax.imshow(image)
    ax.scatter(points[:, 0], points[:, 1], s=6, c="yellow")
    for i, (x, y) in enumerate(points):
        ax.annotate(str(i), (x, y), fontsize=6, color="cyan", xytext=(2, 2),
                    textcoords="offset points")
    ax.set_title(title)
    ax.axis("off")
    return ax


def crop_rows(rows: dict[str, list[np.ndarray | None]], captions: list[str] | None = None,
              scale: float = 1.6) -> Figure:
    """Crops side by side, one row per way of cutting (an empty cell where there is none)."""
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(rows), n, figsize=(scale * n, scale * len(rows) + 0.3),
                             squeeze=False)
    for r, (name, crops) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.axis("off")
            crop = crops[c] if c < len(crops) else None
            if crop is not None:
                ax.imshow(crop)
            if c == 0:
                ax.text(-0.08, 0.5, name, transform=ax.transAxes, rotation=90, ha="right",
                        va="center", fontsize=9)
            if r == 0 and captions:
                ax.set_title(captions[c], fontsize=8)
    fig.tight_layout()
    return fig


def band_errors(table: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Age MAE per age band on FG-NET and on UTKFace's test split, with 95% intervals (from
    carryover.bands_side_by_side)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(table))
    for offset, name, colour in ((-0.2, "fgnet", "tab:red"), (0.2, "utkface", "tab:blue")):
        mean = table[f"{name}_abs_error"].to_numpy(float)
        low = mean - table[f"{name}_abs_error_low"].to_numpy(float)
        high = table[f"{name}_abs_error_high"].to_numpy(float) - mean
        ax.bar(x + offset, mean, 0.4, yerr=[low, high], capsize=3, color=colour,
               label="FG-NET (interval by person)" if name == "fgnet" else
               "UTKFace test split (interval by face)")
    ax.set_xticks(x, table.index)
    ax.set_xlabel("age band")
    ax.set_ylabel("age MAE (years)")
    ax.legend()
    ax.set_title(title)
    return ax
