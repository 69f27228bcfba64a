"""Write the machine-time column of the teacher guide's chapter table from the timing records.

    python -m tools.teacher_table          # rewrite book/teacher-guide.md
    python -m tools.teacher_table --check  # exit 1 when the page is not what the records say

The column holds, for each chapter, the latest record of it run top to bottom at the `cpu`
preset on the real faces (records `time-chapters-cpu-*`, written by tools.record_chapters): its
minutes and its kernel's peak memory, and the record's id. A chapter no record has timed says so.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tools.record_photos import records

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "book" / "teacher-guide.md"
ROW = re.compile(r"^\| (\d+)\. (.*) \| ([^|]*) \|$")
UNTIMED = "not timed top to bottom yet"


def timings(all_records: list[dict]) -> dict[int, str]:
    """Each timed chapter's cell: minutes, peak memory and the record (the latest one wins)."""
    timed = sorted((r for r in all_records if r["id"].startswith("time-chapters-cpu-")),
                   key=lambda r: r["date"])
    cells = {}
    for record in timed:
        for row in record["rows"]:
            if found := re.fullmatch(r"chapter (\d+)", row["variant"]):
                cells[int(found[1])] = (f"{row['minutes']:g} min, {row['peak_memory_gb']:g} GB "
                                        f"(`{record['id']}`)")
    return cells


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
    wanted = rewrite(text, timings(records()))
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
