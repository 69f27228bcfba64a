"""What a chapter's first cells need: quiet logs, seeds, the preset, the data, and glue."""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass

import pandas as pd

from .config import Preset, get_preset
from .data import DataReport, load_faces, seed_everything, split_faces


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ and Python log noise (it floods pages and breaks nbval)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")


def glue(name: str, value, display: bool = False) -> None:
    """myst-nb's glue when the book is being built, a no-op elsewhere (Colab, Kaggle)."""
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)


@dataclass
class Chapter:
    """Everything a chapter starts from: its preset, its data and the split of that data."""

    preset: Preset
    data: DataReport
    faces: pd.DataFrame  # usable faces with a 'split' column: train / val / test
    seed: int

    def split(self, name: str) -> pd.DataFrame:
        """The faces of one split ('train', 'val' or 'test')."""
        return self.faces[self.faces["split"] == name].reset_index(drop=True)

    def describe(self) -> str:
        """One sentence on the data and preset this run used (printed and glued)."""
        return (f"This run used {self.data.describe()}; preset '{self.preset.name}' "
                f"({self.preset.image_size}x{self.preset.image_size} pixels, "
                f"{len(self.faces):,} faces split into train/val/test).")


def start_chapter(preset: str | Preset | None = None, seed: int = 0, path=None,
                  download: bool | None = None) -> Chapter:
    """Seed everything, pick the preset, load and split the data, and say which data it is."""
    quiet_tensorflow()
    seed_everything(seed)
    preset = preset if isinstance(preset, Preset) else get_preset(preset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = load_faces(preset, path=path, download=download, seed=seed)
    for w in caught:  # show the defect count once, plainly, instead of a traceback-like warning
        print(f"Warning: {w.message}")
    faces = split_faces(report.manifest, seed=seed, max_faces=preset.max_faces)
    chapter = Chapter(preset, report, faces, seed)
    print(chapter.describe())
    glue("data_source", chapter.describe())
    glue("data_kind", "real UTKFace faces" if report.source == "utkface"
         else "synthetic stand-in faces")
    glue("preset_name", preset.name)
    glue("n_faces", f"{len(faces):,}")
    return chapter
