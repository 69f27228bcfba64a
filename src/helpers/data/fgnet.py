"""Finding FG-NET, parsing its `PPPAxx` names into a manifest (path, person, age), reading its
68-point `.pts` landmarks, and reporting its defects the way helpers.data does for UTKFace.

FG-NET (the FG-NET Aging Database) holds whole photos of a few dozen people, each photographed
at many ages, with hand-placed landmarks; it has age labels only. Several photos of one person
are not independent: split and resample it by person (helpers.scoring.grouped).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data import DataError, DataNotFoundError, DataReport, inspect_image
from helpers.data.manifest import finish_report

FGNET_ENV = "FGNET_DIR"
KAGGLE_ROOT = Path("/kaggle/input")
NAME_PATTERN = "PPPAxx.JPG (person PPP at age xx, optionally a letter: 009A16a.JPG)"
N_LANDMARKS = 68
_NAME = re.compile(r"^(?P<person>\d{3})a(?P<age>\d{2})(?P<variant>[a-z]?)\.jpe?g$", re.IGNORECASE)
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
_IGNORED = {".DS_Store", "Thumbs.db", "desktop.ini"}

_WAYS_TO_PROVIDE = (
    "Provide FG-NET in one of these ways: (1) pass the folder explicitly, e.g. "
    "find_fgnet('path/to/FGNET') or `course evaluate --dataset fgnet --data path/to/FGNET`; "
    f"(2) set the environment variable {FGNET_ENV} to it; (3) on Kaggle, add an FG-NET dataset "
    "to the notebook (a folder FGNET with images/ and points/ under /kaggle/input). The folder "
    "holds images/ (PPPAxx.JPG) and, optionally, points/ (pppaxx.pts). FG-NET is for research "
    "use: the course never downloads it."
)


class FgnetNotFoundError(DataNotFoundError):
    """No FG-NET folder could be found."""


# --------------------------------------------------------------------------- finding the data


def fgnet_layout(folder: str | os.PathLike) -> tuple[Path, Path | None]:
    """The images folder and the landmarks folder (None when absent) of an FG-NET folder: the
    release's FGNET/ (images/ and points/ inside), or a folder of photos (points/ beside it,
    inside it, or the .pts files among the photos)."""
    folder = Path(folder).expanduser()
    if (folder / "images").is_dir():
        images = folder / "images"
    elif (folder / "FGNET" / "images").is_dir():
        images = folder / "FGNET" / "images"
    else:
        images = folder
    for points in (images.parent / "points", images / "points"):
        if points.is_dir() and points != images:
            return images, points
    has_pts = any(n.lower().endswith(".pts") for n in os.listdir(images)) if images.is_dir() \
        else False
    return images, images if has_pts else None


def _kaggle_fgnet() -> Path | None:
    """An FGNET folder among Kaggle's input datasets (any dataset name), or None."""
    if not KAGGLE_ROOT.is_dir():
        return None
    for pattern in ("*/FGNET", "*/*/FGNET", "*fgnet*", "*/*fgnet*"):
        for candidate in sorted(KAGGLE_ROOT.glob(pattern)):
            if candidate.is_dir() and (candidate / "images").is_dir():
                return candidate
    return None


def find_fgnet(path: str | os.PathLike | None = None) -> Path:
    """Locate FG-NET: explicit path, else $FGNET_DIR, else Kaggle's input folders; fail at once
    (it is never downloaded) with the ways to provide it."""
    explicit = path if path is not None else os.environ.get(FGNET_ENV) or None
    if explicit is not None:
        folder = Path(explicit).expanduser()
        origin = "the path given" if path is not None else f"${FGNET_ENV}"
        if not folder.exists():
            raise FgnetNotFoundError(f"{origin} points to {folder}, which does not exist. "
                                     + _WAYS_TO_PROVIDE)
        if not folder.is_dir():
            raise FgnetNotFoundError(f"{origin} points to {folder}, which is not a folder.")
        return folder
    found = _kaggle_fgnet()
    if found is not None:
        return found
    raise FgnetNotFoundError("No FG-NET folder was found. " + _WAYS_TO_PROVIDE)


def looks_like_fgnet(folder: str | os.PathLike) -> bool:
    """True when most image names of a folder (or its images/) follow FG-NET's PPPAxx pattern."""
    try:
        images, _ = fgnet_layout(folder)
        names = [n for n in os.listdir(images) if Path(n).suffix.lower() in _IMAGE_SUFFIXES]
    except OSError:
        return False
    return bool(names) and sum(bool(_NAME.match(n)) for n in names) >= 0.8 * len(names)


# --------------------------------------------------------------------------- names and landmarks


@dataclass(frozen=True)
class FgnetName:
    """Person, age and variant letter read from one FG-NET file name."""

    person: str
    age: int
    variant: str = ""

    @property
    def key(self) -> str:
        """The name's stem in lower case (the .pts file's stem): '009a16a'."""
        return f"{self.person}a{self.age:02d}{self.variant}"


def parse_fgnet_name(name: str) -> FgnetName | None:
    """Parse 'PPPAxx[v].JPG' in either case; None when the name is not an FG-NET name."""
    match = _NAME.match(name)
    if match is None:
        return None
    return FgnetName(match["person"], int(match["age"]), match["variant"].lower())


def read_pts(path: str | os.PathLike, n_points: int = N_LANDMARKS) -> np.ndarray:
    """The landmarks of a .pts file (version / n_points / { x y ... }) as an (n, 2) float array;
    a ValueError saying what is wrong otherwise."""
    path = Path(path)
    try:
        text = path.read_text(errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read landmarks {path.name} ({exc})") from exc
    if "{" not in text or "}" not in text:
        raise ValueError(f"{path.name} is not a .pts file (no '{{ ... }}' block of points)")
    header, body = text.split("{", 1)
    declared = re.search(r"n_points:\s*(\d+)", header)
    try:
        values = np.array(body.split("}", 1)[0].split(), dtype=float)
    except ValueError as exc:
        raise ValueError(f"{path.name}: a landmark coordinate is not a number") from exc
    if values.size % 2:
        raise ValueError(f"{path.name}: an odd number of coordinates ({values.size})")
    points = values.reshape(-1, 2)
    if declared and int(declared.group(1)) != len(points):
        raise ValueError(f"{path.name} declares {declared.group(1)} points but holds "
                         f"{len(points)}")
    if len(points) != n_points:
        raise ValueError(f"{path.name} holds {len(points)} points, not {n_points}")
    if not np.isfinite(points).all():
        raise ValueError(f"{path.name}: a landmark is not finite")
    return points


def write_pts(path: str | os.PathLike, points: np.ndarray) -> Path:
    """Write landmarks in the .pts format FG-NET uses (for the synthetic stand-in)."""
    path = Path(path)
    lines = "\n".join(f"{x:.3f} {y:.3f}" for x, y in np.asarray(points, float))
    path.write_text(f"version: 1\nn_points: {len(points)}\n{{\n{lines}\n}}\n")
    return path


def is_grayscale(path: str | os.PathLike, tolerance: float = 3.0) -> bool:
    """True for a grayscale photo: an L-mode file or RGB whose channels (nearly) agree."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode in ("L", "LA", "1", "I", "I;16"):
            return True
        img.draft("RGB", (max(1, img.width // 4), max(1, img.height // 4)))
        pixels = np.asarray(img.convert("RGB"), dtype=np.int16)
    spread = np.abs(pixels - pixels.mean(axis=-1, keepdims=True)).mean()
    return bool(spread < tolerance)


# --------------------------------------------------------------------------- scanning a folder


class FgnetReport(DataReport):
    """A scanned FG-NET folder: manifest (file, path, person, age, landmarks, ...) and defects."""

    @property
    def n_people(self) -> int:
        """People with at least one usable photo."""
        return int(self.usable["person"].nunique())

    def describe(self) -> str:
        """One sentence saying which data this is, for the book's pages."""
        what = ("real FG-NET photos" if self.source == "fgnet"
                else "synthetic stand-in photos shaped like FG-NET's (not real people)")
        return (f"{what} in a folder named {Path(self.folder).name!r}: {self.n_files:,} files, "
                f"{self.n_usable:,} usable photos of {self.n_people} people, "
                f"{len(self.defects):,} with a reported defect")

    def to_dict(self) -> dict:
        """JSON-ready summary: counts, people and the defects list."""
        return {**super().to_dict(), "n_people": self.n_people,
                "n_with_landmarks": int(self.usable["has_landmarks"].sum())}


def _landmark_file(points: Path | None, parsed: FgnetName) -> Path | None:
    """The .pts file of a photo (either case), or None."""
    if points is None:
        return None
    for stem in (parsed.key, parsed.key.upper(), f"{parsed.person}A{parsed.age:02d}"
                 f"{parsed.variant}"):
        candidate = points / f"{stem}.pts"
        if candidate.is_file():
            return candidate
    return None


def scan_fgnet(folder: str | os.PathLike, check_images: bool = True, source: str = "fgnet",
               warn: bool = True) -> FgnetReport:
    """Scan an FG-NET folder into an FgnetReport; every defect is listed (odd names, unreadable
    files, photos without landmarks, landmarks without a photo), none silently dropped."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise FgnetNotFoundError(f"{folder} does not exist. " + _WAYS_TO_PROVIDE)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder.")
    images, points = fgnet_layout(folder)
    names = sorted(n for n in os.listdir(images) if n not in _IGNORED and not n.startswith(".")
                   and (images / n).is_file() and not n.lower().endswith(".pts"))
    if not names:
        raise DataError(f"{images} holds no photos. " + _WAYS_TO_PROVIDE)
    rows, defects, used_pts = [], [], set()
    for name in names:
        path = images / name
        parsed = parse_fgnet_name(name)
        problems, action = [], "kept"
        info, image_problem = inspect_image(path) if check_images else ({}, None)
        if parsed is None:
            problems.append(f"not an FG-NET name (expected {NAME_PATTERN}): no person or age")
            action = "excluded"
        if image_problem:
            problems.append(image_problem)
            action = "excluded"
        pts, has_landmarks = None, False
        if parsed is not None:
            pts = _landmark_file(points, parsed)
            if pts is None:
                problems.append("no landmarks (.pts): aligned with the 5-point landmark model "
                                "instead")
            else:
                used_pts.add(pts.name)
                try:
                    read_pts(pts)
                    has_landmarks = True
                except ValueError as exc:
                    problems.append(f"landmarks unusable ({exc}): aligned with the 5-point "
                                    "landmark model instead")
        usable = parsed is not None and image_problem is None
        gray = bool(usable and check_images and is_grayscale(path))
        rows.append({"file": name, "path": str(path),
                     "person": parsed.person if parsed else None,
                     "age": parsed.age if parsed else None, "gender": pd.NA, "race": pd.NA,
                     **info, "grayscale": gray, "points": str(pts) if has_landmarks else None,
                     "has_landmarks": has_landmarks, "usable": usable})
        if problems:
            defects.append({"file": name, "problem": "; ".join(problems), "action": action})
    if points is not None:
        for pts_name in sorted(n for n in os.listdir(points) if n.lower().endswith(".pts")):
            if pts_name not in used_pts:
                defects.append({"file": f"{points.name}/{pts_name}", "action": "excluded",
                                "problem": "landmarks without a photo of that name (ignored)"})
    return finish_report(FgnetReport, images, rows, defects, source, warn,
                         label=f"FG-NET {images}", pattern=NAME_PATTERN, item="photo")


def load_fgnet(path: str | os.PathLike | None = None, warn: bool = True) -> FgnetReport:
    """find_fgnet then scan_fgnet: the real FG-NET photos, or FgnetNotFoundError."""
    return scan_fgnet(find_fgnet(path), warn=warn)


# --------------------------------------------------------------------------- summaries


def fgnet_summary(report: FgnetReport) -> dict[str, int | float]:
    """Headline numbers of an FG-NET scan (for glue): photos, people, ages, shares."""
    usable = report.usable
    ages = usable["age"].astype(float)
    return {"n_photos": report.n_usable, "n_people": report.n_people,
            "n_defects": len(report.defects), "min_age": int(ages.min()),
            "max_age": int(ages.max()), "median_age": float(ages.median()),
            "share_under_10": float((ages < 10).mean()),
            "share_under_20": float((ages < 20).mean()),
            "share_grayscale": float(usable["grayscale"].mean()),
            "share_with_landmarks": float(usable["has_landmarks"].mean()),
            "photos_per_person": float(usable.groupby("person").size().median())}


def band_shares(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of photos per age band (helpers.data's bands) in several sets, side by side."""
    from helpers.data import AGE_BAND_LABELS, age_band

    shares = {}
    for name, frame in frames.items():
        counts = age_band(frame["age"].astype(float)).value_counts(sort=False)
        shares[name] = (counts / counts.sum()).reindex(AGE_BAND_LABELS).fillna(0.0)
    table = pd.DataFrame(shares)
    table.index.name = "age_band"
    return table
