"""Deployment: save and reload a `.keras` model, convert it to TensorFlow Lite (float, or with
dynamic-range quantisation), and compare file size, latency per face and test scores."""

from __future__ import annotations

import inspect
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from helpers.taught import to_tflite  # chapter 9's code


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


# ------------------------------------------------------------------ the browser page's model file

PAGE_METADATA = "age_gender_course"  # the name of the metadata entry inside the .tflite file
PAGE_FORMAT = 1  # bumped when the page needs something new from the file


def page_metadata(model: keras.Model, config: dict, run: str | None = None) -> dict:
    """What the browser page needs beside the network, from the model and its run's config: the
    input, the heads, the mirror averaging and 90% interval `course train` chose, the age bands of
    the interval, and how faces are found and framed (the same constants as helpers.photos);
    `run`, the name of the run folder it came from, lets the page say how to ask Python."""
    from helpers.data.split import AGE_BAND_LABELS, AGE_BANDS
    from helpers.learn.calibration import prediction_options
    from helpers.photos import blazeface, faces
    from helpers.scoring.evaluation import input_shape

    size, channels = input_shape(model)
    detect = inspect.signature(faces.detect_faces).parameters  # the page finds faces alike
    blaze = inspect.signature(blazeface.BlazeFace).parameters
    options = prediction_options(config)
    q = options["interval_q"]
    interval = config.get("age_interval") or {}
    preset = (config.get("preset") or {}).get("name", "?")
    kind = "real UTKFace faces" if config.get("data_source") == "utkface" else \
        "synthetic stand-in faces"
    return {
        "format": PAGE_FORMAT,
        "run": run,
        "model": config.get("model", model.name),
        "description": config.get("description", ""),
        "trained_on": f"{config.get('n_train', 0):,} {kind} (preset {preset}, "
                      f"seed {config.get('seed', 0)})",
        "data_source": config.get("data_source", ""),
        "input": {"size": size, "channels": channels, "resize": "area"},
        "mirror": options["mirror"],
        "interval": None if q is None else {
            "coverage": interval.get("coverage", 0.9), "spread": interval.get("spread", "1 year"),
            "q": q if isinstance(q, dict) else {"all": q}},
        "age_bands": {"starts": [lo for lo, _ in AGE_BANDS], "labels": AGE_BAND_LABELS},
        "genders": ["male", "female"],
        "detector": {"threshold": blaze["threshold"].default,
                     "overlap": blaze["overlap"].default, "max_side": detect["max_side"].default,
                     "min_face": detect["min_face"].default, "min_pixels": faces.MIN_FACE_PIXELS,
                     "box_to_haar": faces.BLAZE_CROP, "full_range_to_haar": faces.BLAZE_FULL_CROP,
                     "haar_crop": faces.UTKFACE_CROP, "nearly_as_large": faces.NEARLY_AS_LARGE},
    }


def with_metadata(tflite: bytes, metadata: dict) -> bytes:
    """A TensorFlow Lite file's bytes with `metadata` stored inside it as JSON (the flatbuffer's
    own metadata table, which runtimes ignore), so that one file carries everything."""
    import json

    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    flat = flatbuffer_utils.read_model_from_bytearray(bytearray(tflite))
    buffer = schema.BufferT()
    buffer.data = list(json.dumps(metadata, sort_keys=True).encode())
    flat.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = PAGE_METADATA, len(flat.buffers) - 1
    flat.metadata = [m for m in (flat.metadata or []) if m.name != PAGE_METADATA.encode()]
    flat.metadata.append(entry)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(flat))


def read_page_metadata(path: str | Path) -> dict:
    """The page metadata inside a .tflite file written by export_for_page; a clear ValueError
    for a file without it."""
    import json

    from tensorflow.lite.tools import flatbuffer_utils

    flat = flatbuffer_utils.read_model_from_bytearray(bytearray(Path(path).read_bytes()))
    for entry in flat.metadata or []:
        if entry.name == PAGE_METADATA.encode():
            return json.loads(bytes(flat.buffers[entry.buffer].data))
    raise ValueError(f"{path} has no course metadata: export it with deploy.export_for_page")


def operator_names(path: str | Path) -> list[str]:
    """The operators a .tflite file uses (a custom or TensorFlow operator shows as CUSTOM:name)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    flat = flatbuffer_utils.read_model_from_bytearray(bytearray(Path(path).read_bytes()))
    found = []
    for code in flat.operatorCodes:
        op = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = names.get(op, str(op))
        found.append(f"CUSTOM:{code.customCode.decode()}" if code.customCode else name)
    return sorted(set(found))


def export_for_page(model: keras.Model, config: dict, path: str | Path,
                    run: str | None = None) -> Path:
    """The model as one .tflite file for the book's browser page: one face at a time, only
    TensorFlow Lite's built-in operators (to_tflite_one_face), and page_metadata inside."""
    from helpers.taught import to_tflite_one_face

    path = Path(path)
    to_tflite_one_face(model, path)
    path.write_bytes(with_metadata(path.read_bytes(), page_metadata(model, config, run)))
    return path


def offer_download(path: str | Path) -> None:
    """In Colab, download the file to your computer; elsewhere, say where it is."""
    from helpers.data import in_colab, on_kaggle

    path = Path(path)
    if in_colab():  # pragma: no cover - needs Colab
        from google.colab import files

        files.download(str(path))
    elif on_kaggle():  # pragma: no cover - needs Kaggle
        print(f"{path.name} is in the notebook's output (Output tab, or /kaggle/working)")
    else:
        where = path.parent if path.is_absolute() else "the folder of this notebook"
        print(f"{path.name} is in {where}")
