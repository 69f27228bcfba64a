"""What a chapter's first cells need: quiet logs, seeds, the preset, the data, and glue."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import keras

from helpers.config import Preset, get_preset
from helpers.data import DataReport, load_faces, seed_everything, split_faces


def quiet_tensorflow() -> None:
    """Silence TensorFlow's C++ and Python log noise (it floods pages and breaks nbval)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="keras")


# Every value glued in this session, for the plain editions' shown-text cells (show_markdown).
GLUED: dict[str, object] = {}


def glue(name: str, value, display: bool = False) -> None:
    """Keep the value for show_markdown, and hand it to myst-nb's glue when the book is being
    built (myst-nb is absent in Colab and Kaggle)."""
    GLUED[name] = value
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)


# A glued value quoted in Markdown: {{name}} or {{name:format}} (the plain editions' cells).
PLACEHOLDER = re.compile(r"\{\{(?P<name>[\w.-]+)(?::(?P<spec>[^{}]*))?\}\}")
MISSING = "[not computed yet: run the cells above ({name})]"


def fill(text: str, values: dict, missing: str = MISSING) -> str:
    """Replace each {{name:format}} with the glued value, formatted as myst-nb's glue:text does."""

    def one(match: re.Match) -> str:
        name, spec = match["name"], match["spec"]
        if name not in values:
            return missing.format(name=name)
        value = values[name]
        if spec:
            try:
                return format(value, spec)
            except (TypeError, ValueError):
                return str(value)
        return str(value)

    return PLACEHOLDER.sub(one, text)


def show_markdown(template: str) -> None:
    """Show Markdown with each {{name:format}} replaced by the value glued under that name
    (the plain editions' cells that quote this run's numbers)."""
    from IPython.display import Markdown, display

    display(Markdown(fill(template, GLUED)))


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

    def data_kind(self) -> str:
        """A few words on the data: 'real UTKFace faces' or 'synthetic stand-in faces'."""
        return "real UTKFace faces" if self.data.source == "utkface" else "synthetic stand-in faces"

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
    glue("data_kind", chapter.data_kind())
    glue("preset_name", preset.name)
    glue("n_faces", f"{len(faces):,}")
    return chapter


RUNS_ENV = "COURSE_RUNS"


def run_folder(chapter: Chapter, name: str,
               runs: str | os.PathLike | None = None) -> tuple[Path, str]:
    """Where chapter_model keeps the run of model `name` for this data, preset and seed (under
    $COURSE_RUNS, else ./runs), and the `course train` command that trains it there."""
    key = json.dumps([str(chapter.data.folder), chapter.preset.to_dict(), chapter.seed])
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    out = Path(runs or os.environ.get(RUNS_ENV, "runs")) / \
        f"{name}-{chapter.preset.name}-{chapter.data.source}-{digest}"
    command = (f"course train --data {chapter.data.folder} --preset {chapter.preset.name} "
               f"--model {name} --seed {chapter.seed} --out {out}")
    return out, command


def chapter_model(chapter: Chapter, name: str,
                  runs: str | os.PathLike | None = None) -> tuple[keras.Model, dict]:
    """The chapter's trained model `name` (see `course train --help`) and its run config: loaded
    from the runs folder ($COURSE_RUNS, else ./runs) when this data, preset and seed were
    trained already (by `course train` or an earlier chapter), else trained now, at the preset.
    The run's own test split is checked to be the chapter's, so scores are on unseen faces."""
    from helpers.data import DataError
    from helpers.learn.folder import RunFolder
    from helpers.learn.runs import train_on_faces

    out, command = run_folder(chapter, name, runs)
    print(f"Model '{name}': {out} (the same as `{command}`)")
    run = RunFolder(out)
    with run_lock(out):  # two chapters open at once: one trains, the other waits and loads
        if run.finished() and run.split_files("test") != set(chapter.split("test")["file"]):
            raise DataError(f"{out} was trained on another split of the data than this "
                            "chapter's; delete that folder to train it again")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="NOT pretrained")  # train_run prints it
            config = train_on_faces(chapter.faces, str(chapter.data.folder),
                                    chapter.data.source, chapter.preset, name, out,
                                    seed=chapter.seed, verbose=0)
    return run.load_model(), config


def chapter_networks(chapter: Chapter, name: str,
                     runs: str | os.PathLike | None = None) -> list[keras.Model]:
    """The networks the chapter's trained model `name` averages, each alone (one network: the
    model itself); train it first with chapter_model."""
    from helpers.learn.folder import RunFolder

    return RunFolder(run_folder(chapter, name, runs)[0]).networks()


@contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on run folder `out` (its file `.lock`) while inside: a second
    process asking for the same run waits until the first has trained it (POSIX only;
    elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:  # Windows: one notebook at a time
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:  # a folder on a network drive (Google Drive) without locks
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def training_plan(models: list[str], preset: str | None = None,
                  runs: str | os.PathLike | None = None) -> list[dict]:
    """For each model, the `course train` arguments that train it where chapter_model looks
    for it (a chapter's data, preset and seed: start_chapter's defaults, as in the chapters)."""
    chapter = start_chapter(preset)
    plan = []
    for name in models:
        out, _ = run_folder(chapter, name, runs)
        plan.append({"model": name, "out": str(out),
                     "args": ["train", "--data", str(chapter.data.folder), "--preset",
                              chapter.preset.name, "--model", name, "--seed", str(chapter.seed),
                              "--out", str(out)]})
    return plan
