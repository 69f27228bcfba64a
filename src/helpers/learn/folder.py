"""Run folders: what `course train` writes (model.keras, history.csv, config.json, splits.csv,
the backup to resume from, member0/ ... for networks averaged), one type that the command line,
the chapters and `course evaluate` share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import keras
import pandas as pd

from helpers.data.manifest import DataNotFoundError

SPLIT_COLUMNS = ["file", "split", "age", "gender", "race"]


def member_folder(out: str | Path, k: int) -> Path:
    """The folder of network k of a run that averages several."""
    return Path(out) / f"member{k}"


def load_trained_model(path: str | Path) -> keras.Model:
    """Load a saved .keras model (or RUN_DIR/model.keras) with a clear error when it is missing."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise DataNotFoundError(f"No model at {path}. Train one first, for example: course train "
                                "--data DIR --preset cpu --model scratch --out runs/scratch")
    return keras.models.load_model(path)


@dataclass(frozen=True)
class RunFolder:
    """One run's folder and the files in it."""

    path: Path

    @classmethod
    def of(cls, path: str | Path) -> RunFolder:
        """The run folder of a folder, or of the model.keras file inside one."""
        path = Path(path)
        return cls(path.parent if path.suffix == ".keras" else path)

    @property
    def model_path(self) -> Path:
        """The trained model."""
        return self.path / "model.keras"

    @property
    def config_path(self) -> Path:
        """What the run was: model, preset, data, seed, and, once finished, its scores."""
        return self.path / "config.json"

    @property
    def splits_path(self) -> Path:
        """Which face was in which split."""
        return self.path / "splits.csv"

    @property
    def history_path(self) -> Path:
        """One row per epoch."""
        return self.path / "history.csv"

    def config(self) -> dict:
        """The run's config ({} when there is none yet)."""
        return json.loads(self.config_path.read_text()) if self.config_path.exists() else {}

    def write_config(self, config: dict) -> None:
        """Write the run's config."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(json.dumps(config, indent=2) + "\n")

    def finished(self) -> bool:
        """Whether the run ran to its end and saved its model."""
        return bool(self.config().get("finished")) and self.model_path.exists()

    def write_splits(self, faces: pd.DataFrame) -> None:
        """Record which face went to which split."""
        self.path.mkdir(parents=True, exist_ok=True)
        faces[SPLIT_COLUMNS].to_csv(self.splits_path, index=False)

    def splits(self) -> pd.DataFrame:
        """The run's splits.csv, with a clear error when it is missing."""
        if not self.splits_path.exists():
            raise DataNotFoundError(f"{self.splits_path} is missing: it is written by "
                                    "`course train` beside the model")
        return pd.read_csv(self.splits_path)

    def split_files(self, split: str) -> set[str]:
        """The file names of one split of the run."""
        splits = self.splits()
        return set(splits.loc[splits["split"] == split, "file"])

    def load_model(self) -> keras.Model:
        """The trained model, with a clear error when there is none."""
        return load_trained_model(self.model_path)

    def networks(self) -> list[keras.Model]:
        """The networks the run's model averages, each alone (member0, member1, ...), or its
        one model."""
        config = self.config()
        folders = config.get("member_dirs") or [member_folder(".", k).name  # older runs
                                                for k in range(config.get("members", 1))]
        if config.get("members", 1) == 1 and "member_dirs" not in config:
            return [self.load_model()]
        return [RunFolder(self.path / folder).load_model() for folder in folders]
