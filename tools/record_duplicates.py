"""Record how many UTKFace photos appear twice, exactly or nearly, and across which of the
course's splits (chapter 3), as the record utkface-duplicates in src/helpers/results/choices.json:

    python -m tools.record_duplicates --utkface UTKFACE_DIR [--distances 0 2 4 6]

Each usable face gets a perceptual hash (imagehash.phash: 64 bits from the low frequencies of the
image's cosine transform, unchanged by small changes of size, compression or brightness) and a
hash of its file's bytes. Two faces are near duplicates when their perceptual hashes differ in at
most d bits; groups are joined transitively. No image or hash is written anywhere.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd


def perceptual_hashes(paths: list[Path]) -> np.ndarray:
    """Each image's 64-bit perceptual hash, as unsigned integers."""
    import imagehash
    from PIL import Image

    out = np.zeros(len(paths), np.uint64)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            bits = imagehash.phash(image).hash.ravel()
        out[i] = np.uint64(int("".join("1" if b else "0" for b in bits), 2))
    return out


def close_pairs(hashes: np.ndarray, distance: int, chunk: int = 512) -> np.ndarray:
    """Every pair (i, j), i < j, whose hashes differ in at most `distance` bits."""
    pairs = []
    for start in range(0, len(hashes), chunk):
        block = hashes[start:start + chunk, None] ^ hashes[None, :]
        bits = np.bitwise_count(block)
        rows, cols = np.nonzero(bits <= distance)
        rows = rows + start
        keep = rows < cols
        pairs.append(np.stack([rows[keep], cols[keep]], axis=1))
    return np.concatenate(pairs) if pairs else np.zeros((0, 2), int)


def groups_of(n: int, pairs: np.ndarray) -> np.ndarray:
    """A group number per item, joining the pairs transitively (connected components)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def duplicate_rows(faces: pd.DataFrame, hashes: np.ndarray, distances: list[int]) -> list[dict]:
    """Per distance: pairs, faces in a group of two or more, groups spread over two or more
    splits, test faces with a twin in train, and pairs whose age or gender labels differ."""
    rows = []
    split = faces["split"].to_numpy()
    for d in distances:
        pairs = close_pairs(hashes, d)
        group = groups_of(len(faces), pairs)
        sizes = np.bincount(group)
        in_group = sizes[group] > 1
        spread = pd.Series(split).groupby(group).nunique()
        test_twins = faces.assign(group=group).groupby("group")["split"].agg(set)
        leaked = [i for i in range(len(faces)) if split[i] == "test" and in_group[i]
                  and "train" in test_twins[group[i]]]
        a, b = pairs[:, 0], pairs[:, 1]
        rows.append({"variant": f"phash within {d} bits",
                     "pairs": int(len(pairs)), "faces_in_groups": int(in_group.sum()),
                     "groups_across_splits": int((spread > 1).sum()),
                     "test_faces_with_a_train_twin": len(leaked),
                     "test_share_with_a_train_twin": round(len(leaked) / int((split == "test")
                                                                            .sum()), 4),
                     "pairs_labels_differ": int(
                         ((faces["age"].to_numpy()[a] != faces["age"].to_numpy()[b])
                          | (faces["gender"].to_numpy()[a] != faces["gender"].to_numpy()[b]))
                         .sum())})
    return rows


def main(argv: list[str] | None = None) -> int:
    """Hash every usable face, count the duplicates per distance, write the record."""
    from helpers.data import scan_folder, split_faces
    from tools.record_photos import save

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--utkface", type=Path, required=True)
    parser.add_argument("--distances", type=int, nargs="+", default=[0, 2, 4, 6])
    args = parser.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        usable = scan_folder(args.utkface).usable
    faces = split_faces(usable, seed=0).reset_index(drop=True)
    paths = [Path(p) for p in faces["path"]]
    hashes = perceptual_hashes(paths)
    rows = duplicate_rows(faces, hashes, sorted(args.distances))
    digests = pd.Series([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    exact = digests.duplicated(keep=False)
    rows.insert(0, {"variant": "identical files", "faces_in_groups": int(exact.sum()),
                    "groups_across_splits": int(faces[exact].groupby(digests[exact])["split"]
                                                .nunique().gt(1).sum())})
    print(pd.DataFrame(rows).set_index("variant").to_string())
    command = "python -m tools.record_duplicates " + " ".join(
        sys.argv[1:] if argv is None else argv)
    save({"id": "utkface-duplicates", "topic": "data", "command": command,
          "question": "How many UTKFace faces appear twice, and across the course's splits?",
          "chosen": "measured only: the course's split (seed 0) does not yet keep a group of "
                    "duplicates in one split",
          "split": "all usable faces, with the split of seed 0",
          "setting": f"{len(faces):,} usable faces; perceptual hash (imagehash.phash, 64 bits), "
                     "groups joined transitively; and identical files",
          "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
