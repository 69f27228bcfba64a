"""Faces in photos: detection (largest first), UTKFace-like crops, upright phone photos."""

from __future__ import annotations

import numpy as np
from PIL import Image
from skimage import data as samples

from helpers.faces import crop_face, detect_faces, read_image


def test_detects_one_face_in_the_astronaut_photo_at_any_size():
    photo = samples.astronaut()
    (box,) = detect_faces(photo)
    big = np.kron(photo, np.ones((4, 4, 1), dtype=np.uint8))  # 2048 px: searched downscaled
    (big_box,) = detect_faces(big)
    assert np.allclose(np.array(big_box) / 4, box, atol=6)
    assert detect_faces(samples.coffee()) == []


def test_faces_come_largest_first():
    photo = samples.astronaut()
    small = np.asarray(Image.fromarray(photo).resize((256, 256)))
    canvas = np.full((600, 900, 3), 200, np.uint8)
    canvas[:256, :256] = small
    canvas[50:562, 380:892] = photo
    boxes = detect_faces(canvas)
    assert len(boxes) == 2 and boxes[0][2] > boxes[1][2]


def test_crop_is_square_with_margin_and_repeats_edges_outside_the_photo():
    image = np.arange(100 * 80 * 3, dtype=np.uint8).reshape(100, 80, 3)
    crop = crop_face(image, [0, 0, 20, 20], margin=0.5)
    assert crop.shape == (40, 40, 3)
    assert (crop[:10, :10] == image[0, 0]).all()  # the corner outside is the edge pixel


def test_read_image_turns_phone_photos_upright(tmp_path):
    img = Image.new("RGB", (60, 30), "white")
    exif = img.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees" as a phone writes it
    img.save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == (60, 30, 3)
