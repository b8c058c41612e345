"""The real datasets (``../shared/data``: FASSEG, MTFL, FER2013) as the recipes read them."""

from __future__ import annotations

import argparse
import atexit
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from bench.lib.results import rewrite_report


def real_data_settings(data: Path) -> list[str]:
    """``--set`` values pointing ``examples/real-3task.toml``'s splits at ``data`` (a folder laid
    out like ../shared/data), wherever the checkout is."""
    data = data.resolve()
    return [
        f"tasks.parsing.data.train={data}/fasseg/V2/Train_RGB",
        f"tasks.landmarks.data.train={data}/mtfl/training.txt",
        f"tasks.emotion.data.train={data}/fer2013/train",
        f"tasks.emotion.data.test={data}/fer2013/test",
    ]


def recipe_data(data: Path) -> list[str]:
    """``--set`` values pointing ``examples/faces3-cpu.toml``'s splits at ``data`` (as ``make real``
    does)."""
    data = data.resolve()
    return [
        f"tasks.parsing.data.train={data}/fasseg/V3/Train_RGB",
        f"tasks.landmarks.data.train={data}/mtfl/training.txt",
        f"tasks.emotion.data.train={data}/fer2013/train",
        f"tasks.emotion.data.val={data}/fer2013/test",
    ]


def begin(args: argparse.Namespace, name: str, report: Any) -> tuple[float, Path] | None:
    """The start every real-data benchmark makes: with ``--report-only``, its report written again
    and None; else the data checked, torch's threads set, and the start time and a fresh
    temporary folder for its runs, removed when the benchmark's process ends."""
    if args.report_only:
        rewrite_report(args.out, args.name if "name" in args else name, report)
        return None
    check_real_data(args.data)
    torch.set_num_threads(args.threads)
    folder = Path(tempfile.mkdtemp(prefix=f"ifan-bench-{name}-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return time.perf_counter(), folder


def check_real_data(data: Path) -> None:
    """Stop with a clear message when ``data`` is not laid out like ../shared/data."""
    if not (data / "mtfl" / "training.txt").exists():
        raise SystemExit(f"{data}: no MTFL here (mtfl/training.txt); give --data")
