"""A synthetic stand-in for FG-NET, for builds and tests without it: the synthetic module's cartoon
faces pasted, turned and scaled into larger "photos" (some grayscale, some faded like scanned
prints), several per made-up person at several ages, named PPPAxx.JPG, with 68 landmarks each in
a .pts file, plus the kinds of defect a real copy can have. Nothing here is a real person."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from helpers.data.fgnet import FgnetReport, write_pts
from helpers.data.synthetic import cached_folder, draw_face

STANDIN_VERSION = 1  # bump when the pictures change, so cached folders are regenerated


def face_landmarks(age: int, size: int = 200) -> np.ndarray:
    """68 landmarks in FG-NET's markup (jaw 0-14, brows 15-26, each eye four points and its
    pupil 27-31 and 32-36, nose 37-47, mouth 48-67) where helpers.data.synthetic.draw_face puts a
    face's parts (before its own small random shift and tilt), for a face of `size` pixels."""
    s = size / 200
    child = max(0.0, 1 - age / 16)
    cx, cy, w, h = 100.0, 108.0, 62 - 6 * child, 80 - 14 * child
    eye = 7 + 5 * child
    t = np.linspace(np.pi * 0.05, np.pi * 0.95, 15)  # the jaw, from the left of the photo
    jaw = np.c_[cx - w * np.cos(t), cy + h * np.sin(t) * 0.95]
    brows = np.r_[[[cx - w * 0.42 + d, cy - 8 - eye - 6] for d in np.linspace(-12, 12, 6)],
                  [[cx + w * 0.42 + d, cy - 8 - eye - 6] for d in np.linspace(12, -12, 6)]]
    eyes = []
    for ex, outer in ((cx - w * 0.42, -1), (cx + w * 0.42, 1)):  # corner, lid, corner, lid, pupil
        eyes.append([[ex + outer * eye, cy - 8], [ex, cy - 8 - 0.6 * eye],
                     [ex - outer * eye, cy - 8], [ex, cy - 8 + 0.6 * eye], [ex, cy - 8]])
    nose = np.r_[[[cx, cy - 4 + 5 * i] for i in range(5)],
                 [[cx + d, cy + 20] for d in (-10, -6, -2, 2, 6, 10)]]
    mouth_y = cy + 40 - 8 * child
    a = np.linspace(0, 2 * np.pi, 13)[:-1]
    outer_lip = np.c_[cx - 16 * np.cos(a), mouth_y - 4 * np.sin(a)]
    a = np.linspace(0, 2 * np.pi, 9)[:-1]
    inner_lip = np.c_[cx - 10 * np.cos(a), mouth_y - 2 * np.sin(a)]
    points = np.r_[jaw, brows, eyes[0], eyes[1], nose, outer_lip, inner_lip]
    return points * s


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth random backdrop with noise, like a studio wall or a room."""
    top, bottom = rng.integers(30, 230, 3), rng.integers(30, 230, 3)
    ramp = np.linspace(0, 1, height)[:, None, None]
    page = top * (1 - ramp) + bottom * ramp + rng.normal(0, 8, (height, width, 3))
    return np.clip(page, 0, 255).astype(np.uint8)


def standin_photo(age: int, gender: int, race: int, rng: np.random.Generator,
                  kind: str = "colour") -> tuple[Image.Image, np.ndarray]:
    """One stand-in photo (a cartoon face turned, scaled and pasted on a backdrop) and its 68
    landmarks; kind 'grayscale' or 'scan' (faded, blurred, grainy) imitate old prints."""
    width, height = int(rng.integers(300, 520)), int(rng.integers(360, 520))
    face_size = int(rng.integers(150, min(width, height) - 60))
    face = draw_face(age, gender, race, rng, size=face_size)
    angle = float(rng.normal(0, 10))
    turned = face.rotate(angle, resample=Image.BILINEAR, expand=True)
    mask = Image.new("L", face.size, 255).rotate(angle, expand=True)
    page = Image.fromarray(_background(rng, width, height))
    left = int(rng.integers(0, width - turned.width + 1)) if width > turned.width else 0
    top = int(rng.integers(0, height - turned.height + 1)) if height > turned.height else 0
    page.paste(turned, (left, top), mask)
    points = face_landmarks(age, face_size) - face_size / 2
    theta = np.radians(angle)  # PIL turns counter-clockwise on screen
    turn = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    points = points @ turn.T + np.array([left + turned.width / 2, top + turned.height / 2])
    if kind == "grayscale":
        page = page.convert("L").convert("RGB")
    elif kind == "scan":
        tint = np.array([1.0, 0.9, 0.72]) * rng.uniform(0.8, 1.0)
        pixels = np.asarray(page.filter(ImageFilter.GaussianBlur(1.2)), float) * tint + 25
        pixels += rng.normal(0, 12, pixels.shape)
        page = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return page, points


def make_standin_fgnet(folder: str | os.PathLike, n_people: int = 8, photos: int = 6,
                       seed: int = 0, with_defects: bool = True) -> Path:
    """Write a stand-in FG-NET folder (images/ and points/, created) of n_people made-up people,
    `photos` photos each at ages drawn mostly from childhood, as FG-NET's are; with_defects adds
    an odd name, a truncated file, a photo without landmarks and landmarks without a photo."""
    folder = Path(folder)
    images, points = folder / "images", folder / "points"
    images.mkdir(parents=True, exist_ok=True)
    points.mkdir(exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for person in range(1, n_people + 1):
        gender, race = int(rng.integers(0, 2)), int(rng.integers(0, 5))
        ages = np.unique(np.clip(np.round(rng.gamma(1.6, 9.0, photos)), 0, 69).astype(int))
        for age in ages:
            kind = rng.choice(["colour", "grayscale", "scan"], p=[0.55, 0.17, 0.28])
            photo, marks = standin_photo(int(age), gender, race, rng, str(kind))
            stem = f"{person:03d}A{age:02d}"
            name = f"{stem}.JPG" if person % 2 else f"{stem.lower()}.jpg"  # both cases occur
            photo.save(images / name, quality=88)
            write_pts(points / f"{stem.lower()}.pts", marks)
            written.append(name)
    if with_defects:
        photo, _ = standin_photo(30, 0, 0, rng)
        photo.save(images / "IMG_0001.jpg", quality=88)  # not an FG-NET name
        (images / written[1]).write_bytes((images / written[1]).read_bytes()[:300])  # truncated
        (points / f"{Path(written[2]).stem.lower()}.pts").unlink()  # photo without landmarks
        write_pts(points / "099a01.pts", np.zeros((68, 2)))  # landmarks without a photo
    return folder


def standin_fgnet_folder(n_people: int = 8, photos: int = 6, seed: int = 0) -> Path:
    """The cached stand-in FG-NET folder, generated on first use (a second or two)."""
    return cached_folder(f"fgnet-standin-v{STANDIN_VERSION}-p{n_people}-n{photos}-s{seed}",
                         lambda tmp: make_standin_fgnet(tmp, n_people, photos, seed))


def fgnet_or_standin(path: str | os.PathLike | None = None, seed: int = 0) -> FgnetReport:
    """The real FG-NET photos when they can be found (helpers.data.fgnet.find_fgnet), else the
    stand-in, saying so; asking for a folder (path or $FGNET_DIR) that is not there is an error,
    never a quiet switch to stand-in photos."""
    import warnings

    from helpers.data.fgnet import FGNET_ENV, FgnetNotFoundError, find_fgnet, scan_fgnet

    try:
        folder, source = find_fgnet(path), "fgnet"
    except FgnetNotFoundError as exc:
        if path is not None or os.environ.get(FGNET_ENV):
            raise
        print(f"No FG-NET found ({exc.args[0].split('. ')[0]}). Using the synthetic stand-in: "
              "cartoon faces of made-up people pasted into photos, not FG-NET.")
        folder, source = standin_fgnet_folder(seed=seed), "standin"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = scan_fgnet(folder, source=source)
    for w in caught:  # the defect count, once and plainly
        print(f"Warning: {w.message}")
    print(f"This chapter uses {report.describe()}.")
    return report
