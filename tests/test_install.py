"""The base install keeps Colab's and Kaggle's stacks: pip's resolver, in dry-run mode, with each
platform's Python and its packages as constraints (constraints/*.txt), must find a solution that
changes none of them. These read the package index (PyPI, which the install needs anyway) and
install nothing; they skip, with the reason, without that Python or without the index."""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

PLATFORMS = sorted((ROOT / "constraints").glob("*.txt"))
INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")


def base_requirements() -> list[str]:
    """The course's base install (pyproject's dependencies, without any extra)."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]


def pins(constraints: Path) -> dict[str, str]:
    """The packages a constraints file pins: normalised name -> version."""
    found = {}
    for line in constraints.read_text().splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match[1]).lower()] = match[2]
    return found


def platform_python(constraints: Path) -> str:
    """The Python version a constraints file is for (its first line: `# python 3.13`)."""
    match = re.match(r"#\s*python\s+(\d+\.\d+)", constraints.read_text())
    assert match, f"{constraints.name} must start with '# python X.Y'"
    return match[1]


def find_python(version: str) -> str | None:
    """An interpreter of that version on this machine (PATH, then pyenv's versions), or None."""
    home = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [shutil.which(f"python{version}")]
    candidates += sorted(glob.glob(str(home / "versions" / f"{version}*" / "bin" /
                                       f"python{version}")), reverse=True)
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys, pip; print('%d.%d' % "
                                "sys.version_info[:2])"], capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def index_unreachable() -> str | None:
    """Why the package index cannot be read from here, or None when it can."""
    try:
        with urllib.request.urlopen(f"{INDEX}/pip/", timeout=15):
            return None
    except OSError as exc:
        return f"the package index {INDEX} cannot be reached ({exc})"


def resolve(python: str, constraints: Path, requirements: list[str], report: Path) -> dict:
    """pip's resolver, dry run, as if on a clean machine: what it would install (name ->
    version); raises AssertionError with pip's own explanation when there is no solution."""
    env = {**os.environ, "PYTHONNOUSERSITE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    result = subprocess.run([python, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                             "--quiet", "--report", str(report), "-c", str(constraints),
                             *requirements], capture_output=True, text=True, env=env,
                            timeout=900)
    assert result.returncode == 0, (
        f"pip cannot install the base install without changing {constraints.name}'s "
        f"packages:\n{result.stderr[-3000:]}")
    installs = json.loads(report.read_text())["install"]
    return {re.sub(r"[-_.]+", "-", item["metadata"]["name"]).lower(): item["metadata"]["version"]
            for item in installs}


def changed(constraints: Path, planned: dict[str, str]) -> list[str]:
    """The constrained packages the resolver would install at another version."""
    return [f"{name} {version} -> {planned[name]}" for name, version in pins(constraints).items()
            if name in planned and planned[name] != version]


@pytest.fixture(scope="module")
def index() -> str:
    """The package index, or a skip with the reason when it cannot be reached."""
    reason = index_unreachable()
    if reason:
        pytest.skip(reason)
    return INDEX


@pytest.mark.registry
@pytest.mark.parametrize("constraints", PLATFORMS, ids=lambda p: p.stem)
def test_base_install_keeps_the_platform_stack(constraints, index, tmp_path):
    version = platform_python(constraints)
    python = find_python(version)
    if python is None:
        pytest.skip(f"no Python {version} with pip on this machine ({constraints.stem}'s)")
    planned = resolve(python, constraints, base_requirements(), tmp_path / "report.json")
    assert changed(constraints, planned) == []
    for name in ("tensorflow", "keras", "numpy"):  # the stack really is what gets resolved
        assert planned[name] == pins(constraints)[name]


@pytest.mark.registry
def test_the_check_fails_when_the_install_would_change_a_pinned_package(index, tmp_path):
    # A platform shipping a NumPy older than the course accepts: the resolver has no solution.
    old = tmp_path / "old.txt"
    old.write_text("numpy==1.21.0\n")
    python = find_python("3.11") or shutil.which("python3")
    with pytest.raises(AssertionError, match="without changing old.txt"):
        resolve(python, old, ["numpy>=1.24"], tmp_path / "report.json")


def test_changed_compares_the_plan_with_the_pins(tmp_path):
    pinned = tmp_path / "stack.txt"
    pinned.write_text("# python 3.13\nNumPy==2.1.3\npillow==11.3.0  # comment\n")
    assert pins(pinned) == {"numpy": "2.1.3", "pillow": "11.3.0"}
    assert changed(pinned, {"numpy": "2.1.3", "pillow": "12.3.0", "keras": "3.13.2"}) == \
        ["pillow 11.3.0 -> 12.3.0"]
    assert platform_python(pinned) == "3.13"
