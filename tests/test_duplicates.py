"""tools.record_duplicates: near-duplicate faces found by perceptual hash, grouped, and counted
per split."""

from __future__ import annotations

import numpy as np
import pandas as pd
from PIL import Image, ImageEnhance

from tools import record_duplicates as dup


def test_close_pairs_and_groups_join_transitively():
    hashes = np.array([0b0, 0b1, 0b11, 0xFFFF_0000, 0xFFFF_0001], np.uint64)
    pairs = dup.close_pairs(hashes, 1, chunk=2)
    assert sorted(map(tuple, pairs)) == [(0, 1), (1, 2), (3, 4)]
    group = dup.groups_of(len(hashes), pairs)
    assert group[0] == group[1] == group[2] != group[3] == group[4]


def test_a_recompressed_copy_is_a_near_duplicate_across_splits(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):  # distinct smooth images
        small = rng.uniform(0, 255, (8, 8, 3)).astype(np.uint8)
        path = tmp_path / f"{i}.png"
        Image.fromarray(small).resize((200, 200), Image.BICUBIC).save(path)
        paths.append(path)
    copy = tmp_path / "copy.jpg"  # face 0 again: brighter, recompressed
    ImageEnhance.Brightness(Image.open(paths[0])).enhance(1.1).save(copy, quality=70)
    paths.append(copy)
    faces = pd.DataFrame({"path": [str(p) for p in paths], "age": [30] * 6 + [31],
                          "gender": [0] * 7,
                          "split": ["train", "train", "val", "test", "test", "val", "test"]})
    hashes = dup.perceptual_hashes(paths)
    (row,) = dup.duplicate_rows(faces, hashes, [6])
    assert row["pairs"] == 1 and row["faces_in_groups"] == 2
    assert row["groups_across_splits"] == 1 and row["test_faces_with_a_train_twin"] == 1
    assert row["pairs_labels_differ"] == 1  # 30 against 31
