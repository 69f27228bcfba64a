"""Finding UTKFace, parsing its file names into a manifest, reporting its defects, splitting it."""

from __future__ import annotations

import os
import re
import socket
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

KAGGLE_DATASET = "jangedoo/utkface-new"
UTKFACE_ENV = "UTKFACE_DIR"
KAGGLE_CANDIDATES = (
    "/kaggle/input/utkface-new/UTKFace",
    "/kaggle/input/utkface-new/utkface_aligned_cropped/UTKFace",
    "/kaggle/input/utkface/UTKFace",
    "/kaggle/input/utkface-new/crop_part1",
)
GENDERS = {0: "male", 1: "female"}  # UTKFace: 0 = male (IMDB-WIKI uses the opposite!)
RACES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}
AGE_BANDS = [(0, 2), (3, 9), (10, 19), (20, 29), (30, 39), (40, 49), (50, 59), (60, 200)]
AGE_BAND_LABELS = [f"{lo}-{hi}" if hi < 200 else f"{lo}+" for lo, hi in AGE_BANDS]
MAX_AGE = 120
EXPECTED_SIZE = (200, 200)
NAME_PATTERN = "AGE_GENDER_RACE_DATETIME.jpg.chip.jpg"

_STRICT = re.compile(r"^(\d+)_([01])_([0-4])_(\d{17})\.jpg\.chip\.jpg$")
_SUFFIX = re.compile(r"(?P<space>\s*)(?P<dot>\.?)jpg\.chip\.jpg$")
_FIELDS = re.compile(r"^\d+(?:_\d+)*$")
_IGNORED = {".DS_Store", "Thumbs.db", "desktop.ini"}


class DataNotFoundError(FileNotFoundError):
    """No UTKFace folder could be found or downloaded."""


class DataError(ValueError):
    """A folder was found but cannot be used as it is (empty, no usable faces, ...)."""


# --------------------------------------------------------------------------- finding the data


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def on_kaggle() -> bool:
    """True inside a Kaggle notebook."""
    return "KAGGLE_KERNEL_RUN_TYPE" in os.environ or Path("/kaggle/input").is_dir()


def _network_reachable(host: str = "www.kaggle.com", port: int = 443, timeout: float = 3.0) -> bool:
    """True when a TCP connection to host can be opened within timeout seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _face_folder_inside(root: Path) -> Path | None:
    """The first folder at or under root that holds UTKFace-named images."""
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        if any(name.endswith(".jpg") for name in os.listdir(folder)[:50]):
            return folder
    return None


def download_utkface(dataset: str = KAGGLE_DATASET, timeout: float = 3.0) -> Path:
    """Download UTKFace from Kaggle with kagglehub; fail fast (no hang) when offline."""
    if not _network_reachable(timeout=timeout):
        raise DataNotFoundError(
            "Cannot download UTKFace: Kaggle is not reachable from this machine (offline?). "
            + _WAYS_TO_PROVIDE
        )
    try:
        import kagglehub

        root = Path(kagglehub.dataset_download(dataset))
    except Exception as exc:  # kagglehub raises many kinds (auth, HTTP, ...)
        raise DataNotFoundError(
            f"kagglehub could not download {dataset!r}: {exc}. " + _WAYS_TO_PROVIDE
        ) from exc
    folder = _face_folder_inside(root)
    if folder is None:
        raise DataNotFoundError(f"The download in {root} holds no .jpg faces. " + _WAYS_TO_PROVIDE)
    return folder


_WAYS_TO_PROVIDE = (
    "Provide the faces in one of these ways: (1) pass the folder explicitly, e.g. "
    "find_utkface('path/to/UTKFace'); (2) set the environment variable UTKFACE_DIR to it; "
    "(3) on Kaggle, add the dataset 'jangedoo/utkface-new' to the notebook (it appears under "
    "/kaggle/input); (4) online (Colab), call find_utkface(download=True) to fetch it with "
    "kagglehub."
)


def find_utkface(path: str | os.PathLike | None = None, download: bool | None = None) -> Path:
    """Locate UTKFace: explicit path, else $UTKFACE_DIR, else Kaggle inputs, else kagglehub."""
    explicit = path if path is not None else os.environ.get(UTKFACE_ENV) or None
    if explicit is not None:
        folder = Path(explicit).expanduser()
        origin = "the path given" if path is not None else f"${UTKFACE_ENV}"
        if not folder.exists():
            raise DataNotFoundError(f"{origin} points to {folder}, which does not exist.")
        if not folder.is_dir():
            raise DataNotFoundError(f"{origin} points to {folder}, which is not a folder.")
        return folder
    for candidate in KAGGLE_CANDIDATES:
        if Path(candidate).is_dir():
            return Path(candidate)
    if download is None:
        download = in_colab() or on_kaggle()
    if download:
        return download_utkface()
    raise DataNotFoundError("No UTKFace folder was found. " + _WAYS_TO_PROVIDE)


# --------------------------------------------------------------------------- parsing names


@dataclass
class ParsedName:
    """Labels read from one file name, with the problems met on the way."""

    age: int | None = None
    gender: int | None = None
    race: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def has_labels(self) -> bool:
        """True when both age and gender are known (what the dual-output models need)."""
        return self.age is not None and self.gender is not None


def parse_name(name: str) -> ParsedName:
    """Parse a UTKFace file name strictly; recover what can be recovered honestly, say what not.

    Policy (documented in the EDA chapter):
    - a stray space or a missing dot before 'jpg.chip.jpg' is repaired (labels unaffected);
    - a timestamp that is not 17 digits is reported (labels unaffected);
    - with only two label fields, the second is gender when it is 0 or 1 (the documented order)
      and race is unknown; a value of 2-4 can only be race, so gender is unknown;
    - an age outside 1-120, a gender not 0/1 or a race not 0-4 is reported and left unknown;
    - anything else is not a UTKFace name: no labels.
    """
    strict = _STRICT.match(name)
    if strict and 1 <= int(strict.group(1)) <= MAX_AGE:
        age, gender, race, _ = strict.groups()
        return ParsedName(int(age), int(gender), int(race))

    out = ParsedName()
    suffix = _SUFFIX.search(name)
    if not suffix:
        out.problems.append(f"name does not end in '.jpg.chip.jpg' (expected {NAME_PATTERN})")
        return out
    if suffix["space"]:
        out.problems.append("stray space before '.jpg.chip.jpg' (labels recovered)")
    if not suffix["dot"]:
        out.problems.append("missing '.' before 'jpg.chip.jpg' (labels recovered)")
    stem = name[: suffix.start()]
    if not _FIELDS.match(stem):
        out.problems.append(f"fields are not numbers separated by '_' (expected {NAME_PATTERN})")
        return out
    fields = stem.split("_")
    if len(fields) == 4:
        age, gender, race, stamp = fields
    elif len(fields) == 3:
        age, second, stamp = fields
        if second in ("0", "1"):
            gender, race = second, None
            out.problems.append("race field missing: age and gender recovered, race unknown")
        elif second in ("2", "3", "4"):
            gender, race = None, second
            out.problems.append(
                f"a label field is missing and '{second}' cannot be a gender: age and race "
                "recovered, gender unknown (face left out of gender training)"
            )
        else:
            gender = race = None
            out.problems.append(
                f"a label field is missing and '{second}' is neither gender nor race")
    else:
        out.problems.append(f"{len(fields)} fields instead of 4 (expected {NAME_PATTERN})")
        return out
    if len(stamp) != 17:
        out.problems.append(f"timestamp has {len(stamp)} digits instead of 17 (labels unaffected)")
    if 1 <= int(age) <= MAX_AGE:
        out.age = int(age)
    else:
        out.problems.append(f"age {int(age)} outside 1-{MAX_AGE}: age unknown")
    if gender is not None:
        if gender in ("0", "1"):
            out.gender = int(gender)
        else:
            out.problems.append(f"gender '{gender}' is not 0 or 1: gender unknown")
    if race is not None:
        if race in ("0", "1", "2", "3", "4"):
            out.race = int(race)
        else:
            out.problems.append(f"race '{race}' is not 0-4: race unknown")
    return out


# --------------------------------------------------------------------------- scanning a folder


def inspect_image(path: Path) -> tuple[dict, str | None]:
    """Open and decode one image cheaply; return its properties and a problem (None if fine)."""
    try:
        with Image.open(path) as img:
            info = {"width": img.width, "height": img.height, "mode": img.mode,
                    "format": img.format}
            img.draft("L", (img.width // 8 or 1, img.height // 8 or 1))  # fast JPEG decode
            img.load()  # a truncated or corrupt file fails here
    except UnidentifiedImageError:
        return {}, "not an image file (cannot be decoded)"
    except (OSError, SyntaxError, ValueError) as exc:
        return {}, f"corrupt or truncated image ({exc})"
    return info, None


@dataclass
class DataReport:
    """A scanned folder: the manifest of every file, the defects found, and where it came from."""

    folder: Path
    manifest: pd.DataFrame
    defects: pd.DataFrame
    source: str = "utkface"  # or "synthetic"

    @property
    def n_files(self) -> int:
        """Files looked at."""
        return len(self.manifest)

    @property
    def usable(self) -> pd.DataFrame:
        """Rows with a readable image and both age and gender known."""
        return self.manifest[self.manifest["usable"]].reset_index(drop=True)

    @property
    def n_usable(self) -> int:
        """Faces a dual-output model can train or be scored on."""
        return int(self.manifest["usable"].sum())

    def describe(self) -> str:
        """One sentence saying which data this is, for the book's pages."""
        what = ("real UTKFace faces" if self.source == "utkface"
                else "the synthetic stand-in faces generated by helpers.synthetic "
                     "(not real people)")
        return (f"{what} from {self.folder}: {self.n_files:,} files, {self.n_usable:,} usable, "
                f"{len(self.defects):,} with a reported defect")

    def to_dict(self) -> dict:
        """JSON-ready summary: counts and the defects list (used by `course data check`)."""
        by_action = self.defects["action"].value_counts().to_dict() if len(self.defects) else {}
        return {
            "folder": str(self.folder),
            "source": self.source,
            "n_files": self.n_files,
            "n_usable": self.n_usable,
            "n_defects": len(self.defects),
            "defects_by_action": {k: int(v) for k, v in by_action.items()},
            "defects": self.defects[["file", "problem", "action"]].to_dict(orient="records"),
        }


def _action(parsed: ParsedName, image_problem: str | None) -> str:
    """What the policy did with a defective file: kept, partial (some label unknown) or excluded."""
    if image_problem is not None or (parsed.age is None and parsed.gender is None):
        return "excluded"
    if parsed.race is None or not parsed.has_labels:
        return "partial"
    return "kept"


def scan_folder(folder: str | os.PathLike, check_images: bool = True, source: str = "utkface",
                warn: bool = True) -> DataReport:
    """Scan a UTKFace folder into a DataReport; every defect is listed, none silently dropped."""
    folder = Path(folder)
    if not folder.exists():
        raise DataNotFoundError(f"{folder} does not exist.")
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder.")
    names = sorted(n for n in os.listdir(folder) if n not in _IGNORED and not n.startswith("."))
    files = [n for n in names if (folder / n).is_file()]
    if not files:
        subfolders = [n for n in names if (folder / n).is_dir()]
        hint = (f" It holds folders ({', '.join(subfolders[:5])}): point at the one with the faces,"
                f" e.g. {folder / subfolders[0]}." if subfolders else "")
        raise DataError(f"{folder} holds no files.{hint}")

    rows, defects = [], []
    for name in files:
        parsed = parse_name(name)
        info, image_problem = inspect_image(folder / name) if check_images else ({}, None)
        problems = list(parsed.problems)
        if image_problem:
            problems.append(image_problem)
        elif info:
            if (info["width"], info["height"]) != EXPECTED_SIZE:
                problems.append(f"image is {info['width']}x{info['height']}, not 200x200 "
                                "(resized by the pipeline)")
            if info["mode"] != "RGB":
                problems.append(f"image mode {info['mode']}, not RGB (converted by the pipeline)")
            if info["format"] not in ("JPEG", None):
                problems.append(f"{info['format']} content under a .jpg name (decoded as such)")
        usable = parsed.has_labels and image_problem is None
        rows.append({"file": name, "path": str(folder / name), "age": parsed.age,
                     "gender": parsed.gender, "race": parsed.race, **info, "usable": usable})
        if problems:
            defects.append({"file": name, "problem": "; ".join(problems),
                            "action": _action(parsed, image_problem)})

    manifest = pd.DataFrame(rows)
    for col in ("age", "gender", "race"):
        manifest[col] = manifest[col].astype("Int64")
    report = DataReport(folder, manifest,
                        pd.DataFrame(defects, columns=["file", "problem", "action"]), source)
    if warn and len(report.defects):
        counts = ", ".join(f"{v} {k}" for k, v in report.to_dict()["defects_by_action"].items())
        warnings.warn(f"{folder.name}: {len(report.defects)} of {report.n_files} files have a "
                      f"defect ({counts}); see report.defects.", stacklevel=2)
    if report.n_usable == 0:
        raise DataError(f"{folder} holds {report.n_files} files but no usable face (a readable "
                        f"image named {NAME_PATTERN}). First problems: "
                        f"{report.defects.head(3).to_dict(orient='records')}")
    return report


# --------------------------------------------------------------------------- splitting


def age_band(ages) -> pd.Categorical:
    """Age groups 0-2, 3-9, 10-19, ..., 60+ as an ordered categorical."""
    edges = [lo for lo, _ in AGE_BANDS] + [10_000]
    return pd.cut(pd.Series(ages, dtype=float), bins=edges, right=False, labels=AGE_BAND_LABELS)


def split_faces(manifest: pd.DataFrame, val: float = 0.1, test: float = 0.1, seed: int = 0,
                max_faces: int | None = None) -> pd.DataFrame:
    """Deterministic train/val/test split of the usable faces, stratified by gender and age band."""
    from sklearn.model_selection import train_test_split

    faces = manifest[manifest["usable"]] if "usable" in manifest else manifest
    faces = faces.sort_values("file").reset_index(drop=True)  # listing order is arbitrary
    strata = faces["gender"].astype(str) + "/" + age_band(faces["age"]).astype(str)
    counts = strata.map(strata.value_counts())
    strata = strata.where(counts >= 10, "rare")  # tiny strata cannot be split three ways
    if max_faces is not None and max_faces < len(faces):
        faces, _, strata, _ = train_test_split(faces, strata, train_size=max_faces,
                                               random_state=seed, stratify=strata)
        counts = strata.map(strata.value_counts())
        strata = strata.where(counts >= 10, "rare")
    rest, test_df, rest_strata, _ = train_test_split(faces, strata, test_size=test,
                                                     random_state=seed, stratify=strata)
    train_df, val_df = train_test_split(rest, test_size=val / (1 - test), random_state=seed,
                                        stratify=rest_strata)
    out = pd.concat([train_df.assign(split="train"), val_df.assign(split="val"),
                     test_df.assign(split="test")])
    return out.sort_values(["split", "file"]).reset_index(drop=True)


def class_balance(split: pd.DataFrame) -> pd.DataFrame:
    """Share of women and mean age in each split (to show the split is balanced)."""
    return split.groupby("split").agg(
        faces=("file", "size"), share_female=("gender", "mean"), mean_age=("age", "mean")
    ).loc[["train", "val", "test"]]


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and (when imported) TensorFlow/Keras for reproducible runs."""
    import random

    random.seed(seed)
    np.random.seed(seed)
    if "keras" in sys.modules or "tensorflow" in sys.modules:
        import keras

        keras.utils.set_random_seed(seed)


def load_faces(preset=None, path: str | os.PathLike | None = None,
               download: bool | None = None, seed: int = 0) -> DataReport:
    """Real UTKFace when it can be found, else the synthetic stand-in of the preset's size."""
    from .config import get_preset
    from .synthetic import synthetic_folder

    preset = preset if preset is not None else get_preset()
    try:
        folder = find_utkface(path, download=download)
    except DataNotFoundError as exc:
        if path is not None or os.environ.get(UTKFACE_ENV):
            raise  # the user asked for a folder: do not quietly switch to stand-in data
        print(f"No UTKFace found ({exc.args[0].split('.')[0]}). Using the synthetic stand-in "
              f"dataset: {preset.synthetic_faces} generated faces, not real people.")
        return scan_folder(synthetic_folder(preset.synthetic_faces, seed), source="synthetic")
    return scan_folder(folder)


# --------------------------------------------------------------------------- label summaries (EDA)

DEFECT_ACTIONS = ("kept", "partial", "excluded")
_LABEL_COLUMNS = {"gender": "gender_name", "race": "race_name", "age_band": "age_band"}


def with_label_names(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a manifest with readable gender_name, race_name and age_band columns."""
    out = frame.copy()
    out["gender_name"] = pd.Categorical(out["gender"].map(GENDERS).fillna("unknown"),
                                        categories=[*GENDERS.values(), "unknown"])
    out["race_name"] = pd.Categorical(out["race"].map(RACES).fillna("unknown"),
                                      categories=[*RACES.values(), "unknown"])
    out["age_band"] = age_band(out["age"].astype(float)).array  # ordered categorical
    return out


def label_counts(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Faces and share of faces per value of 'gender', 'race' or 'age_band' (named, in order)."""
    named = with_label_names(frame)[_LABEL_COLUMNS[column]]
    counts = named.value_counts(sort=False)
    counts = counts[(counts > 0) | (counts.index != "unknown")]
    return pd.DataFrame({"faces": counts, "share": counts / counts.sum()}).rename_axis(column)


def label_table(frame: pd.DataFrame, index: str = "age_band", columns: str = "gender",
                normalize: bool | str = False, margins: bool = True) -> pd.DataFrame:
    """A cross-table of two labels ('gender', 'race', 'age_band') by name, with totals."""
    named = with_label_names(frame)
    table = pd.crosstab(named[_LABEL_COLUMNS[index]], named[_LABEL_COLUMNS[columns]],
                        margins=margins, margins_name="total", normalize=normalize,
                        dropna=False)
    empty_unknown = [c for c in table.columns if c == "unknown" and not table[c].any()]
    table = table.drop(columns=empty_unknown)
    table = table.drop(index=[i for i in table.index if i == "unknown" and not table.loc[i].any()])
    return table.rename_axis(index=index, columns=columns)


def label_summary(frame: pd.DataFrame) -> dict[str, int | float | str]:
    """Headline numbers on the labels of a set of faces, as plain Python values (for glue)."""
    ages = frame["age"].astype(float)
    female = frame["gender"] == 1
    male = frame["gender"] == 0
    bands = age_band(ages).to_numpy(dtype=object)
    races = label_counts(frame[frame["race"].notna()], "race")
    races = races[races["faces"] > 0]
    in_20s, old = bands == "20-29", bands == "60+"
    return {
        "n_faces": len(frame),
        "n_female": int(female.sum()),
        "n_male": int(male.sum()),
        "share_female": float(female.mean()),
        "mean_age": float(ages.mean()),
        "median_age": float(ages.median()),
        "min_age": int(ages.min()),
        "max_age": int(ages.max()),
        "mean_age_female": float(ages[female].mean()),
        "mean_age_male": float(ages[male].mean()),
        "n_under_10": int((ages < 10).sum()),
        "share_under_10": float((ages < 10).mean()),
        "n_60plus": int(old.sum()),
        "share_60plus": float(old.mean()),
        "share_female_20s": float(female[in_20s].mean()),
        "share_female_60plus": float(female[old].mean()),
        "n_race_unknown": int(frame["race"].isna().sum()),
        "largest_race": str(races["faces"].idxmax()),
        "largest_race_share": float(races["share"].max()),
        "smallest_race": str(races["faces"].idxmin()),
        "smallest_race_share": float(races["share"].min()),
        "race_ratio": float(races["faces"].max() / races["faces"].min()),
    }


def defect_table(report: DataReport) -> pd.DataFrame:
    """The defects of a scan with the labels the policy recovered for each file (NA: unknown)."""
    labels = with_label_names(report.manifest)[["file", "age", "gender_name", "race_name"]]
    labels = labels.rename(columns={"gender_name": "gender", "race_name": "race"})
    table = report.defects.merge(labels, on="file", how="left")
    return table[["file", "age", "gender", "race", "action", "problem"]]


def defect_counts(report: DataReport) -> dict[str, int]:
    """How many defective files the policy kept, kept with a label unknown, or excluded."""
    counts = report.defects["action"].value_counts()
    return {action: int(counts.get(action, 0)) for action in DEFECT_ACTIONS}


def keras_validation_rows(frame: pd.DataFrame, validation_split: float = 0.1,
                          sort_by: str | None = "file") -> pd.DataFrame:
    """The rows `model.fit(validation_split=...)` would hold out: the last ones, unshuffled."""
    ordered = frame.sort_values(sort_by) if sort_by else frame
    split_at = int(np.floor(len(ordered) * (1.0 - validation_split)))  # as Keras does
    return ordered.iloc[split_at:].reset_index(drop=True)


def compare_shares(frames: dict[str, pd.DataFrame], column: str = "age_band") -> pd.DataFrame:
    """Share of faces per value of a label in several sets of faces, side by side."""
    shares = {name: label_counts(f, column)["share"] for name, f in frames.items()}
    return pd.DataFrame(shares).fillna(0.0)
