"""Helpers for the course "Age and gender from faces, with CNNs".

`taught` holds the code the chapters teach (generated from their `#@save` cells); `config` the
presets; `book`, `runtime`, `plots`, `exercises` and `questions` what a chapter's cells call to
start and show. The rest follows the course: `data` (finding, checking, splitting and feeding the
faces), `learn` (models, training, `course train`), `scoring` (scores with intervals, by group,
against other models) and `photos` (faces in photos, alignment, TensorFlow Lite). The book's build
tooling lives apart, in the repository's `tools/`.
"""

__version__ = "0.1.0"
