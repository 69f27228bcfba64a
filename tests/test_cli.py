"""The `course` command line (data check and bench)."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers.cli import main


def test_data_check_json_keys(synthetic_dir, capsys):
    assert main(["data", "check", str(synthetic_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["n_files"] == 88 and report["n_usable"] == 85
    assert len(report["defects"]) == 8
    assert all({"file", "problem"} <= set(d) for d in report["defects"])


def test_data_check_text_lists_every_defect(synthetic_dir, capsys):
    assert main(["data", "check", str(synthetic_dir)]) == 0
    out = capsys.readouterr().out
    assert "88 files, 85 usable" in out
    assert "'24_0_1_20170116220224657 .jpg.chip.jpg'" in out and "README.txt" in out


def test_clear_error_for_a_missing_folder(tmp_path, capsys):
    assert main(["data", "check", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_console_script_and_bench_run(synthetic_dir):
    result = subprocess.run([sys.executable, "-m", "helpers.cli", "bench", "--data",
                             str(synthetic_dir), "--n", "40", "--size", "32"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("pipeline_speedup=") and "memory_ratio=" in last
