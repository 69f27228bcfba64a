"""Deployment: a reloaded .keras model and its TensorFlow Lite versions answer alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.learn.models import scratch_cnn
from helpers.photos.deploy import TFLiteModel, deployment_table, save_and_reload, to_tflite
from helpers.scoring.evaluation import predict_faces


def test_reloaded_and_tflite_models_predict_like_the_original(tmp_path):
    model = scratch_cnn(32, 3)
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    expected = model(x, training=False)
    reloaded = save_and_reload(model, tmp_path / "m.keras")
    lite = TFLiteModel(to_tflite(model, tmp_path / "m.tflite"))
    small = TFLiteModel(to_tflite(model, tmp_path / "m8.tflite", quantize=True))
    for head in ("age", "gender"):
        want = expected[head].numpy()
        assert np.allclose(reloaded(x, training=False)[head].numpy(), want, atol=1e-5)
        assert np.allclose(lite(x)[head].numpy(), want, atol=1e-3)
        assert np.allclose(small(x)[head].numpy(), want, atol=0.5 if head == "age" else 0.05)
    assert (tmp_path / "m8.tflite").stat().st_size < (tmp_path / "m.tflite").stat().st_size / 2


def test_deployment_table_measures_every_version_on_the_faces(synthetic_dir, tmp_path):
    from helpers.data import scan_folder

    faces = scan_folder(synthetic_dir).usable.head(12)
    model = scratch_cnn(32, 3)
    table = deployment_table(model, faces, tmp_path, repeats=3)
    assert list(table.index) == ["Keras (.keras)", "TFLite float32", "TFLite 8-bit weights"]
    assert (table["file_mb"] > 0).all() and (table["ms_per_face"] > 0).all()
    keras_scores = predict_faces(model, faces)
    assert np.isclose(table.loc["TFLite float32", "age_mae"],
                      keras_scores["age_error"].abs().mean(), atol=1e-2)
    assert isinstance(table, pd.DataFrame)
