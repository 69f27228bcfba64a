"""Benchmarks that print figures (never timed tests): the seeds' loader against tf.data.

Each loader runs in a fresh child process, one after the other on the same images, so its peak
memory is its own: we report the growth of the peak resident memory over the child's memory once
its libraries are imported, and images per second over the whole load.

Shared machines are noisy (on the course's 2-core machines the same pass runs at one speed or at
almost twice it, from one minute to the next), so each measurement is repeated, the two sides
taking turns (seeds, course, seeds, course, ...), and each side is summed up by its best repeat,
as `timeit` does: noise only ever slows a run down. Every repeat is kept in the result.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from queue import Empty

import numpy as np

from helpers.data import scan_folder


def _peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def _current_rss_mb() -> float:
    """Resident memory of this process now, in MB (Linux /proc; else the peak)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 1e6
    except OSError:
        return _peak_rss_mb()


def seeds_loader(paths: list[str], image_size: int = 128) -> np.ndarray:
    """The seeds' way: a PIL loop, grayscale, LANCZOS resize, one float64 array of every face."""
    from PIL import Image

    images = []
    for path in paths:
        img = Image.open(path).convert("L").resize((image_size, image_size), Image.LANCZOS)
        images.append(np.array(img))
    return np.array(images, dtype=np.float64).reshape(-1, image_size, image_size, 1) / 255.0


def pipeline_loader(paths: list[str], image_size: int = 128) -> int:
    """The course's way: tf.data decodes in parallel, caches uint8, yields float32 batches."""
    import pandas as pd

    from helpers.data.pipeline import make_dataset

    frame = pd.DataFrame({"path": paths, "age": 0.0, "gender": 0.0})
    ds = make_dataset(frame, image_size=image_size, channels=1, batch_size=64, cache=True)
    return sum(int(x.shape[0]) for x, _ in ds)  # one full pass fills the cache


def seeds_training(paths: list[str], image_size: int = 128) -> float:
    """Training images per second of the seeds' CNN as the seeds ran it: grayscale float64
    arrays in memory, model.fit with batch 32 (loading is not timed). The network needs at least
    its spec's min_size pixels (its valid convolutions), so smaller sizes are raised to that."""
    from helpers.learn.models import compile_model, get_model_spec, seed_cnn

    image_size = max(image_size, get_model_spec("seed-cnn").min_size)
    x = seeds_loader(paths, image_size)
    y = {"age": np.linspace(1, 90, len(paths)), "gender": np.arange(len(paths)) % 2.0}
    model = compile_model(seed_cnn(image_size, 1))
    model.fit(x[:64], {k: v[:64] for k, v in y.items()}, batch_size=32, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    return len(paths) / (time.perf_counter() - start)


def course_training(paths: list[str], image_size: int = 64) -> float:
    """Training images per second of the chapter's best model ('scratch') as `course train`
    runs it at the cpu preset: RGB, tf.data with a uint8 cache, batch 64 (cache filled first)."""
    import pandas as pd

    from helpers.config import get_preset
    from helpers.data.pipeline import make_dataset
    from helpers.learn.models import compile_model, get_model_spec
    from helpers.learn.training import build_model
    from helpers.taught import age_head_loss, training_view

    preset = get_preset("cpu")
    frame = pd.DataFrame({"path": paths, "age": np.linspace(1, 90, len(paths)),
                          "gender": np.arange(len(paths)) % 2.0})
    ds = make_dataset(frame, image_size, preset.channels, preset.batch_size, shuffle=True)
    for _ in ds:  # decode once into the cache, as the first epoch does
        pass
    spec = get_model_spec("scratch")
    model = training_view(build_model(spec, preset, image_size=image_size))
    model = compile_model(model, age_weight=spec.age_weight, **age_head_loss(model))
    model.fit(ds.take(2), verbose=0, shuffle=False)  # warm-up (the dataset shuffles itself)
    start = time.perf_counter()
    model.fit(ds, epochs=1, verbose=0, shuffle=False)
    return len(paths) / (time.perf_counter() - start)


def _child(name: str, paths: list[str], image_size: int, queue) -> None:
    """Run one measurement in this (fresh) process and report it (seconds, memory growth)."""
    # Libraries are imported before the baseline on both sides (numpy is already in).
    if name == "seeds":
        import PIL.Image  # noqa: F401
    else:
        from helpers.data import pipeline  # noqa: F401  (TensorFlow, pandas)
    if name.startswith("train-"):
        fn = seeds_training if name == "train-seeds" else course_training
        queue.put({"measure": name, "images_per_s": fn(paths, image_size)})
        return
    base = _current_rss_mb()
    loader: Callable = seeds_loader if name == "seeds" else pipeline_loader
    start = time.perf_counter()
    loader(paths, image_size)
    seconds = time.perf_counter() - start
    queue.put({"loader": name, "seconds": seconds, "images_per_s": len(paths) / seconds,
               "peak_mb": max(_peak_rss_mb() - base, 1e-3)})


def measure_loader(name: str, paths: list[str], image_size: int = 128) -> dict:
    """Time one loader and its peak memory growth in a fresh process."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, paths, image_size, queue))
    proc.start()
    while True:  # never wait forever on a child that died (out of memory, a crash)
        try:
            result = queue.get(timeout=1.0)
            break
        except Empty:
            if not proc.is_alive():
                raise RuntimeError(f"the {name} loader's process died (exit code "
                                   f"{proc.exitcode}); see its error above") from None
    proc.join()
    return result


def side_by_side(names: tuple[str, str], paths: list[str], sizes: tuple[int, int],
                 repeats: int = 3) -> list[dict]:
    """Measure two things in turns, `repeats` times each; return each one's best repeat (most
    images per second) with every repeat's images/s under 'repeats'."""
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    runs: dict[str, list[dict]] = {name: [] for name in names}
    for _ in range(repeats):
        for name, size in zip(names, sizes, strict=True):
            runs[name].append(measure_loader(name, paths, size))
    best = []
    for name in names:
        top = max(runs[name], key=lambda r: r["images_per_s"])
        best.append({**top, "repeats": [round(r["images_per_s"], 1) for r in runs[name]]})
    return best


def compare_training(paths: list[str], seeds_size: int = 128, course_size: int = 64,
                     repeats: int = 3) -> dict:
    """Training images/s of the seeds' CNN (128 grayscale) and of the course's best scratch
    model at the cpu preset (64 RGB), each in a fresh process; speed-up = course / seeds."""
    seeds, course = side_by_side(("train-seeds", "train-course"), paths,
                                 (seeds_size, course_size), repeats)
    return {"n_images": len(paths), "seeds_train_images_per_s": seeds["images_per_s"],
            "course_train_images_per_s": course["images_per_s"],
            "seeds_train_repeats": seeds["repeats"], "course_train_repeats": course["repeats"],
            "train_speedup": course["images_per_s"] / seeds["images_per_s"]}


def compare_loaders(paths: list[str], image_size: int = 128, repeats: int = 3) -> dict:
    """Both loaders on the same images, side by side: speed-up and memory ratio (course/seeds),
    each loader's best of `repeats` turns."""
    seeds, course = side_by_side(("seeds", "pipeline"), paths, (image_size, image_size),
                                 repeats)
    return {"n_images": len(paths), "image_size": image_size, "repeats": repeats,
            "seeds": seeds, "pipeline": course,
            "pipeline_speedup": course["images_per_s"] / seeds["images_per_s"],
            "memory_ratio": course["peak_mb"] / seeds["peak_mb"]}


def run(args: argparse.Namespace) -> int:
    """The seeds' loader against the tf.data pipeline, side by side, then their training."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = scan_folder(args.data).usable  # only readable faces, as training would see
    paths = faces["path"].tolist()[: args.n] if args.n else faces["path"].tolist()
    print(f"Loading {len(paths):,} faces at {args.size}x{args.size} grayscale, each loader in a "
          f"fresh process, taking turns, {args.repeats} time(s) each (best repeat shown)...",
          flush=True)
    result = compare_loaders(paths, args.size, args.repeats)
    for name in ("seeds", "pipeline"):
        r = result[name]
        label = "seeds' PIL loop -> float64" if name == "seeds" else "course tf.data -> uint8 cache"
        print(f"  {label:32s} {r['images_per_s']:8.0f} images/s  {r['seconds']:7.1f} s  "
              f"peak +{r['peak_mb']:7.0f} MB  (repeats: "
              f"{', '.join(f'{v:.0f}' for v in r['repeats'])} images/s)")
    n_train = min(len(paths), args.train_n)
    print(f"Training on {n_train:,} faces: the seeds' CNN (128x128 grayscale, float64 arrays, "
          "batch 32) and the course's scratch model (cpu preset: 64x64 RGB, tf.data, batch 64), "
          "one epoch each after a warm-up...", flush=True)
    train = compare_training(paths[:n_train], repeats=args.repeats)
    for label, key in (("seeds' CNN", "seeds_train"), ("course scratch model", "course_train")):
        print(f"  {label:21s} {train[key + '_images_per_s']:8.0f} training images/s  (repeats: "
              f"{', '.join(f'{v:.0f}' for v in train[key + '_repeats'])})")
    result.update(train)
    if args.json:
        print(json.dumps(result))
    print(f"pipeline_speedup={result['pipeline_speedup']:.2f} "
          f"memory_ratio={result['memory_ratio']:.3f} "
          f"train_speedup={result['train_speedup']:.2f}")
    return 0

def main(argv: list[str] | None = None) -> int:
    """`python -m tools.bench --data DIR [--n N] [--size S] [--train-n N] [--repeats R]`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--n", type=int, default=None, help="use the first N faces (default all)")
    parser.add_argument("--size", type=int, default=128,
                       help="image side for the loading comparison (the seeds used 128)")
    parser.add_argument("--train-n", type=int, default=1024,
                       help="faces per training-speed measurement (default 1024)")
    parser.add_argument("--repeats", type=int, default=3,
                       help="turns per measurement; each side's best is reported (default 3)")
    parser.add_argument("--json", action="store_true")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
