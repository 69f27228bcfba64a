"""Faces in real photos: MediaPipe's BlazeFace decoded by the course, the photo's subject first,
labelled photos read and scored with intervals (chapter 9)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import data as samples

from helpers.data.photos import PHOTO_AGE_BANDS, band_of, find_photos, read_photos
from helpers.photos import blazeface, faces, realphotos
from tests.conftest import SHARED_PHOTOS


def test_anchors_match_the_networks_outputs():
    assert len(blazeface.anchors(128, (8, 16, 16, 16))) == 896  # 16x16x2 + 8x8x6
    assert len(blazeface.anchors(192, (4,))) == 2304  # 48x48x1
    centres = blazeface.anchors(128, (8, 16, 16, 16))
    assert np.allclose(centres[0], [1 / 32, 1 / 32]) and np.allclose(centres[1], centres[0])
    assert np.allclose(centres[512], [1 / 16, 1 / 16])  # the 8x8 grid's first cell


def test_overlapping_boxes_merge_weighted_by_their_scores():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 10, 10], [50, 50, 10, 10]], float)
    points = np.zeros((3, 6, 2))
    merged = blazeface.merge(boxes, points, np.array([0.9, 0.3, 0.8]))
    assert len(merged) == 2
    (box, _, score), (far, _, _) = merged
    assert score == 0.9 and np.isclose(box[0], (0 * 0.9 + 2 * 0.3) / 1.2)
    assert np.allclose(far, boxes[2])


def test_blazeface_finds_the_astronaut_with_her_eyes_in_order():
    face = blazeface.detector("short")(samples.astronaut())
    assert len(face) == 1 and face[0].score > 0.8
    x, y, w, h = face[0].box
    right, left = face[0].eyes  # her right eye is on the left of the photo
    assert x < right[0] < left[0] < x + w and y < right[1] < y + h / 2
    assert blazeface.detector("short")(samples.coffee()) == []


def test_detect_faces_uses_blazeface_and_frames_its_box_like_the_cascades():
    photo = samples.astronaut()
    (box,) = faces.detect_faces(photo)
    assert faces.last_detector == "blazeface"
    (haar,) = faces.detect_faces(photo, detector="haar")
    assert np.allclose(box, haar, atol=0.15 * haar[2])  # the same face, framed alike
    with pytest.raises(ValueError, match="choose auto or one of"):
        faces.detect_faces(photo, detector="yunet")


def test_the_subject_comes_first():
    shape = (400, 600, 3)
    centre, corner = [270, 170, 60, 60], [0, 0, 64, 64]  # nearly as large, nearer the centre
    assert faces.subject_first([corner, centre], shape) == [centre, corner]
    tiny = [280, 180, 30, 30]  # nearer the centre but much smaller: the largest stays first
    assert faces.subject_first([tiny, corner], shape) == [corner, tiny]
    assert faces.subject_first([], shape) == []


def test_labelled_photos_are_read_and_what_is_left_out_is_counted(tmp_path):
    Image.new("RGB", (40, 40)).save(tmp_path / "a.jpg")
    Image.new("RGB", (40, 40)).save(tmp_path / "b.jpg")
    (tmp_path / "labels.csv").write_text("file,gender,age_band\na.jpg,female,20-29\n"
                                         "b.jpg,other,20-29\nc.jpg,male,3-9\n")
    with pytest.warns(UserWarning, match="1 photo.* not found and 1 with an unknown"):
        photos = read_photos(tmp_path)
    assert list(photos["file"]) == ["a.jpg"] and photos["age_band"].cat.ordered
    assert find_photos(tmp_path) == tmp_path
    with pytest.raises(FileNotFoundError, match="no labels.csv"):
        find_photos(tmp_path / "nowhere")
    assert list(band_of([-1.5, 0, 2, 3, 65, 70, 95, 140]).astype(str)) == [
        "0-2", "0-2", "0-2", "3-9", "60-69", "70+", "70+", "70+"]


def test_a_photo_without_a_face_counts_as_wrong_and_shares_have_intervals(tmp_path):
    photos = pd.DataFrame({"file": ["x.jpg"], "path": ["x"], "gender": ["female"],
                           "age_band": pd.Categorical(["30-39"], PHOTO_AGE_BANDS)})
    row = realphotos._row(photos.iloc[0], None, 0, 0.01)
    assert not row["found"] and not row["gender_right"] and not row["band_one_off"]
    one_off = realphotos._row(photos.iloc[0], {"gender": "female", "age": 44.0}, 1, 0.01)
    assert one_off["gender_right"] and not one_off["band_exact"] and one_off["band_one_off"]
    rows = pd.DataFrame({"file": list("abcd"), "found": [True] * 4,
                         "gender_right": [True, True, True, False],
                         "band_exact": [True, False, False, False],
                         "band_one_off": [True, True, False, False]})
    table = realphotos.photo_scores(rows, n_boot=200)
    assert table.loc["gender right", "share"] == 0.75
    assert table.loc["gender right", "low"] <= 0.75 <= table.loc["gender right", "high"]
    other = rows.assign(gender_right=[True, False, True, False])
    gap = realphotos.paired_gap(rows, other, n_boot=200)
    assert gap["difference"] == 0.25 and gap["low"] <= 0.25 <= gap["high"]
    with pytest.raises(ValueError, match="same photos"):
        realphotos.paired_gap(rows, other.head(3))


def test_course_predict_detect_says_which_detector(trained_scratch, tmp_path, capsys):
    from helpers.cli import main

    Image.fromarray(samples.astronaut()).save(tmp_path / "astronaut.jpg")
    assert main(["predict", str(tmp_path / "astronaut.jpg"), "--model", str(trained_scratch),
                 "--detect", "--json"]) == 0
    (line,) = capsys.readouterr().out.strip().splitlines()
    result = json.loads(line)
    assert result["detector"] == "blazeface" and len(result["faces"]) == 1
    assert result["faces"][0]["crop"] in ("box", "eyes")
    assert main(["predict", str(tmp_path / "astronaut.jpg"), "--model", str(trained_scratch),
                 "--detect", "--json", "--detector", "haar"]) == 0
    assert json.loads(capsys.readouterr().out)["detector"].startswith("haar")


@pytest.mark.skipif(not (SHARED_PHOTOS / "labels.csv").is_file(),
                    reason="the FairFace development photos (../shared/data/fairface) are absent")
def test_blazeface_finds_the_labelled_face_of_real_photos():
    from helpers.data.photos import balanced_sample

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every photo of the sample is there and labelled
        photos = balanced_sample(read_photos(SHARED_PHOTOS), per_group=2)
    assert len(photos) == 36 and list(photos.columns) == ["file", "path", "gender", "age_band"]
    assert (photos.groupby(["age_band", "gender"], observed=True).size() == 2).all()
    table = realphotos.detector_table(photos, ("blazeface",))
    assert table.loc["blazeface", "labelled_found"] >= 0.95
    assert table.loc["blazeface", "labelled_first"] >= 0.9


def test_the_detector_record_is_written_by_its_command(tmp_path):
    from tools import record_photos

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(samples.astronaut()).save(folder / "astronaut.jpg")
    Image.fromarray(samples.coffee()).save(folder / "coffee.jpg")
    (folder / "labels.csv").write_text("file,gender,age_band\nastronaut.jpg,female,30-39\n"
                                       "coffee.jpg,male,20-29\n")
    out = tmp_path / "choices.json"
    out.write_text(json.dumps({"about": "test", "records": [{"id": "detectors-fairface"}]}))
    assert record_photos.main(["--out", str(out), "detectors", "--photos", str(folder)]) == 0
    (record,) = json.loads(out.read_text())["records"]  # replaced, not added
    assert record["command"] == (f"python -m tools.record_photos --out {out} detectors "
                                 f"--photos {folder}")
    rows = {row["variant"]: row for row in record["rows"]}
    assert rows["blazeface"]["found_share"] == 0.5 and rows["blazeface"]["photos"] == 2
    assert set(rows) == {"haar", "hog", "blazeface"}


def test_the_small_faces_record_is_written_by_its_command(tmp_path):
    from tools import record_photos

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(samples.astronaut()).save(folder / "astronaut.jpg")
    (folder / "labels.csv").write_text("file,gender,age_band\nastronaut.jpg,female,30-39\n")
    out = tmp_path / "choices.json"
    out.write_text(json.dumps({"about": "test", "records": []}))
    assert record_photos.main(["--out", str(out), "small-faces", "--photos", str(folder)]) == 0
    (record,) = json.loads(out.read_text())["records"]
    assert record["id"] == "detectors-small-faces"
    rows = {row["variant"]: row for row in record["rows"]}
    assert len(rows) == 4 and all(0 <= r["labelled_found_share"] <= 1 for r in rows.values())
    assert rows["the whole chain (course predict --detect)"]["labelled_found_share"] == 1.0
