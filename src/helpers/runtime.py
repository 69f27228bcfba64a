"""Where a chapter runs: which `helpers` was imported, whether there is a GPU, which preset to
use, and installing the one optional extra (chapter 8's off-the-shelf comparison) in place."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from helpers.config import PRESET_ENV

PACKAGE = "age-gender-cnn-course"


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


def check_setup() -> str:
    """Check the helpers, find a GPU and say which preset this run uses and which to use;
    returns the message it prints."""
    if not is_course_helpers():
        import helpers

        raise ImportError(f"`helpers` is {getattr(helpers, '__file__', helpers)}, not the "
                          "course's package: rename your own helpers, then restart the session")
    gpus = gpu_names()
    preset = os.environ.get(PRESET_ENV, "smoke")
    wanted = suggested_preset(gpus)
    found = f"GPU: {', '.join(gpus)}." if gpus else "No GPU found (CPU only)."
    message = f"helpers {importlib.metadata.version(PACKAGE)} ready. {found} Preset: '{preset}'."
    if preset != wanted:
        message += (f" For real results here, use the '{wanted}' preset: run "
                    f"`import os; os.environ['{PRESET_ENV}'] = '{wanted}'` in a cell above"
                    + (" (Colab: Runtime > Change runtime type > GPU, for a GPU)." if not gpus
                       else "."))
    print(message)
    return message


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
