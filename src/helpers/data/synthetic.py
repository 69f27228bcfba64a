"""A synthetic stand-in for UTKFace: cartoon faces with UTKFace names and a learnable, noisy signal.

The pixels carry age and gender the way a photo does, only simpler and noisier:
- gender: the hair style (long or short) and the lip colour, each shown faithfully for only part
  of the faces, so no network can be perfect;
- age: the head's proportions (children have bigger eyes and rounder faces), forehead lines and
  grey hair, all driven by a noisy copy of the age;
- race: the skin tone.
Nothing here is a real person. It lets the whole course build and test offline in minutes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

GENERATOR_VERSION = 1  # bump when the pictures change, so cached folders are regenerated
RACE_SHARES = [0.42, 0.19, 0.14, 0.17, 0.08]  # roughly UTKFace's
SKIN_TONES = [(230, 195, 170), (120, 80, 60), (225, 185, 140), (170, 120, 85), (200, 160, 120)]
REAL_DEFECT_NAMES = (  # verbatim from the UTKFace release
    "24_0_1_20170116220224657 .jpg.chip.jpg",
    "55_0_0_20170116232725357jpg.chip.jpg",
    "39_1_20170116174525125.jpg.chip.jpg",
    "61_1_20170109142408075.jpg.chip.jpg",
    "61_3_20170109150557335.jpg.chip.jpg",
)


def sample_labels(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ages, genders and races with UTKFace-like shapes (many twenties, a bump of infants)."""
    kind = rng.choice(3, size=n, p=[0.10, 0.55, 0.35])
    ages = np.where(kind == 0, rng.integers(1, 6, n),
                    np.where(kind == 1, rng.normal(30, 9, n), rng.uniform(6, 90, n)))
    ages = np.clip(np.round(ages), 1, 100).astype(int)
    genders = (rng.random(n) < 0.48).astype(int)  # 1 = female, as in UTKFace
    races = rng.choice(5, size=n, p=RACE_SHARES)
    return ages, genders, races


def draw_face(age: int, gender: int, race: int, rng: np.random.Generator,
              size: int = 200) -> Image.Image:
    """Draw one synthetic face (RGB, size x size) whose pixels carry a noisy age/gender signal."""
    s = size / 200
    seen_age = float(np.clip(age * np.exp(rng.normal(0, 0.25)), 1, 100))  # the signal is noisy
    shows_gender = rng.random() < 0.85  # 15% of faces show the other gender's cues
    looks_female = gender if shows_gender else 1 - gender
    bg = tuple(int(v) for v in rng.integers(40, 220, 3))
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    cx, cy = 100 + rng.normal(0, 5), 108 + rng.normal(0, 5)
    child = max(0.0, 1 - seen_age / 16)  # 1 for a baby, 0 from 16 on
    w, h = 62 - 6 * child + rng.normal(0, 3), 80 - 14 * child + rng.normal(0, 3)
    skin = np.array(SKIN_TONES[race]) + rng.normal(0, 12, 3)
    grey = np.clip((seen_age - 35) / 45, 0, 1)
    hair = (np.array([50, 35, 25]) + rng.normal(0, 15, 3)) * (1 - grey) + np.array([200] * 3) * grey
    hair_c, skin_c = tuple(int(v) for v in np.clip(hair, 0, 255)), tuple(
        int(v) for v in np.clip(skin, 0, 255))

    def box(x0, y0, x1, y1):
        return [x0 * s, y0 * s, x1 * s, y1 * s]

    if looks_female:  # long hair behind the face
        d.rounded_rectangle(box(cx - w - 14, cy - h - 10, cx + w + 14, cy + h + 40), 40 * s,
                            fill=hair_c)
    d.ellipse(box(cx - w, cy - h, cx + w, cy + h), fill=skin_c)
    d.chord(box(cx - w, cy - h - 8, cx + w, cy - h + 45), 180, 360, fill=hair_c)  # hair on top
    eye = 7 + 5 * child
    for ex in (cx - w * 0.42, cx + w * 0.42):
        d.ellipse(box(ex - eye, cy - 8 - eye * 0.6, ex + eye, cy - 8 + eye * 0.6), fill="white")
        d.ellipse(box(ex - eye / 2, cy - 8 - eye / 2, ex + eye / 2, cy - 8 + eye / 2), fill="black")
    lips = (190, 40, 70) if (looks_female and rng.random() < 0.8) else (150, 90, 80)
    d.line(box(cx - 16, cy + 40 - 8 * child, cx + 16, cy + 40 - 8 * child), fill=lips,
           width=max(1, int(5 * s)))
    n_lines = int(np.clip((seen_age - 25) / 10, 0, 6))  # forehead lines from the late twenties
    for i in range(n_lines):
        y = cy - h * 0.55 + i * 5
        d.line(box(cx - w * 0.5, y, cx + w * 0.5, y), fill=(90, 60, 50), width=max(1, int(s)))
    img = img.rotate(rng.normal(0, 6), resample=Image.BILINEAR, fillcolor=bg)
    img = img.filter(ImageFilter.GaussianBlur(0.6 * s))
    pixels = np.asarray(img, dtype=np.float32) * rng.uniform(0.75, 1.2)  # lighting
    pixels += rng.normal(0, 10, pixels.shape)  # sensor noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _name(age: int, gender: int, race: int, stamp: int) -> str:
    """A UTKFace file name: AGE_GENDER_RACE_DATETIME.jpg.chip.jpg."""
    return f"{age}_{gender}_{race}_{stamp:017d}.jpg.chip.jpg"


def write_defects(folder: Path, rng: np.random.Generator, size: int = 200) -> list[str]:
    """Add the real release's defective names plus a corrupt, a non-image and an odd image."""
    written = []
    for name in REAL_DEFECT_NAMES:
        age = int(name.split("_")[0])
        draw_face(age, 0, 0, rng, size).save(folder / name, quality=90)
        written.append(name)
    good = folder / _name(30, 1, 2, 20170101000000001)
    draw_face(30, 1, 2, rng, size).save(good, quality=90)
    truncated = folder / _name(31, 0, 0, 20170101000000002)
    truncated.write_bytes(good.read_bytes()[:400])  # a download cut short
    good.unlink()
    written.append(truncated.name)
    (folder / "README.txt").write_text("not a face\n")
    written.append("README.txt")
    odd = draw_face(45, 1, 3, rng, size).convert("L").resize((150, 180))
    odd_name = _name(45, 1, 3, 20170101000000003)
    odd.save(folder / odd_name, format="PNG")  # grayscale PNG under a .jpg name, not 200x200
    written.append(odd_name)
    return written


def make_synthetic_utkface(folder: str | os.PathLike, n: int = 600, seed: int = 0,
                           size: int = 200, with_defects: bool = False) -> Path:
    """Write n synthetic faces named the UTKFace way into folder (created); return the folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ages, genders, races = sample_labels(n, rng)
    stamps = 20170101000000000 + rng.choice(10**9, size=n, replace=False)
    for age, gender, race, stamp in zip(ages, genders, races, stamps, strict=True):
        draw_face(int(age), int(gender), int(race), rng, size).save(
            folder / _name(int(age), int(gender), int(race), int(stamp)), quality=90)
    if with_defects:
        write_defects(folder, rng, size)
    return folder


def cache_root() -> Path:
    """Where generated data lives: $COURSE_CACHE, else ~/.cache/age-gender-course."""
    return Path(os.environ.get("COURSE_CACHE", Path.home() / ".cache" / "age-gender-course"))


def cached_folder(name: str, make: Callable[[Path], object]) -> Path:
    """cache_root()/name, made by make(folder) on first use, in a temporary folder renamed when
    complete (so a half-written folder is never used, and parallel processes do not clash)."""
    folder = cache_root() / name
    if not (folder / ".complete").exists():
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        make(tmp)
        (tmp / ".complete").write_text("ok\n")
        try:
            tmp.rename(folder)
        except OSError:  # another process finished first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def synthetic_folder(n: int = 600, seed: int = 0) -> Path:
    """The cached stand-in dataset of n faces, generated on first use (a few seconds)."""
    return cached_folder(f"synthetic-v{GENERATOR_VERSION}-n{n}-s{seed}",
                         lambda tmp: make_synthetic_utkface(tmp, n=n, seed=seed))
