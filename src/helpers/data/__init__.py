"""The data, one concern a module: `find` (where UTKFace is, or the stand-in), `manifest` (its
names parsed, its images checked, its defects counted), `split` (age bands, the seeded split) and
`tables` (chapter 3's summaries). Everything is importable from `helpers.data` as well."""

from __future__ import annotations

from helpers.data.find import (
    KAGGLE_CANDIDATES,
    KAGGLE_DATASET,
    UTKFACE_ENV,
    _network_reachable,
    download_utkface,
    find_utkface,
    in_colab,
    load_faces,
    on_kaggle,
)
from helpers.data.manifest import (
    EXPECTED_SIZE,
    GENDERS,
    MAX_AGE,
    NAME_PATTERN,
    RACES,
    DataError,
    DataNotFoundError,
    DataReport,
    ParsedName,
    inspect_image,
    parse_name,
    scan_folder,
)
from helpers.data.split import (
    AGE_BAND_LABELS,
    AGE_BANDS,
    age_band,
    class_balance,
    seed_everything,
    split_faces,
)
from helpers.data.tables import (
    DEFECT_ACTIONS,
    compare_shares,
    defect_counts,
    defect_table,
    keras_validation_rows,
    label_counts,
    label_summary,
    label_table,
    with_label_names,
)

__all__ = [
    "AGE_BANDS", "AGE_BAND_LABELS", "DEFECT_ACTIONS", "EXPECTED_SIZE", "GENDERS",
    "KAGGLE_CANDIDATES", "KAGGLE_DATASET", "MAX_AGE", "NAME_PATTERN", "RACES", "UTKFACE_ENV",
    "DataError", "DataNotFoundError", "DataReport", "ParsedName", "_network_reachable",
    "age_band", "class_balance", "compare_shares", "defect_counts", "defect_table",
    "download_utkface", "find_utkface", "in_colab", "inspect_image", "keras_validation_rows",
    "label_counts", "label_summary", "label_table", "load_faces", "on_kaggle", "parse_name",
    "scan_folder", "seed_everything", "split_faces", "with_label_names",
]
