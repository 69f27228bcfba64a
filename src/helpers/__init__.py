"""Helpers for the course "Age and gender from faces, with CNNs".

Small modules, one concern each: `config` (presets), `data` (finding, parsing, splitting UTKFace),
`synthetic` (the offline stand-in dataset), `pipeline` (tf.data input), `plots`, `exercises`
(auto-checked questions) and `book` (what a chapter's first cell needs).
"""

__version__ = "0.1.0"
