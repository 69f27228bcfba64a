"""Faces in photos: detection (largest first), UTKFace-like crops, upright phone photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data as samples

from helpers.photos import faces
from helpers.photos.faces import crop_calibration, crop_face, detect_faces, read_image


def test_detects_one_face_in_the_astronaut_photo_at_any_size():
    photo = samples.astronaut()
    (box,) = detect_faces(photo)
    big = np.kron(photo, np.ones((4, 4, 1), dtype=np.uint8))  # 2048 px: searched downscaled
    (big_box,) = detect_faces(big)
    assert np.allclose(np.array(big_box) / 4, box, atol=6)
    assert detect_faces(samples.coffee()) == []


def test_faces_come_largest_first():
    photo = samples.astronaut()
    small = np.asarray(Image.fromarray(photo).resize((300, 300)))  # a face 6% of the width
    canvas = np.full((600, 900, 3), 200, np.uint8)
    canvas[:300, :300] = small
    canvas[50:562, 380:892] = photo
    boxes = detect_faces(canvas)
    assert len(boxes) == 2 and boxes[0][2] > boxes[1][2]


def test_crop_is_square_framed_like_utkface_and_repeats_edges_outside_the_photo():
    image = np.arange(100 * 80 * 3, dtype=np.uint8).reshape(100, 80, 3)
    crop = crop_face(image, [0, 0, 20, 20], scale=2.0, shift_down=0.0)
    assert crop.shape == (40, 40, 3)
    assert (crop[:10, :10] == image[0, 0]).all()  # the corner outside is the edge pixel
    lower = crop_face(image, [30, 30, 20, 20], scale=1.0, shift_down=0.5)
    assert (lower == image[40:60, 30:50]).all()  # moved down by half the box


@pytest.mark.parametrize("detector", ["haar", "blazeface"])
def test_a_crop_cut_the_default_way_calibrates_back_to_the_default(detector):
    photo = samples.astronaut()
    crop = crop_face(photo, detect_faces(photo, detector=detector)[0])
    found = crop_calibration([crop], detector=detector)
    assert found["found"] == 1.0
    assert abs(found["scale"] - faces.CROPS[detector]["scale"]) < 0.15
    assert abs(found["shift_down"] - faces.CROPS[detector]["shift_down"]) < 0.1


def test_boxes_found_on_the_mirrored_photo_are_mapped_back(monkeypatch):
    photo = samples.astronaut()
    (plain,) = detect_faces(photo, detector="haar")
    monkeypatch.setattr(faces, "CASCADES", (("haarcascade_frontalface_default.xml", 5, True),))
    (mirrored,) = detect_faces(photo, detector="haar")
    assert np.allclose(mirrored, plain, atol=8)


def test_read_image_turns_phone_photos_upright(tmp_path):
    img = Image.new("RGB", (60, 30), "white")
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees" as a phone writes it
    img.save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == (60, 30, 3)


def test_dlib_hog_takes_over_when_no_cascade_finds_a_face(monkeypatch):
    photo = samples.astronaut()
    (haar,) = detect_faces(photo, detector="haar")
    monkeypatch.setattr(faces, "CASCADES", ())  # as if no cascade found anything
    assert detect_faces(photo, fallback=False, detector="haar") == []
    hog = detect_faces(photo, detector="haar")[0]  # the largest face
    # moved and resized to where the cascade puts its box, so crops are framed alike
    assert np.allclose(hog, haar, atol=0.2 * haar[2])
