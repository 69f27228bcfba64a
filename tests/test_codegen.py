"""One source: the code a chapter teaches is the code the library, the command line and the tests
run. `helpers.taught` and the exercises' solutions are generated from the notebooks; these tests
fail when the generated files drift from the chapters, or when the library stops using them."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from helpers import taught
from helpers.exercises import Question, solutions
from helpers.learn import models, study, training, transfer
from helpers.photos import deploy
from tests.conftest import ROOT
from tools import codegen


def test_generated_files_match_the_notebooks():
    stale = codegen.stale()
    assert not stale, f"{[p.name for p in stale]} differ from the notebooks: python3 tasks.py save"


def _code(path):
    nb = json.loads(path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


def test_a_change_to_a_saved_cell_makes_the_check_fail(tmp_path):
    folder = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", folder)
    path = folder / "04_scratch_cnn.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "".join(c["source"]).startswith("#@save\nimport keras"))
    cell["source"] = [line.replace("Dropout(0.3", "Dropout(0.5") for line in cell["source"]]
    path.write_text(json.dumps(nb))
    changed = codegen.generate_taught(folder)
    assert changed != codegen.generate_taught() and "Dropout(0.5" in changed
    assert "Dropout(0.5" not in (ROOT / "src" / "helpers" / "taught.py").read_text()


def test_only_marked_cells_are_saved_and_imports_are_gathered_once():
    text = codegen.generate_taught()
    assert text.count("\nimport keras\n") == 1 and "from helpers.taught" not in text
    assert "\n#@save" not in text and "chapter = start_chapter()" not in text
    names = [name for name, _ in codegen.saved_cells()]
    assert names == sorted(names), "chapters in order"


def test_the_library_runs_the_chapters_code():
    assert models.get_model_spec("seed-cnn").build is taught.seed_cnn
    assert models.get_model_spec("scratch").build is taught.scratch_cnn
    assert models.compile_model is taught.compile_model
    assert training.make_callbacks is taught.make_callbacks
    assert transfer.transfer_model is taught.transfer_model
    assert transfer.prepare_phase is taught.prepare_phase
    assert study.head_model is taught.head_model
    assert deploy.to_tflite is taught.to_tflite


# What each chapter's code cells must show (a course on CNNs puts the CNN in front of students).
TAUGHT_IN = {
    "04_scratch_cnn": ["Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "keras.Input",
                       ".compile(", ".fit(", "EarlyStopping", "ReduceLROnPlateau"],
    "05_making_it_better": ["BatchNormalization", "GlobalAveragePooling2D", "RandomFlip",
                            "RandomRotation", "EarlyStopping", "ModelCheckpoint",
                            "BackupAndRestore", "keras.optimizers.SGD", "CosineDecay"],
    "06_transfer_learning": ["keras.applications", "include_top=False", "trainable = False",
                             "BinaryFocalCrossentropy", "preprocess_input", "prepare_phase(",
                             "precision_recall_curve"],
    "07_how_much_data": ["softmax", "sparse_categorical_crossentropy"],
    "08_where_it_fails": ["GradientTape", "tape.gradient"],
    "09_your_own_photos": ["TFLiteConverter", "Optimize.DEFAULT"],
}


@pytest.mark.parametrize("chapter", sorted(TAUGHT_IN))
def test_each_chapter_shows_the_code_it_teaches(chapter):
    code = _code(ROOT / "notebooks" / f"{chapter}.ipynb")
    missing = [word for word in TAUGHT_IN[chapter] if word not in code]
    assert not missing, f"{chapter} no longer shows {missing}"


def test_each_question_prints_its_notebooks_solution_cells():
    labels = solutions()
    checked = 0
    for path in sorted((ROOT / "src" / "helpers" / "questions").glob("ch*.py")):
        module = __import__(f"helpers.questions.{path.stem}", fromlist=["_"])
        for name, q in vars(module).items():
            if isinstance(q, Question):
                assert q.label in labels, f"{path.stem}.{name}: no solution cells for {q.label}"
                assert q.solution_text == labels[q.label]
                code = _code(ROOT / "notebooks" / next(
                    p.name for p in (ROOT / "notebooks").glob(f"{path.stem[2:]}_*.ipynb")))
                assert q.solution_text.splitlines()[0] in code
                checked += 1
    assert checked >= 20


def test_no_hint_gives_away_its_solution_code():
    """The package every student installs holds the hints: none may quote a line of code from its
    question's solution (the solutions themselves stay in teacher/solutions.json)."""
    labels = solutions()
    squash = re.compile(r"[\s'\"]+")
    for path in sorted((ROOT / "src" / "helpers" / "questions").glob("ch*.py")):
        module = __import__(f"helpers.questions.{path.stem}", fromlist=["_"])
        for name, q in vars(module).items():
            if not isinstance(q, Question):
                continue
            hint = squash.sub("", q.hint_text)
            for line in labels[q.label].splitlines():
                code = squash.sub("", line.split("#")[0])
                if len(code) >= 20 and ".check(" not in code and "glue(" not in code:
                    assert code not in hint, f"{path.stem}.{name}'s hint quotes {line.strip()!r}"
