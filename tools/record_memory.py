"""Measure the host memory a preset's training takes, on this machine, and write it as a record.

    python -m tools.record_memory --data /path/to/UTKFace --preset gpu

A GPU holds the network, but the faces, their cache and the shuffle buffer live in the host's
memory (Colab's free tier has about 12 GB). Each step runs in a process of its own, so that its
peak resident memory is its own: the chosen scratch network trained for one epoch the way the
chapters' comparisons train it (`training.run_experiment`: the faces decoded at the preset's size
and cached, shuffled, batched, then scored on the validation faces), on every face and on the
study set of a comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tools.record_photos import machine, save

STEP = """
import json, resource, sys, time
from helpers import data
from helpers.config import get_preset
from helpers.learn import models, training

folder, preset_name, study = sys.argv[1], sys.argv[2], sys.argv[3] == "study"
preset = get_preset(preset_name)
faces = data.split_faces(data.scan_folder(folder, warn=False).manifest, seed=0,
                         max_faces=preset.study_faces if study else None)
spec = models.get_model_spec("scratch")  # the chosen network, trained as the chapters train it
start = time.perf_counter()
training.run_experiment("memory", training.build_model(spec, preset), faces, preset, epochs=1,
                        age_weight=spec.age_weight, gender_weight=spec.gender_weight)
print(json.dumps({"faces": int(len(faces)), "seconds": time.perf_counter() - start,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run_step(folder: Path, preset: str, which: str) -> dict:
    """One step in a fresh process: its figures and its peak resident memory in GB."""
    done = subprocess.run([sys.executable, "-c", STEP, str(folder), preset, which],
                          capture_output=True, text=True, env={**os.environ,
                                                               "COURSE_PRESET": preset})
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {**figures, "peak_memory_gb": round(figures["peak_kb"] / 1e6, 2)}  # kB on Linux


def main(argv: list[str] | None = None) -> None:
    """Measure the steps and save the record."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the UTKFace folder")
    parser.add_argument("--preset", default="gpu")
    args = parser.parse_args(argv)
    rows = []
    for which, variant in [("study", "a comparison: one epoch of the scratch network on the "
                                     "study set"),
                           ("all", "the chosen scratch network: one epoch on every face")]:
        figures = run_step(args.data, args.preset, which)
        rows.append({"variant": variant, "faces": figures["faces"],
                     "minutes": round(figures["seconds"] / 60, 1),
                     "peak_memory_gb": figures["peak_memory_gb"]})
        print(rows[-1], flush=True)
    save({"id": f"memory-{args.preset}-{time.strftime('%Y-%m-%d')}", "kind": "timing",
          "topic": "time", "split": None, "machine": machine(),
          "command": "python -m tools.record_memory " + " ".join(
              argv if argv is not None else sys.argv[1:]),
          "question": f"How much host memory does training take at the {args.preset} preset?",
          "chosen": f"the {args.preset} preset as it is",
          "setting": (f"{args.preset} preset on this machine's CPU (the host's share of the work: "
                      "decoding, the uint8 cache, the shuffle buffer, the batches); the real "
                      "UTKFace faces; each step in a fresh process, peak resident memory"),
          "rows": rows})


if __name__ == "__main__":
    main()
