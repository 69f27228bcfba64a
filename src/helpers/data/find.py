"""Finding UTKFace: a folder given, $UTKFACE_DIR, Kaggle's input folders, or a download
(failing fast offline), else the synthetic stand-in."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from helpers.data.manifest import DataNotFoundError, DataReport, scan_folder

KAGGLE_DATASET = "jangedoo/utkface-new"
UTKFACE_ENV = "UTKFACE_DIR"
KAGGLE_CANDIDATES = (
    "/kaggle/input/utkface-new/UTKFace",
    "/kaggle/input/utkface-new/utkface_aligned_cropped/UTKFace",
    "/kaggle/input/utkface/UTKFace",
    "/kaggle/input/utkface-new/crop_part1",
)

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


def load_faces(preset=None, path: str | os.PathLike | None = None,
               download: bool | None = None, seed: int = 0) -> DataReport:
    """Real UTKFace when it can be found, else the synthetic stand-in of the preset's size."""
    from helpers.config import get_preset
    from helpers.data.synthetic import synthetic_folder

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
