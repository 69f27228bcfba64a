"""Size the gpu preset from the cpu preset's measured times, and write the estimate as a record.

    python -m tools.estimate_presets

No GPU was at hand when the course was sized, so the gpu preset's times are estimates: the work of
each kind of run at the gpu preset over its work at the cpu preset (faces x epochs x pixels; a
convolution's cost grows with the pixels, and the networks' global average pooling keeps the rest
fixed), times the cpu preset's measured minutes, divided by how many times a Colab T4 outruns two
CPU cores. That last factor is an assumption, stated as a range, until a T4 measures it.
"""

from __future__ import annotations

from helpers.config import get_preset
from helpers.scoring.evaluation import recorded_file
from tools.record_photos import records, save

# How many times a Colab T4 runs these small CNNs faster than 2 CPU cores: its peak fp32 rate
# (8.1 TFLOPS) is about 25 times two AVX-512 cores' (about 0.3), and small networks reach less of a
# GPU's peak than of a CPU's; an assumption, not a measurement.
T4_SPEEDUP = (10.0, 25.0)


def record_rows(record_id: str) -> dict[str, dict]:
    """The rows of a record of choices.json, by variant."""
    record = next(r for r in records() if r["id"] == record_id)
    return {row["variant"]: row for row in record["rows"]}


def work(faces: int, epochs: int, side: int, networks: int = 1) -> float:
    """Faces x epochs x pixels x networks: what a convolutional run costs, up to a constant."""
    return faces * epochs * side * side * networks


def estimates() -> list[dict]:
    """Each kind of run: its work at gpu over cpu, its cpu minutes, its estimated T4 minutes."""
    cpu, gpu = get_preset("cpu"), get_preset("gpu")
    training_faces = recorded_file("scratch-cpu.json")["summary"]["train_faces"]  # every one
    timed = record_rows("time-chapters-2026-12-02")
    per_comparison = timed["chapter 5: the ladder"]["minutes"] / 9  # it trained nine networks
    recorded = record_rows("time-scratch-recorded")["the recorded run, alone"]
    scratch_cpu = recorded["minutes"] + recorded["seconds"] / 60  # two networks side by side
    kinds = [
        ("one comparison of chapters 4 and 5 (study faces, study epochs)",
         work(cpu.study_faces, cpu.study_epochs, cpu.image_size),
         work(gpu.study_faces or training_faces, gpu.study_epochs, gpu.image_size),
         per_comparison),
        ("the chosen scratch model (every training face)",
         work(training_faces, cpu.scratch_epochs, cpu.image_size, cpu.scratch_members),
         work(training_faces, gpu.scratch_epochs or gpu.epochs, gpu.image_size,
              gpu.scratch_members), scratch_cpu),
    ]
    rows = []
    for variant, cpu_work, gpu_work, minutes in kinds:
        ratio = gpu_work / cpu_work
        rows.append({"variant": variant, "work_gpu_over_cpu": round(ratio, 2),
                     "cpu_minutes": round(minutes, 2),
                     "t4_minutes_low": round(minutes * ratio / T4_SPEEDUP[1], 1),
                     "t4_minutes_high": round(minutes * ratio / T4_SPEEDUP[0], 1)})
    return rows


def main() -> None:
    """Print the estimates and save them as the record gpu-preset-sizing."""
    rows = estimates()
    for row in rows:
        print(row)
    gpu = get_preset("gpu")
    save({"id": "gpu-preset-sizing", "kind": "estimate", "topic": "time",
          "command": "python -m tools.estimate_presets",
          "machine": "none: an estimate from the cpu preset's records",
          "question": "How large can the gpu preset's comparisons be for a chapter to end in one "
                      "sitting on a Colab T4?",
          "chosen": f"gpu preset: {gpu.study_faces:,} study faces, {gpu.study_epochs} study "
                    f"epochs, {gpu.image_size}x{gpu.image_size} pixels",
          "split": None,
          "setting": ("T4 minutes = cpu minutes (records time-chapters-2026-12-02 and "
                      "time-scratch-recorded) x work at gpu / work at cpu (faces x epochs x "
                      "pixels x networks) / an assumed T4 speed-up over 2 CPU cores of "
                      f"{T4_SPEEDUP[0]:g} to {T4_SPEEDUP[1]:g}; not measured on a GPU"),
          "rows": rows})


if __name__ == "__main__":
    main()
