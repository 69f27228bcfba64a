"""Time chapters top to bottom and write the figures as a record of choices.json.

    python -m tools.record_chapters --data /path/to/UTKFace --preset cpu 02 03 04

Each chapter runs alone, in a fresh kernel (tests/execute_chapter.py), with an empty runs folder
(no model trained beforehand), at the given preset, on the given faces. The record keeps each
chapter's wall time and the peak memory of its kernel, with this command and this machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tools.record_photos import machine, save

ROOT = Path(__file__).resolve().parents[1]
PEAK = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def run_chapter(notebook: Path, env: dict[str, str], timeout: int) -> dict:
    """Execute one chapter in a process of its own: its seconds and its kernel's peak memory."""
    out = Path(env["COURSE_RUNS"]).parent / f"{notebook.stem}.executed.ipynb"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PEAK, sys.executable,
                           str(ROOT / "tests" / "execute_chapter.py"), str(notebook), str(out),
                           str(timeout)], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{notebook.name} failed:\n{done.stderr[-2000:]}")
    peak_kb = int(done.stdout.strip().splitlines()[-1])  # ru_maxrss is in kilobytes on Linux
    return {"variant": f"chapter {int(notebook.stem.split('_')[0])}",
            "minutes": round(seconds / 60, 1), "peak_memory_gb": round(peak_kb / 1e6, 2)}


def main(argv: list[str] | None = None) -> None:
    """Time the chapters asked for and save the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="+", help="chapter numbers, e.g. 02 03 04")
    parser.add_argument("--data", type=Path, required=True, help="the UTKFace folder")
    parser.add_argument("--preset", default="cpu")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--id", default=None, help="the record's id")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for number in args.chapters:
            notebook = next((ROOT / "notebooks").glob(f"{int(number):02d}_*.ipynb"))
            runs = Path(scratch) / notebook.stem / "runs"
            runs.mkdir(parents=True)
            env = {**os.environ, "COURSE_PRESET": args.preset, "UTKFACE_DIR": str(args.data),
                   "COURSE_RUNS": str(runs), "COURSE_CACHE": str(Path(scratch) / "cache")}
            rows.append(run_chapter(notebook, env, args.timeout))
            print(rows[-1], flush=True)
    save({"id": args.id or f"time-chapters-{args.preset}-{time.strftime('%Y-%m-%d')}",
          "kind": "timing", "topic": "time",
          "question": f"How long does each chapter take at the {args.preset} preset, on the real "
                      "faces, with no model trained beforehand, and how much memory?",
          "chosen": "the chapters as they were at commit " + subprocess.run(
              ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
              text=True).stdout.strip(), "split": None,
          "machine": machine(), "command": "python -m tools.record_chapters " + " ".join(
              argv if argv is not None else sys.argv[1:]),
          "setting": f"{args.preset} preset, each chapter alone in a fresh kernel, an empty runs "
                     "folder, the real UTKFace faces; peak memory is the kernel's resident set",
          "rows": rows})


if __name__ == "__main__":
    main()
