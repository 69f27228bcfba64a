"""The off-the-shelf package, in the course's format, on photos and on crops."""

from __future__ import annotations

import numpy as np
from skimage import data as samples

from helpers.photos.faces import crop_face, demo_photos, detect_faces
from helpers.scoring.compare import (
    package_on_crop,
    package_on_photo,
    package_predict_faces,
    package_predictor,
)


def test_the_package_finds_the_astronaut_and_answers_like_predict_photo():
    predictor = package_predictor()
    (face,) = package_on_photo(predictor, samples.astronaut())
    x, y, w, h = face["box"]
    (ours,) = detect_faces(samples.astronaut())
    assert abs(x + w / 2 - (ours[0] + ours[2] / 2)) < 30  # the same face as OpenCV's
    assert face["gender"] in {"male", "female"} and 0 <= face["gender_probability"] <= 1
    assert 0 < face["age"] < 100
    assert package_on_photo(predictor, samples.coffee()) == []


def test_on_a_crop_without_a_detectable_face_the_whole_crop_is_the_face():
    predictor = package_predictor()
    photo = samples.astronaut()
    crop = crop_face(photo, detect_faces(photo)[0])
    assert package_on_crop(predictor, crop)["detected"]
    blank = package_on_crop(predictor, np.full((64, 64, 3), 128, np.uint8))
    assert blank["detected"] is False and 0 <= blank["p_female"] <= 1


def test_package_predictions_have_the_course_columns(synthetic_dir):
    from helpers.data import scan_folder

    faces = scan_folder(synthetic_dir).usable.head(5)
    out = package_predict_faces(faces)
    assert {"age_pred", "p_female", "gender_pred", "age_error", "detected"} <= set(out)
    assert len(out) == 5 and out["gender_pred"].isin([0, 1]).all()


def test_demo_photos_ship_with_the_packages():
    photos = demo_photos()
    assert {"astronaut", "grace_hopper", "two_people", "coffee"} <= set(photos)
    assert all(p.ndim == 3 and p.shape[-1] == 3 and p.dtype == np.uint8 for p in photos.values())
    assert len(detect_faces(photos["grace_hopper"])) >= 1
    assert detect_faces(photos["coffee"]) == []
