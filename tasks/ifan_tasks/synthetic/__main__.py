"""``python -m ifan_tasks.synthetic OUT``: write the synthetic face datasets and their manifest."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from ifan_tasks.synthetic.real_layout import write_real_layout
from ifan_tasks.synthetic.writer import DEFAULT_COUNTS, FORMATS, SPLIT_PATHS, write_datasets


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ifan_tasks.synthetic",
        description="Write small synthetic face datasets (parsing, landmarks, emotion) and a "
        "manifest that trains ifan on them.",
    )
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiply every split's face count (default 1)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace datasets written before in OUT"
    )
    parser.add_argument(
        "--layout",
        choices=("native", "real"),
        default="native",
        help="native: the built-in formats and a manifest (default); real: laid out like the "
        "real datasets MTFL, FASSEG V2 and FER2013, for `make real DATA=OUT`",
    )
    return parser


def scaled_counts(scale: float) -> dict[str, dict[str, int]]:
    """The default counts times ``scale``, at least one face per split."""
    return {
        task: {split: max(1, round(n * scale)) for split, n in splits.items()}
        for task, splits in DEFAULT_COUNTS.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seed < 0 or args.size < 16 or args.scale <= 0:
        print("error: --seed must be >= 0, --size >= 16 and --scale > 0", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        if args.layout == "real":
            _write_real(args)
        else:
            _write_native(args)
    except FileExistsError as exc:
        print(f"error: {exc} (pass --overwrite to replace it)", file=sys.stderr)
        return 2
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0


def _write_native(args: argparse.Namespace) -> None:
    counts = scaled_counts(args.scale)
    written = write_datasets(args.out, args.seed, args.size, counts, args.overwrite)
    for task, splits in written.items():
        faces = ", ".join(f"{n} {split}" for split, n in splits.items())
        where = args.out / SPLIT_PATHS[task].format("{train,val,test}")
        print(f"{task}: {faces} faces of {args.size} px, format {FORMATS[task]}, in {where}")
    manifest = args.out / "manifest.toml"
    print(f"manifest: {manifest} (check it: ifan validate {manifest})")


def _write_real(args: argparse.Namespace) -> None:
    written = write_real_layout(args.out, args.seed, args.size, args.scale, args.overwrite)
    for name, count in written.items():
        print(f"{name}: {count} faces")
    print(f"laid out like the real datasets in {args.out}: make real DATA={args.out}")


if __name__ == "__main__":
    sys.exit(main())
