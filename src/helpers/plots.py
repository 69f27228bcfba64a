"""Plots for the chapters: labelled face grids and the label distributions of a manifest.

Every function takes a manifest (a DataFrame with age, gender and race columns, as made by
`helpers.data.scan_folder`) and returns the matplotlib Figure or Axes it drew on, so a notebook
can adjust it. Nothing here decodes images: pass arrays from `helpers.data.pipeline.load_images`.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers.data import AGE_BAND_LABELS, GENDERS, RACES, with_label_names

GENDER_ORDER = list(GENDERS.values())
RACE_ORDER = list(RACES.values())
GENDER_PALETTE = {"male": "#4C72B0", "female": "#DD8452", "unknown": "#8C8C8C"}
ORDERS = {"gender": GENDER_ORDER, "race": RACE_ORDER, "age_band": AGE_BAND_LABELS}


def set_style() -> None:
    """The course's plot style: seaborn's white grid, a readable font size."""
    sns.set_theme(style="whitegrid", context="notebook")


def face_label(row: pd.Series) -> str:
    """The caption under a face: age, gender and race, with '?' for an unknown label."""
    age = "?" if pd.isna(row["age"]) else int(row["age"])
    gender = GENDERS.get(row["gender"], "?") if pd.notna(row["gender"]) else "?"
    race = RACES.get(row["race"], "?") if pd.notna(row["race"]) else "?"
    return f"{age}, {gender}\n{race}"


def face_grid(frame: pd.DataFrame, images: np.ndarray, ncols: int = 8, scale: float = 1.5,
              title: str | None = None) -> Figure:
    """Faces in a grid, each captioned with its age, gender and race from the manifest."""
    if len(frame) != len(images):
        raise ValueError(f"{len(frame)} manifest rows but {len(images)} images: pass the rows "
                         "that were decoded, in the same order")
    if len(frame) == 0:
        raise ValueError("no faces to show")
    ncols = min(ncols, len(frame))
    nrows = math.ceil(len(frame) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * scale, nrows * (scale + 0.45)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (_, row), image in zip(axes.flat, frame.iterrows(), images, strict=False):
        image = np.asarray(image)
        gray = image.ndim == 2 or image.shape[-1] == 1
        ax.imshow(image.squeeze(), cmap="gray" if gray else None, vmin=0, vmax=255)
        ax.set_title(face_label(row), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """Labels by name (gender, race, age_band as plain strings) and age as float, for seaborn."""
    named = with_label_names(frame)
    return pd.DataFrame({"age": named["age"].astype(float),
                         "gender": named["gender_name"].astype(str),
                         "race": named["race_name"].astype(str),
                         "age_band": named["age_band"].astype(str)})


def _present(values: pd.Series, column: str, unknown: bool = True) -> list[str]:
    """The names of a label that occur in values, in the label's order ('unknown' last)."""
    seen = set(values)
    order = [v for v in ORDERS[column] if v in seen]
    return order + ["unknown"] if unknown and "unknown" in seen else order


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    """The given Axes, or the Axes of a new figure of figsize."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def age_histogram(frame: pd.DataFrame, hue: str | None = "gender", binwidth: int = 2,
                  ax: Axes | None = None) -> Axes:
    """Histogram of ages, stacked by gender (hue='gender') or for all faces (hue=None)."""
    ax = _new_axes(ax, (9, 3.8))
    named = _named(frame).dropna(subset=["age"])
    kwargs = {}
    if hue is not None:
        kwargs = {"hue": hue, "hue_order": _present(named[hue], hue), "multiple": "stack",
                  "palette": GENDER_PALETTE if hue == "gender" else None}
    sns.histplot(data=named, x="age", binwidth=binwidth, binrange=(0, named["age"].max() + 1),
                 ax=ax, **kwargs)
    ax.set(xlabel="age (years)", ylabel="faces", title=f"Age of {len(named):,} faces")
    return ax


def count_bars(frame: pd.DataFrame, column: str, ax: Axes | None = None) -> Axes:
    """Bars counting faces per gender, race or age band, each bar labelled with its count."""
    ax = _new_axes(ax, (5, 3.5))
    values = _named(frame)[column]
    order = _present(values, column)
    counts = values.value_counts().reindex(order)
    if column == "gender":
        colors = [GENDER_PALETTE[v] for v in order]
    else:
        colors = sns.color_palette(n_colors=len(order))
    bars = ax.bar(order, counts.to_numpy(), color=colors)
    ax.bar_label(bars, labels=[f"{c:,}" for c in counts], fontsize=8)
    ax.set(xlabel=column.replace("_", " "), ylabel="faces", title=f"Faces per {column}")
    ax.margins(y=0.12)
    return ax


def label_bars(frame: pd.DataFrame, columns: tuple[str, ...] = ("gender", "race")) -> Figure:
    """count_bars for several labels side by side, in one figure."""
    widths = [len(ORDERS[c]) + 1 for c in columns]
    fig, axes = plt.subplots(1, len(columns), figsize=(2 + 1.1 * sum(widths), 3.6),
                             gridspec_kw={"width_ratios": widths}, squeeze=False)
    for ax, column in zip(axes.flat, columns, strict=True):
        count_bars(frame, column, ax=ax)
    fig.tight_layout()
    return fig


def age_violins(frame: pd.DataFrame, by: str = "race", hue: str | None = "gender",
                ax: Axes | None = None) -> Axes:
    """Age per group (violins), split by gender; faces whose `by` label is unknown are left out."""
    ax = _new_axes(ax, (9, 4))
    named = _named(frame).dropna(subset=["age"])
    named = named[named[by] != "unknown"]
    kwargs = {}
    if hue is not None:
        named = named[named[hue] != "unknown"]
        hue_order = _present(named[hue], hue, unknown=False)
        kwargs = {"hue": hue, "hue_order": hue_order, "split": len(hue_order) == 2,
                  "palette": GENDER_PALETTE if hue == "gender" else None}
    sns.violinplot(data=named, x=by, y="age", order=_present(named[by], by, unknown=False),
                   inner="quart", cut=0, density_norm="width", ax=ax, **kwargs)
    ax.set(xlabel=by.replace("_", " "), ylabel="age (years)", title=f"Age by {by}")
    return ax


def share_bars(table: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """Grouped bars of a table of shares (rows: categories, columns: sets of faces)."""
    ax = _new_axes(ax, (8, 3.5))
    table.plot.bar(ax=ax, rot=0, width=0.8)
    ax.set(xlabel=str(table.index.name or "").replace("_", " "), ylabel="share of faces",
           title=title)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    return ax


# ------------------------------------------------------------------ training and evaluation plots

def learning_curves(history: pd.DataFrame, title: str = "") -> Figure:
    """Loss, age MAE and gender accuracy per epoch, training against validation."""
    panels = [("loss", "loss (weighted sum)"), ("age_mae", "age MAE (years)"),
              ("gender_accuracy", "gender accuracy")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    epochs = history["epoch"] if "epoch" in history else np.arange(1, len(history) + 1)
    for ax, (key, label) in zip(axes, panels, strict=True):
        ax.plot(epochs, history[key], marker="o", ms=3, label="training")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], marker="o", ms=3, label="validation")
        ax.set(xlabel="epoch", ylabel=label)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if "phase" in history and history["phase"].nunique() > 1:  # transfer: where phase 2 starts
        start = float(np.asarray(epochs)[np.argmax(history["phase"].to_numpy() == 2)]) - 0.5
        for ax in axes:
            ax.axvline(start, color="grey", ls=":", lw=1)
        axes[0].text(start, axes[0].get_ylim()[1], " fine-tuning", va="top", fontsize=8)
    axes[0].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def study_curve(rows: pd.DataFrame, title: str = "") -> Figure:
    """Test age MAE and gender accuracy against training faces: one dot per seed, the mean
    with error bars of one standard deviation, on a log scale of faces."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, (key, label) in zip(axes, [("test_age_mae", "test age MAE (years)"),
                                       ("test_gender_accuracy", "test gender accuracy")],
                                strict=True):
        stats = rows.groupby("train_faces")[key].agg(["mean", "std"]).fillna(0.0)
        ax.scatter(rows["train_faces"], rows[key], s=12, color="grey", alpha=0.6,
                   label="one seed")
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=4,
                    color="C0", label="mean ± 1 sd")
        ax.set(xscale="log", xlabel="training faces (log scale)", ylabel=label)
        ax.set_xticks(stats.index, [f"{n:,}" for n in stats.index], fontsize=8)
        ax.minorticks_off()
    axes[0].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def band_confusion(table: pd.DataFrame, ax: Axes | None = None, title: str = "") -> Axes:
    """An age-group confusion matrix (rows as shares of the true group) as a heatmap."""
    ax = _new_axes(ax, (5.6, 4.6))
    sns.heatmap(table, annot=True, fmt=".0%", cmap="Blues", cbar=False, vmin=0, vmax=1,
                annot_kws={"fontsize": 7}, ax=ax)
    ax.set(title=title or "Age groups: share of each true group")
    return ax


def gender_confusion(predictions: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """The gender confusion matrix of a predictions table (scikit-learn's display)."""
    from sklearn.metrics import ConfusionMatrixDisplay

    ax = _new_axes(ax, (3.8, 3.4))
    ConfusionMatrixDisplay.from_predictions(
        predictions["gender"], predictions["gender_pred"], labels=[0, 1],
        display_labels=GENDER_ORDER, cmap="Blues", colorbar=False, ax=ax)
    ax.set(title=f"Gender on {len(predictions):,} test faces")
    return ax


def age_scatter(predictions: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Predicted against true age, with the diagonal a perfect model would sit on."""
    ax = _new_axes(ax, (4.6, 4.4))
    named = _named(predictions).assign(age_pred=predictions["age_pred"].to_numpy())
    sns.scatterplot(data=named, x="age", y="age_pred", hue="gender", palette=GENDER_PALETTE,
                    hue_order=_present(named["gender"], "gender"), s=10, alpha=0.4, ax=ax)
    top = float(max(named["age"].max(), named["age_pred"].max())) + 2
    ax.plot([0, top], [0, top], color="black", lw=1, ls="--", label="perfect")
    ax.set(xlim=(0, top), ylim=(0, top), xlabel="true age", ylabel="predicted age",
           title="Age: predicted vs true")
    return ax


def error_by_band(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Bars of the age MAE per age band (a table from evaluation.errors_by), faces on top."""
    ax = _new_axes(ax, (7, 3.4))
    bars = ax.bar(table.index.astype(str), table["age_mae"], color="C0")
    ax.bar_label(bars, labels=[f"n={n:,}" for n in table["faces"]], fontsize=7)
    ax.set(xlabel="age band", ylabel="age MAE (years)", title="Age error by age band")
    ax.margins(y=0.12)
    return ax


def prediction_grid(predictions: pd.DataFrame, images: np.ndarray, ncols: int = 8,
                    title: str | None = None) -> Figure:
    """Faces captioned 'true -> predicted' for age and gender; wrong genders in red."""
    if len(predictions) != len(images):
        raise ValueError(f"{len(predictions)} rows but {len(images)} images")
    ncols = min(ncols, len(predictions))
    nrows = math.ceil(len(predictions) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.5, nrows * 2.0), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (_, row), image in zip(axes.flat, predictions.iterrows(), images, strict=False):
        image = np.asarray(image)
        ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None, vmin=0, vmax=255)
        right = row["gender"] == row["gender_pred"]
        ax.set_title(f"{int(row['age'])} -> {row['age_pred']:.0f} y\n"
                     f"{GENDERS[int(row['gender'])]} -> {GENDERS[int(row['gender_pred'])]}",
                     fontsize=7, color="black" if right else "crimson")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def group_intervals(table: pd.DataFrame, title: str = "") -> Figure:
    """Gender accuracy and age MAE per group (a table from evaluation.group_scores), each with
    its 95% interval as an error bar and the number of test faces under the group's name."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(table) + 1.6), sharey=True)
    names = [f"{g} (n={n:,})" for g, n in zip(table.index.astype(str), table["faces"],
                                                strict=True)]
    where = np.arange(len(table))
    for ax, metric, label in ((axes[0], "gender_accuracy", "gender accuracy"),
                              (axes[1], "age_mae", "age MAE (years)")):
        values = table[metric].to_numpy(float)
        errors = np.vstack([values - table[f"{metric}_low"], table[f"{metric}_high"] - values])
        ax.errorbar(values, where, xerr=errors, fmt="o", color="C0", capsize=3)
        ax.axvline(np.average(values, weights=table["faces"]), color="grey", ls="--", lw=1)
        ax.set(xlabel=label)
    axes[0].set_yticks(where, names)
    axes[0].invert_yaxis()
    fig.suptitle(title or f"By {table.index.name}: score and 95% interval (dashed: all faces)")
    fig.tight_layout()
    return fig


def reliability_diagram(table: pd.DataFrame, ece: float | None = None,
                        ax: Axes | None = None) -> Axes:
    """Share of faces labelled female against the mean predicted probability, per bin (a table
    from evaluation.calibration_table); the diagonal is perfect calibration."""
    ax = _new_axes(ax, (4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="perfectly calibrated")
    ax.plot(table["mean_predicted"], table["share_female"], "o-", color="C1", label="model")
    for _, row in table.iterrows():
        ax.annotate(f"{int(row['faces'])}", (row["mean_predicted"], row["share_female"]),
                    textcoords="offset points", xytext=(4, -10), fontsize=7, color="grey")
    title = "Reliability of P(female)" + (f", ECE {ece:.3f}" if ece is not None else "")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="mean predicted probability of 'female'",
           ylabel="share labelled female", title=title)
    ax.legend(loc="upper left", fontsize=8)
    return ax


def heatmap_grid(images: np.ndarray, heatmaps: np.ndarray, captions: list[str],
                 ncols: int = 8, title: str | None = None) -> Figure:
    """Faces with a Grad-CAM heatmap laid over them (red: what pushed the prediction most)."""
    if not len(images) == len(heatmaps) == len(captions):
        raise ValueError(f"{len(images)} images, {len(heatmaps)} heatmaps and "
                         f"{len(captions)} captions: give one of each per face")
    ncols = min(ncols, len(images))
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 1.5, nrows * 1.9), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, heat, caption in zip(axes.flat, images, heatmaps, captions, strict=False):
        image = np.asarray(image)
        ax.imshow(image.squeeze(), cmap="gray" if image.shape[-1] == 1 else None, vmin=0,
                  vmax=255)
        ax.imshow(heat, cmap="jet", alpha=0.4, vmin=0, vmax=1)
        ax.set_title(caption, fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def photo_with_faces(image: np.ndarray, faces: list[dict], ax: Axes | None = None,
                     title: str = "") -> Axes:
    """A photo with a box and 'gender, age' over each face found (from faces.predict_photo)."""
    from matplotlib.patches import Rectangle

    height, width = image.shape[:2]
    ax = _new_axes(ax, (6, 6 * height / width))
    ax.imshow(image)
    for face in faces:
        x, y, w, h = face["box"]
        ax.add_patch(Rectangle((x, y), w, h, fill=False, color="yellow", lw=2))
        interval = (f" ({face['age_interval'][0]:.0f}-{face['age_interval'][1]:.0f})"
                    if "age_interval" in face else "")
        ax.text(x, y - 4, f"{face['gender']} {face['gender_probability']:.0%}, "
                f"{face['age']:.0f} y{interval}", color="black", fontsize=8,
                backgroundcolor="yellow")
    ax.set_title(title or (f"{len(faces)} face(s) found" if faces else "no face found"))
    ax.axis("off")
    return ax


def interval_examples(predictions: pd.DataFrame, k: int = 12, seed: int = 0) -> Figure:
    """k random faces' 90% age intervals (bars), predicted ages (dots) and true ages (crosses,
    red when outside the interval), sorted by predicted age."""
    sample = predictions.sample(min(k, len(predictions)), random_state=seed)
    sample = sample.sort_values("age_pred").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(sample) + 1.2))
    rows = np.arange(len(sample))
    ax.hlines(rows, sample["age_low"], sample["age_high"], color="tab:blue", lw=4, alpha=0.5,
              label="90% interval")
    ax.scatter(sample["age_pred"], rows, color="tab:blue", zorder=3, label="predicted age")
    inside = sample["age_covered"].to_numpy(bool)
    ax.scatter(sample["age"][inside], rows[inside], marker="x", color="black", zorder=4,
               label="true age")
    ax.scatter(sample["age"][~inside], rows[~inside], marker="x", color="tab:red", zorder=4,
               label="true age, outside")
    ax.set(yticks=[], xlabel="age (years)", title="Age intervals of random test faces")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
