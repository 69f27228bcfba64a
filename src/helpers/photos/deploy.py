"""Deployment: save and reload a `.keras` model, convert it to TensorFlow Lite (float, or with
dynamic-range quantisation), and compare file size, latency per face and test scores."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from helpers.taught import to_tflite  # chapter 8's code


def save_and_reload(model: keras.Model, path: str | Path) -> keras.Model:
    """Save a model as one `.keras` file and load it back (what a deployment starts from)."""
    path = Path(path)
    model.save(path)
    return keras.models.load_model(path)


def _interpreter(path: Path):
    """LiteRT's interpreter (ai-edge-litert), or TensorFlow's older one where it is missing."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - the course installs ai-edge-litert
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Interpreter = tf.lite.Interpreter  # noqa: N806
    return Interpreter(model_path=str(path))


class TFLiteModel:
    """A TensorFlow Lite file that answers like the Keras model: model(images) ->
    {"age", "gender"}, so evaluation.predict_faces and faces.predict_crops take it as is."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.interpreter = _interpreter(self.path)
        self.runner = self.interpreter.get_signature_runner()
        detail = self.runner.get_input_details()
        self.input_name, spec = next(iter(detail.items()))
        self.inputs = [tf.TensorSpec([None, *spec["shape"][1:]], tf.float32)]

    def __call__(self, images, training: bool = False) -> dict[str, tf.Tensor]:
        """Predict one image at a time (the file's input holds one face)."""
        images = np.asarray(images, np.float32)
        outs = [self.runner(**{self.input_name: image[None]}) for image in images]
        return {key: tf.convert_to_tensor(np.concatenate([o[key] for o in outs]))
                for key in ("age", "gender")}


def latency_ms(model: keras.Model | TFLiteModel | tf.types.experimental.GenericFunction,
               image: np.ndarray, repeats: int = 30) -> float:
    """Median milliseconds for `model` (a Keras model, a tf.function or a TFLiteModel) to
    predict one face, after one warm-up call."""
    batch = np.asarray(image, np.float32)[None]
    model(batch, training=False)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(batch, training=False)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def deployment_table(model: keras.Model, faces: pd.DataFrame, folder: str | Path,
                     repeats: int = 30) -> pd.DataFrame:
    """The saved `.keras` model and its TensorFlow Lite versions side by side, measured in one
    run on this machine: file size, median latency for one face, and scores on `faces`."""
    from helpers.scoring.evaluation import input_shape, predict_faces, score

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    keras_path = folder / "model.keras"
    reloaded = save_and_reload(model, keras_path)
    served = tf.function(lambda x, training=False: reloaded(x, training=False))  # as served
    served.inputs = reloaded.inputs
    versions = {"Keras (.keras)": (served, keras_path)}
    for name, quantize in (("TFLite float32", False), ("TFLite 8-bit weights", True)):
        path = to_tflite(model, folder / f"model{'_int8' if quantize else ''}.tflite", quantize)
        versions[name] = (TFLiteModel(path), path)
    size, channels = input_shape(model)
    probe = np.random.default_rng(0).uniform(0, 255, (size, size, channels))
    rows = []
    for name, (version, path) in versions.items():
        scores = score(predict_faces(version, faces))
        rows.append({"version": name, "file_mb": path.stat().st_size / 1e6,
                     "ms_per_face": latency_ms(version, probe, repeats),
                     "gender_accuracy": scores["gender_accuracy"], "age_mae": scores["age_mae"]})
    return pd.DataFrame(rows).set_index("version")
