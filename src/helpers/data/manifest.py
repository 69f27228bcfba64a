"""UTKFace's file names parsed into a manifest (age, gender, race, date), each image checked,
and every defect of the release reported and counted."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from PIL import Image, UnidentifiedImageError

GENDERS = {0: "male", 1: "female"}  # UTKFace: 0 = male (IMDB-WIKI uses the opposite!)
RACES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}
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
                else "the synthetic stand-in faces generated by helpers.data.synthetic "
                     "(not real people)")
        return (f"{what} in a folder named {Path(self.folder).name!r}: {self.n_files:,} files, "
                f"{self.n_usable:,} usable, {len(self.defects):,} with a reported defect")

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

    return finish_report(DataReport, folder, rows, defects, source, warn,
                         label=folder.name, pattern=NAME_PATTERN)


def finish_report(kind: type[DataReport], folder: Path, rows: list[dict], defects: list[dict],
                  source: str, warn: bool, label: str, pattern: str,
                  item: str = "face") -> DataReport:
    """The report of a scanned folder (UTKFace or FG-NET): the manifest with integer labels, the
    defects table, one warning that counts the defects, and a clear error when nothing is
    usable."""
    manifest = pd.DataFrame(rows)
    for col in ("age", "gender", "race"):
        manifest[col] = manifest[col].astype("Int64")
    report = kind(folder, manifest, pd.DataFrame(defects, columns=["file", "problem", "action"]),
                  source)
    if warn and len(report.defects):
        counts = ", ".join(f"{v} {k}" for k, v in report.to_dict()["defects_by_action"].items())
        warnings.warn(f"{label}: {len(report.defects)} of {report.n_files} files have a "
                      f"defect ({counts}); see report.defects.", stacklevel=3)
    if report.n_usable == 0:
        raise DataError(f"{folder} holds {report.n_files} files but no usable {item} (a readable "
                        f"image named {pattern}). First problems: "
                        f"{report.defects.head(3).to_dict(orient='records')}")
    return report
