"""Where a chapter runs: which `helpers` was imported, whether there is a GPU, which preset to
use, and installing the one optional extra (chapter 9's off-the-shelf comparison) in place."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from helpers.config import PRESET_ENV
from helpers.data.find import UTKFACE_ENV

PACKAGE = "age-gender-cnn-course"
DRIVE_MOUNT = "/content/drive"
KAGGLE_RUNS = "/kaggle/working/runs"


def is_course_helpers() -> bool:
    """Whether `import helpers` gives this course's package (not another module of that name)."""
    import helpers

    return Path(getattr(helpers, "__file__", "") or "").resolve().parent == \
        Path(__file__).resolve().parent


def gpu_names() -> list[str]:
    """The GPUs TensorFlow sees (an empty list on a CPU-only machine)."""
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def suggested_preset(gpus: list[str]) -> str:
    """The preset to use here: 'gpu' with a GPU, else 'cpu' (the real faces at 64x64)."""
    return "gpu" if gpus else "cpu"


def find_real_faces() -> str | None:
    """The UTKFace folder this session can use ($UTKFACE_DIR, Kaggle's attached dataset, else
    the kagglehub download in Colab and Kaggle), or None where none can be had."""
    from helpers.data import DataNotFoundError, find_utkface

    try:
        return str(find_utkface())
    except DataNotFoundError as exc:
        if os.environ.get(UTKFACE_ENV):
            raise  # a folder was asked for by name: say what is wrong with it
        print(f"No real faces here: {exc.args[0]}")
        return None


def choose_preset(gpus: list[str]) -> tuple[str, str]:
    """The preset for this session and why, in words: $COURSE_PRESET when set, else 'gpu' with
    a GPU and 'cpu' without ('smoke' is for tests and the book built without the faces)."""
    chosen = os.environ.get(PRESET_ENV)
    if chosen:
        return chosen, f"set by {PRESET_ENV}"
    return suggested_preset(gpus), "a GPU was found" if gpus else "no GPU was found"


def check_setup() -> str:
    """Check the helpers, find a GPU and the real faces, choose the preset of this session
    (exported to $COURSE_PRESET, the faces to $UTKFACE_DIR, for every later cell) and say which
    and why in one line; returns that line."""
    from helpers.config import get_preset

    if not is_course_helpers():
        import helpers

        raise ImportError(f"`helpers` is {getattr(helpers, '__file__', helpers)}, not the "
                          "course's package: rename your own helpers, then restart the session")
    gpus = gpu_names()
    faces = find_real_faces()
    if faces is not None:
        os.environ[UTKFACE_ENV] = faces  # later cells find them without looking again
    name, why = choose_preset(gpus)
    preset = get_preset(name)  # an unknown $COURSE_PRESET fails here, with the choices
    os.environ[PRESET_ENV] = name
    found = f"GPU: {', '.join(gpus)}." if gpus else "No GPU (CPU only)."
    data = ("Real UTKFace faces found." if faces else
            "No real faces: the synthetic stand-in, whose scores say nothing about real faces.")
    message = (f"helpers {importlib.metadata.version(PACKAGE)} ready. {found} {data} "
               f"Preset '{name}' ({preset.description}), because: {why}.")
    if not gpus and (faces is not None):
        message += " (Colab: Runtime > Change runtime type > GPU for the faster 'gpu' preset.)"
    print(message)
    from helpers.data.find import in_colab, on_kaggle

    if on_kaggle():
        keep_runs()  # /kaggle/working outlives the session's kernel
    elif in_colab():
        print("To keep trained models after a disconnect, run keep_runs() (on your Google Drive).")
    return message


def keep_runs(folder: str | os.PathLike | None = None) -> Path:
    """Keep the trained models where a disconnect does not lose them (sets $COURSE_RUNS for
    every later cell): `folder` when given, else Google Drive in Colab (Colab asks to connect
    it), /kaggle/working on Kaggle, else ./runs. A chapter whose model is there loads it, and a
    training cut short resumes from its last finished epoch when its cell runs again."""
    from helpers.book import RUNS_ENV
    from helpers.data.find import in_colab, on_kaggle

    if folder is None:
        if in_colab():
            from google.colab import drive  # only in Colab

            drive.mount(DRIVE_MOUNT)
            folder = Path(DRIVE_MOUNT) / "MyDrive" / "age-gender-course" / "runs"
        elif on_kaggle():
            folder = KAGGLE_RUNS
        else:
            folder = os.environ.get(RUNS_ENV, "runs")
    path = Path(folder).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ[RUNS_ENV] = str(path)
    print(f"Trained models are kept in {path}: a chapter finds its model there, and a training "
          "cut short resumes from its last finished epoch.")
    return path


def installed_from() -> str:
    """Where the course was installed from, as pip takes it (`git+URL@REV` after the set-up
    cell's install; PEP 610's direct_url.json records it), else its name on the index."""
    import json

    try:
        recorded = importlib.metadata.distribution(PACKAGE).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        recorded = None
    direct = json.loads(recorded) if recorded else {}
    vcs = direct.get("vcs_info")
    if vcs:
        revision = vcs.get("requested_revision") or vcs.get("commit_id")
        return f"{vcs['vcs']}+{direct['url']}" + (f"@{revision}" if revision else "")
    if direct.get("url", "").startswith("file://"):
        return direct["url"]
    return PACKAGE


def install_extra(extra: str, module: str, source: str | None = None) -> bool:
    """Install one of the course's extras (e.g. 'compare') when `module` is missing, from
    `source` (default: where the course itself came from), and say plainly whether the session
    must be restarted: it must when the install changed a package that was installed already
    (and may be imported). Returns whether a restart is needed."""
    if importlib.util.find_spec(module) is not None:
        print(f"{module} is installed: nothing to do, no restart needed.")
        return False
    source = source or installed_from()
    requirement = (f"{PACKAGE}[{extra}] @ {source}" if source != PACKAGE
                   else f"{PACKAGE}[{extra}]")
    watched = [name for name in ("numpy", "pillow", "opencv-python", "opencv-python-headless",
                                 "tensorflow", "keras", "dlib")
               if _version(name) is not None]
    before = {name: _version(name) for name in watched}
    print(f"Installing {requirement} ...")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", requirement], check=True)
    importlib.invalidate_caches()
    changed = [f"{name} {old} -> {_version(name)}" for name, old in before.items()
               if _version(name) != old]
    if changed:
        print("RESTART NEEDED: installing the extra changed " + ", ".join(changed) +
              ". Restart the session (Colab: Runtime > Restart session; Kaggle: Run > Restart "
              "& clear cell outputs), then run the notebook again from the top; this cell then "
              "finds the package and changes nothing.")
    else:
        print(f"Installed {module}; no package already in use changed: no restart needed.")
    return bool(changed)


def _version(name: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None
