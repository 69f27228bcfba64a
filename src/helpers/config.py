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
    transfer_tops: int = 2  # tops trained on the same cached features and averaged (chapter 5)
    # `course train`'s time budget for a transfer model, in minutes (None: no budget): a top
    # after the first trains only when, at the slowest top's pace, the run still ends in time.
    transfer_minutes: float | None = None
    scratch_epochs: int | None = None  # `course train --model scratch` (None: epochs)
    # `course train --model scratch`: networks trained side by side (own seed, own process) and
    # saved as their average (chapter 4); 1: one network
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
        batch_size=32, description="seconds per chapter: tests, CI and the default book build",
        study_faces=600, study_epochs=2, transfer_size=32, transfer_epochs=2,
        scratch_members=2,  # the shape of the cpu preset's run, so that tests and CI cover it
    ),
    "cpu": Preset(
        "cpu", image_size=64, channels=3, max_faces=None, synthetic_faces=3000, epochs=30,
        batch_size=64, description="a laptop or a 2-core machine, under an hour per model",
        study_faces=4000, study_epochs=5, transfer_size=160, transfer_epochs=24,
        # 160, not 128: the MobileNetV2 (same seed, split and recipe, each face averaged with
        # its mirror, paired by face) reached 4.81 years / 93.7% on validation against 4.85 and
        # 4.91 for two runs at 128 (-0.04 and -0.10 years), 4.82 / 93.8% on test against 4.93
        # and 4.91; `course train` took 20 min 20 s alone on 2 cores (19 min 19 s at 128), its
        # fine-tuning epochs 37 to 46 s, caching the trunk's features about 6.5 minutes. Testing a
        # 128 model at 160 is no shortcut (6.45 years): the features at the cut change scale.
        # 24, not fewer: the MobileNetV2 with 17 (3 + 14 of fine-tuning) reached 4.96 years and
        # 93.3% on the 1,894 validation faces (mirror averaged) against 4.87 and 93.2% with 24,
        # and saved 7 fine-tuning epochs (52-115 s each on 2-core machines).
        # scratch_epochs 55, one network. Tried against it on 2026-12-05 (same split, 55 epochs,
        # each face averaged with its mirror): label smoothing 0.1 on gender, 5.14 years / 92.3%
        # on validation against 5.06 / 92.8% (test 5.06 / 92.7% against 5.19 / 92.8%); AdamW
        # (weight_decay 0.05), 5.00 / 92.9% (test 5.10 / 92.5%); more test-time views (shifts
        # of 2 or 3 pixels, a 1.08 zoom) cost 0.01 to 0.7 years. All within the noise of one run
        # (seeds 0, 1, 2 alone: 5.06 to 5.16 years on validation). What did pay: the average of
        # two networks of seeds 0 and 1, 0 and 2, 1 and 2, paired by face, -0.148 years [-0.174,
        # -0.125] and +0.58 points [+0.25, +0.92] on validation, -0.139 [-0.160, -0.119] and +0.33
        # [+0.02, +0.67] on test. Trained side by side, one thread each, two took 36.5 to 37 min
        # wall on 2 cores: about one network's time when the machine is slow (41 s an epoch), 1.7
        # times it when quiet (21 to 23 s an epoch alone). So scratch_members 2: two networks of
        # 55 epochs, side by side, one thread each, saved as their average.
        scratch_epochs=55, scratch_members=2, scratch_minutes=45, transfer_minutes=45,
        # transfer_tops 2, not 1: on the same split and cached features, the average of the tops
        # trained with seeds 0 and 1 reached 4.73 years / 94.1% on the 1,894 validation faces
        # (mirror averaged) against 4.81 / 93.7% and 4.81 / 94.2% for each alone; paired by
        # face, -0.08 years [-0.14, -0.03] on validation, -0.09 [-0.15, -0.04] on test. The second
        # top costs its training only (15 min 27 s on 2 cores), not a second pass of the trunk.
        # transfer_minutes 45: the two tops took 36 minutes in all on a quiet 2-core machine and
        # 48 min 38 s on a slow one (each top 19 and 24 minutes). Cheaper ways to the same end
        # lost, each measured alone on 2 cores (2026-12-05): two tops of 18 epochs (3 + 15), the
        # first reached 4.99 years on validation (one view) against 4.85 at 24; one top of 32
        # epochs (5 + 27), 4.90 one view and 4.78 / 94.0% with the mirror against 4.77 and
        # 4.72 / 94.1% for two tops of 24, in 28 min 40 s; the two tops as one Keras model took
        # twice a single top's time per step (no idle core to fill), and XLA (jit_compile) was
        # 16 times slower per step on this CPU. So the budget decides: the second top trains
        # when the slowest top's pace says the run ends within 45 minutes.
    ),
    "gpu": Preset(
        "gpu", image_size=128, channels=3, max_faces=None, synthetic_faces=6000, epochs=30,
        batch_size=64, description="a Colab or Kaggle GPU",
        study_faces=None, study_epochs=10, transfer_size=160, transfer_epochs=30,
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
