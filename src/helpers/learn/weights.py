"""Where a pretrained backbone's ImageNet weights come from: the local Keras cache first, else a
download when the network answers, else random weights, said loudly (tests never download)."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from helpers.data import _network_reachable

WEIGHTS_HOST = "storage.googleapis.com"  # where keras.applications downloads weights from
# The no-top weight file of each backbone, as Keras's cache names it.
WEIGHT_FILES = {
    "mobilenetv2": "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5",
    "vgg16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
}


def cached_weights(backbone: str) -> Path | None:
    """The backbone's ImageNet weight file in a local Keras cache ($KERAS_HOME, ~/.keras)."""
    name = WEIGHT_FILES[backbone]
    homes = [os.environ.get("KERAS_HOME"), Path.home() / ".keras", "/tmp/.keras"]
    for home in homes:
        if home and (Path(home) / "models" / name).is_file():
            return Path(home) / "models" / name
    return None


def resolve_weights(backbone: str, weights: str | None = "imagenet",
                    timeout: float = 3.0) -> tuple[str | None, str]:
    """What to pass as `weights=` and a sentence saying what the network starts from: a local
    cache first, else a download when the network answers, else random weights (said loudly)."""
    if backbone not in WEIGHT_FILES:
        raise ValueError(f"unknown backbone {backbone!r}: choose one of {', '.join(WEIGHT_FILES)}")
    if weights != "imagenet":
        return weights, ("random initial weights (asked for): not pretrained" if weights is None
                         else f"weights from {weights}")
    local = cached_weights(backbone)
    if local is not None:
        return str(local), f"ImageNet weights from the local Keras cache ({local.name})"
    if os.environ.get("COURSE_NO_DOWNLOAD"):  # set by `tasks.py test`: tests never download
        reason = "downloads are switched off (COURSE_NO_DOWNLOAD is set)"
    elif _network_reachable(WEIGHTS_HOST, 443, timeout):
        return "imagenet", "ImageNet weights downloaded by Keras"
    else:
        reason = f"{WEIGHTS_HOST} cannot be reached"
    note = (f"NOT pretrained: the ImageNet weights of {backbone} are not in a local Keras cache "
            f"and {reason}, so the backbone starts from random weights. "
            "Its scores are those of a network trained from scratch on these faces, not "
            "of transfer learning. Run on Colab or Kaggle (they download the weights), or put "
            f"{WEIGHT_FILES[backbone]} in $KERAS_HOME/models.")
    warnings.warn(note, stacklevel=2)
    return None, note
