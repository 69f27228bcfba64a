"""The `course` command line: check a data folder, benchmark the input pipeline."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported anywhere

from .data import DataError, DataNotFoundError, scan_folder


def cmd_data_check(args: argparse.Namespace) -> int:
    """`course data check DIR`: the manifest summary and the defects report."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report below lists every defect itself
        report = scan_folder(args.folder, check_images=not args.names_only)
    summary = report.to_dict()
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    usable = report.usable
    print(f"{report.folder}: {report.n_files:,} files, {report.n_usable:,} usable faces "
          f"(age and gender known, image readable).")
    print(f"  ages {usable['age'].min()}-{usable['age'].max()} (median "
          f"{usable['age'].median():.0f}); female share {usable['gender'].mean():.1%}")
    print(f"{summary['n_defects']} files with a defect: "
          + (", ".join(f"{n} {k}" for k, n in summary["defects_by_action"].items()) or "none"))
    for row in summary["defects"]:
        print(f"  [{row['action']}] {row['file']!r}: {row['problem']}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """`course bench --data DIR`: the seeds' loader against the tf.data pipeline, side by side."""
    from .bench import compare_loaders

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        faces = scan_folder(args.data).usable  # only readable faces, as training would see
    paths = faces["path"].tolist()[: args.n] if args.n else faces["path"].tolist()
    print(f"Loading {len(paths):,} faces at {args.size}x{args.size} grayscale, each loader in a "
          "fresh process, one after the other...", flush=True)
    result = compare_loaders(paths, args.size)
    for name in ("seeds", "pipeline"):
        r = result[name]
        label = "seeds' PIL loop -> float64" if name == "seeds" else "course tf.data -> uint8 cache"
        print(f"  {label:32s} {r['images_per_s']:8.0f} images/s  {r['seconds']:7.1f} s  "
              f"peak +{r['peak_mb']:7.0f} MB")
    if args.json:
        print(json.dumps(result))
    print(f"pipeline_speedup={result['pipeline_speedup']:.2f} "
          f"memory_ratio={result['memory_ratio']:.3f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `course` command."""
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="inspect a UTKFace folder")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    check = data_sub.add_parser("check", help="manifest summary and defects report")
    check.add_argument("folder", type=Path)
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--names-only", action="store_true",
                       help="parse the names only, do not decode the images (faster)")
    check.set_defaults(func=cmd_data_check)

    bench = sub.add_parser("bench", help="benchmark the input pipeline against the seeds' loader")
    bench.add_argument("--data", type=Path, required=True)
    bench.add_argument("--n", type=int, default=None, help="use the first N faces (default all)")
    bench.add_argument("--size", type=int, default=128)
    bench.add_argument("--json", action="store_true")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `course` console script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataNotFoundError, DataError) as exc:
        print(f"course: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
