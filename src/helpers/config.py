"""Presets: the one place that chooses the scale of every chapter (image size, faces, epochs)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace

PRESET_ENV = "COURSE_PRESET"
DEFAULT_PRESET = "smoke"


@dataclass(frozen=True)
class Preset:
    """How big a run is: read by every notebook and by the command line."""

    name: str
    image_size: int  # square side in pixels fed to the networks
    channels: int  # 1 = grayscale, 3 = RGB
    max_faces: int | None  # cap on faces used (None = all)
    synthetic_faces: int  # size of the stand-in dataset when no UTKFace is found
    epochs: int
    batch_size: int
    description: str
    # Chapters that compare many variants train each on fewer faces for fewer epochs:
    study_faces: int | None = None  # faces per comparison run (None = all)
    study_epochs: int = 2
    transfer_size: int = 128  # input side of the pretrained backbones (they need >= 32)
    transfer_epochs: int = 24  # both phases of `course train --model mobilenetv2 | vgg16`
    transfer_tops: int = 2  # tops trained on the same cached features and averaged (chapter 6)
    # `course train`'s time budget for a transfer model, in minutes (None: no budget): a top
    # after the first trains only when, at the slowest top's pace, the run still ends in time.
    transfer_minutes: float | None = None
    scratch_epochs: int | None = None  # `course train --model scratch` (None: epochs)
    # `course train --model scratch`: networks trained side by side (own seed, own process) and
    # saved as their average (chapter 5); 1: one network
    scratch_members: int = 1
    # its time budget in minutes (None: none): a network is stopped when, at the slowest one's
    # pace, they would not all end in time
    scratch_minutes: float | None = None

    def to_dict(self) -> dict:
        """The preset as a plain dict (for JSON configs and glue)."""
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "smoke": Preset(
        "smoke", image_size=32, channels=3, max_faces=600, synthetic_faces=600, epochs=2,
        batch_size=32,
        description=("a quick check: tiny images, few faces, seconds per chapter; for tests "
                     "and the book built without the faces, its scores mean little"),
        study_faces=600, study_epochs=2, transfer_size=32, transfer_epochs=2,
        scratch_members=2,  # the shape of the cpu preset's run, so that tests and CI cover it
    ),
    "cpu": Preset(
        "cpu", image_size=64, channels=3, max_faces=None, synthetic_faces=3000, epochs=30,
        batch_size=64,
        description="a laptop or a 2-core machine: 64x64 faces, under an hour per model",
        study_faces=4000, study_epochs=5, transfer_size=160, transfer_epochs=24,
        # 160x160 faces and 24 epochs for the MobileNetV2, two scratch networks of 55 epochs
        # averaged, two tops averaged, each run kept to 45 minutes: why, with the figures, in the
        # records mobilenetv2-input-size, mobilenetv2-epochs, scratch-two-networks,
        # mobilenetv2-two-tops and time-mobilenetv2-budget (helpers/results/choices.json).
        scratch_epochs=55, scratch_members=2, scratch_minutes=45, transfer_minutes=45,
    ),
    "gpu": Preset(
        "gpu", image_size=128, channels=3, max_faces=None, synthetic_faces=6000, epochs=30,
        batch_size=64,
        description=("a Colab or Kaggle GPU: 128x128 faces, 4,000 faces and 8 epochs per "
                     "comparison, every face for the chosen models"),
        # Sized to end each chapter in a lab session on a Colab T4: an estimate from the cpu
        # preset's times, not yet measured on a GPU (record gpu-preset-sizing).
        study_faces=4000, study_epochs=8, transfer_size=160, transfer_epochs=30,
    ),
    "full": Preset(
        "full", image_size=200, channels=3, max_faces=None, synthetic_faces=10000, epochs=50,
        batch_size=64, description="full resolution, a strong GPU and patience",
        study_faces=None, study_epochs=20, transfer_size=224, transfer_epochs=50,
    ),
}


def get_preset(name: str | None = None, **overrides) -> Preset:
    """Return the named preset, else the one in $COURSE_PRESET, else 'smoke'; overrides win."""
    name = name or os.environ.get(PRESET_ENV) or DEFAULT_PRESET
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}: choose one of {', '.join(PRESETS)}.")
    preset = PRESETS[name]
    return replace(preset, **overrides) if overrides else preset
