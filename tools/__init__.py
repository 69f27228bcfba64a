"""The course's build tooling, apart from the package students install: the plain Colab/Kaggle
editions (`myst`, `edition`), the generated `helpers.taught` (`codegen`), the FG-NET record
(`record_fgnet`), chapter 9's records (`record_photos`) and the loader benchmark (`bench`).
Run from the repository's root, e.g. `python -m tools.edition check`; `tasks.py` and the tests
use them."""
