"""Write the machine-time column of the teacher guide's chapter table from the timing records.

    python -m tools.teacher_table          # rewrite book/teacher-guide.md
    python -m tools.teacher_table --check  # exit 1 when the page is not what the records say

The column holds, for each chapter, the latest record of it run top to bottom at the `cpu`
preset on the real faces (records `time-chapters-cpu-*`, written by tools.record_chapters): its
minutes and its kernel's peak memory, and the record's id. A chapter no record has timed says so.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHOICES = ROOT / "src" / "helpers" / "results" / "choices.json"
GUIDE = ROOT / "book" / "teacher-guide.md"
ROW = re.compile(r"^\| (\d+)\. (.*) \| ([^|]*) \|$")
UNTIMED = "not timed top to bottom yet"


def timings(records: list[dict]) -> dict[int, str]:
    """Each timed chapter's cell: minutes, peak memory and the record (the latest one wins)."""
    cells: dict[int, tuple[str, str]] = {}
    for record in records:
        if not record["id"].startswith("time-chapters-cpu-"):
            continue
        for row in record["rows"]:
            found = re.fullmatch(r"chapter (\d+)", row["variant"])
            if found and (int(found[1]) not in cells
                          or record["date"] >= cells[int(found[1])][0]):
                cells[int(found[1])] = (record["date"], (
                    f"{row['minutes']:g} min, {row['peak_memory_gb']:g} GB "
                    f"(`{record['id']}`)"))
    return {chapter: cell for chapter, (_, cell) in cells.items()}


def rewrite(text: str, cells: dict[int, str]) -> str:
    """The page with each chapter row's last cell replaced by its timing."""
    lines = []
    for line in text.splitlines():
        row = ROW.match(line)
        if row:
            line = f"| {row[1]}. {row[2]} | {cells.get(int(row[1]), UNTIMED)} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Rewrite the guide, or check it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = GUIDE.read_text()
    wanted = rewrite(text, timings(json.loads(CHOICES.read_text())["records"]))
    if args.check:
        if wanted != text:
            print(f"{GUIDE} is out of date: run python -m tools.teacher_table", file=sys.stderr)
            return 1
        return 0
    GUIDE.write_text(wanted)
    print(f"wrote {GUIDE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
