"""The measurements behind the course's choices are records (helpers/results/choices.json),
rendered by book/how-models-were-chosen.md: well formed, dated in ISO form, and on the book."""

from __future__ import annotations

import datetime
import fnmatch
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHOICES = ROOT / "src" / "helpers" / "results" / "choices.json"
PAGE = ROOT / "book" / "how-models-were-chosen.md"

REQUIRED = {"id", "kind", "topic", "question", "chosen", "split", "date", "machine", "command",
            "setting", "rows"}
KINDS = {"choice", "timing", "estimate"}  # an estimate says how, in its setting
TOPICS = {"data", "scratch", "mobilenetv2", "fgnet", "crops", "time"}


def _records() -> list[dict]:
    return json.loads(CHOICES.read_text())["records"]


def _is_figure(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def test_choices_parse_with_an_about_and_records():
    data = json.loads(CHOICES.read_text())
    assert isinstance(data["about"], str) and data["about"].strip()
    assert isinstance(data["records"], list) and data["records"]


def test_record_ids_are_unique_kebab_case():
    ids = [record["id"] for record in _records()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids), ids


@pytest.mark.parametrize("record", _records(), ids=lambda r: r.get("id", "?"))
def test_record_is_well_formed(record):
    assert REQUIRED <= set(record), REQUIRED - set(record)
    assert record["kind"] in KINDS
    assert record["topic"] in TOPICS
    for key in ("question", "chosen", "setting"):
        assert isinstance(record[key], str) and record[key].strip(), key
    if record["kind"] == "choice":  # a choice says which split it was made on
        assert isinstance(record["split"], str) and record["split"].strip()
    for key in ("split", "machine", "command"):
        assert record[key] is None or (isinstance(record[key], str) and record[key].strip())
    rows = record["rows"]
    assert isinstance(rows, list) and rows
    assert all(isinstance(row, dict) and isinstance(row.get("variant"), str) for row in rows)
    assert any(_is_figure(value) for row in rows for key, value in row.items()
               if key != "variant"), "no row has a numeric figure"


@pytest.mark.parametrize("record", _records(), ids=lambda r: r.get("id", "?"))
def test_record_date_is_null_or_iso(record):
    date = record["date"]
    if date is not None:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), date
        datetime.date.fromisoformat(date)


def test_the_page_reads_the_records_through_the_package():
    text = PAGE.read_text()
    assert "importlib.resources" in text
    assert re.search(r'files\("helpers"\)\s*/\s*"results"\s*/\s*"choices\.json"', text)


def test_the_page_is_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]).removesuffix(".md"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    assert "book/how-models-were-chosen" in files


def test_every_record_a_code_comment_names_exists():
    ids = {record["id"] for record in json.loads(CHOICES.read_text())["records"]}
    named = set()
    for path in (ROOT / "src").rglob("*.py"):
        comments = "\n".join(line for line in path.read_text().splitlines()
                             if line.strip().startswith("#"))
        if "choices.json" in comments:
            named |= set(re.findall(r"\b(?:scratch|mobilenetv2|fgnet|crops|time)-[a-z0-9*-]*"
                                    r"[a-z0-9*](?![\w.*-])", comments))
    assert named, "the code names its records"
    for name in named:
        assert fnmatch.filter(ids, name), f"{name} is named in a comment but is no record"


@pytest.mark.parametrize("name, record_id", [("BLAZE_CROP", "crops-blazeface-calibration"),
                                             ("BLAZE_FULL_CROP",
                                              "crops-blazeface-full-calibration")])
def test_blazeface_framing_in_the_code_is_the_recorded_one(name, record_id):
    from helpers.photos import faces

    crop = getattr(faces, name)
    (record,) = [r for r in _records() if r["id"] == record_id]
    (row,) = record["rows"]
    assert abs(crop["scale"] - row["crop_scale"]) < 0.005
    assert abs(crop["shift_down"] - row["crop_shift_down"]) < 0.005
    assert record["chosen"] == f"faces.{name} = {crop}"


def test_the_teacher_guide_quotes_the_chapter_timings_of_the_records():
    from tools import teacher_table

    records = _records()
    text = (ROOT / "book" / "teacher-guide.md").read_text()
    assert teacher_table.rewrite(text, teacher_table.timings(records)) == text, (
        "run python -m tools.teacher_table")
    # The rewrite replaces only the last cell of each chapter's row.
    row = "| 4. A chapter | learns | 3 h | anything |"
    assert teacher_table.rewrite(row, {4: "1 min"}) == "| 4. A chapter | learns | 3 h | 1 min |\n"
    assert teacher_table.UNTIMED in teacher_table.rewrite(row, {})


def test_the_gpu_preset_sizing_record_is_that_of_the_presets_as_they_are():
    """The estimate is recomputed from the presets and the cpu records: a change to the gpu
    preset without `python -m tools.estimate_presets` fails here."""
    from tools import estimate_presets

    record = next(r for r in _records() if r["id"] == "gpu-preset-sizing")
    assert record["kind"] == "estimate" and "not measured" in record["setting"]
    assert estimate_presets.estimates() == record["rows"]


def test_the_interval_ways_of_record_intervals_cover_what_they_were_fitted_on():
    import numpy as np
    import pandas as pd

    from tools import record_intervals as ri

    rng = np.random.default_rng(0)
    signed = rng.normal(3, 5, 999)  # errors that lean one way
    low, high = ri.tails(signed, 0.9, asymmetric=False)
    assert low == -high and 0.9 <= np.mean(np.abs(signed) <= high) < 0.92
    low, high = ri.tails(signed, 0.9, asymmetric=True)  # each tail misses 5%
    assert 0.04 <= np.mean(signed < low) <= 0.05 and 0.04 <= np.mean(signed > high) <= 0.05
    ages = rng.uniform(0, 90, 2000)
    faces = pd.DataFrame({"age": ages, "age_pred": ages + rng.normal(0, 1 + ages / 10)})
    for kind in ("band", "10"):
        row = ri.coverage_row(faces, ri.fit(faces, kind, False)(faces["age_pred"].to_numpy()))
        assert 0.89 <= row["coverage_all"] <= 0.93
