"""What the data pipeline costs a training step: the cross-dataset scheduler's updates with the
real readers and augmentation against the same updates on batches already in memory, and how
DataLoader worker processes hide the reading.

Builds the trainer of ``examples/real-3task.toml`` on the real datasets (``--data``, laid out like
``../shared/data``: FASSEG V2, MTFL, FER2013) and, for every task, times blocks of pre-training
updates (iterations 0, the cheapest model step, so the data's share is at its largest) in these
variants:

- ``memory``: batches read beforehand and replayed; the step is the model alone;
- ``workers N`` for each ``--workers`` value: ``ifan train`` as it runs with ``train.workers = N``
  (0: reading the prepared split and augmenting the batch in the training process; N > 0: N
  processes prefetching);
- ``photos``: ``train.prepared = false``, every photo decoded and cropped for every sample
  (``train.workers = 0``), the path the prepared splits replaced.

Also timed: preparing each task's splits from nothing (a fresh cache: face detection, cropping
and storing), and opening them again (everything cached). ``--before`` adds the update times
measured by this script at an earlier commit (its JSON), for a before/after in one report.

Blocks are interleaved (every repetition runs each task and variant once, in a fresh random
order). Each block starts a fresh data loader, takes one warm-up update (worker start-up, not
timed), then times ``--updates`` updates; with N workers at most N - 1 batches can be ready
before the timed updates start, a bias of at most (N - 1) / updates. Also timed apart: reading one
batch in the training process (decode, crop, resize, augment, collate) without the model.

Writes ``bench/results/training.json`` and ``bench/results/training.md`` (``--name`` changes the
name: ``training-128`` for input 128).

    .venv/bin/python -m bench.training                    # input 64, 1 torch thread
    .venv/bin/python -m bench.training --input-size 32 --updates 6 --repeats 1 --out /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from pathlib import Path
from typing import Any

import torch

from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.profiling import is_convolution, operator_shares, self_time
from bench.lib.realdata import begin, real_data_settings
from bench.lib.replay import replay_batches
from bench.lib.results import header, write_results
from bench.reports import training as report
from ifan.data.splits import open_splits
from ifan.manifest import load_manifest
from ifan.training.scheduler import Update
from ifan.training.trainer import Trainer

MANIFEST = ROOT / "examples" / "real-3task.toml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The data, the variants, the blocks, the threads, the earlier run and where the results go."""
    parser = options.parser(__doc__)
    options.add_data(parser)
    parser.add_argument("--input-size", type=int, default=64, help="input side (64)")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="train.workers values to time (0 1 2)",
    )
    parser.add_argument("--updates", type=int, default=12, help="timed updates per block (12)")
    parser.add_argument("--repeats", type=int, default=2, help="blocks per variant (2)")
    parser.add_argument(
        "--read-batches", type=int, default=5, help="batches read without the model, per task (5)"
    )
    options.add_threads(parser, 1, "torch intra-op threads of the training process (1)")
    options.add_out(parser)
    options.add_name(parser, "training")
    parser.add_argument(
        "--before", type=Path, help="this script's JSON from an earlier commit, shown beside"
    )
    parser.add_argument("--before-label", default="", help="which commit --before measured")
    options.add_report_only(
        parser, "rewrite the report (and findings) of the existing results file, measuring nothing"
    )
    parser.add_argument(
        "--no-profile",
        dest="profile",
        action="store_false",
        help="skip the profile of an alternating round (at input 128 with the manifest's batches "
        "and two iterations it needs more than 24 GiB)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="an ifan cache folder to use instead of an empty one (preparation is then timed "
        "from what it holds)",
    )
    return parser.parse_args(argv)


def settings(args: argparse.Namespace, workers: int, prepared: bool = True) -> list[str]:
    """The ``--set`` values of a trainer with ``workers`` loader processes, reading the prepared
    splits or (``prepared`` false) the photos."""
    return [
        f"model.input_size={args.input_size}",
        "model.iterations=0",
        f"train.workers={workers}",
        f"train.prepared={str(prepared).lower()}",
        *real_data_settings(args.data),
    ]


def trainer(args: argparse.Namespace, workers: int, folder: Path, prepared: bool = True) -> Trainer:
    """A trainer of the manifest with ``settings``, its run in ``folder``."""
    manifest = load_manifest(MANIFEST, settings(args, workers, prepared))
    name = f"workers-{workers}" if prepared else "photos"
    return Trainer(manifest, folder / name, progress_bars=False)


def preparation(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Seconds to open each task's splits from an empty cache (detection, cropping, storing) and
    again (all cached); the cache then serves the timed trainers."""
    manifest = load_manifest(MANIFEST, settings(args, 0))
    out = {}
    for name, config in manifest.tasks.items():
        task = config.build_task()
        start = time.perf_counter()
        open_splits(config, task, manifest, progress=False)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        open_splits(config, task, manifest, progress=False)
        out[name] = {"empty cache": cold, "cached": time.perf_counter() - start}
    return out


def in_memory(source: Trainer, folder: Path, args: argparse.Namespace) -> Trainer:
    """A trainer whose batches are ``source``'s, read once and replayed from memory."""
    replay = trainer(args, 0, folder / "memory")
    replay_batches(replay, source, args.updates + 1)
    return replay


def block(run: Trainer, task: str, updates: int) -> float:
    """Seconds per update over ``updates`` pre-training updates of ``task``, after a fresh
    loader's warm-up update."""
    run.loaders.pop(task, None)  # a fresh loader (its workers shut down with the old one)
    update = Update(1, task, 1, False)
    run.step(update)
    start = time.perf_counter()
    for _ in range(updates):
        run.step(update)
    return (time.perf_counter() - start) / updates


def read_only(run: Trainer, task: str, batches: int) -> list[float]:
    """Seconds to read one batch in this process (no model)."""
    run.loaders.pop(task, None)
    run._next_batch(task)
    times = []
    for _ in range(batches):
        start = time.perf_counter()
        run._next_batch(task)
        times.append(time.perf_counter() - start)
    return times


def interleaved_blocks(
    runs: dict[str, Trainer], names: list[str], args: argparse.Namespace, start: float
) -> dict[str, dict[str, list[float]]]:
    """Seconds per update of every task in every variant: ``--repeats`` rounds, each running
    a block of every task and variant once, in a fresh random order."""
    times: dict[str, dict[str, list[float]]] = {t: {v: [] for v in runs} for t in names}
    rng = random.Random(0)
    for repeat in range(args.repeats):
        blocks = [(t, v) for t in names for v in runs]
        rng.shuffle(blocks)
        for task, variant in blocks:
            times[task][variant].append(block(runs[variant], task, args.updates))
        print(f"repetition {repeat + 1}/{args.repeats}: {time.perf_counter() - start:.0f} s")
    for run in runs.values():
        run.loaders.clear()
    return times


def measured(args: argparse.Namespace, folder: Path, start: float) -> dict[str, Any]:
    """Preparation, reading alone and the updates of every variant, and the profile."""
    prepare = preparation(args)
    runs = {f"workers {w}": trainer(args, w, folder) for w in args.workers}
    runs["photos"] = trainer(args, 0, folder, prepared=False)
    runs["memory"] = in_memory(trainer(args, 0, folder / "source"), folder, args)
    names = runs["memory"].names
    batch = {t: runs["memory"].manifest.tasks[t].batch_size for t in names}
    reads = {t: read_only(trainer(args, 0, folder / "read"), t, args.read_batches) for t in names}
    times = interleaved_blocks(runs, names, args, start)
    profile = profile_round(args, folder) if args.profile else None
    return {
        **header(args.threads),
        "settings": {
            **{k: str(v) for k, v in vars(args).items()},
            "batch_sizes": batch,
            "manifest": str(MANIFEST.relative_to(ROOT)),
            "overrides": settings(args, 0)[:2],
            "cache_state": "an empty cache" if args.cache is None else f"the cache {args.cache}",
        },
        "read_batch_seconds": reads,
        "update_seconds": times,
        "prepare_seconds": prepare,
        "profile": profile,
        "before": before(args),
    }


def main(argv: list[str] | None = None) -> int:
    """Measure every variant and write the results (or, with ``--report-only``, only the report)."""
    args = parse_args(argv)
    if (begun := begin(args, "training", report)) is None:
        return 0
    start, folder = begun
    # An empty cache, so that preparation is timed from nothing (unless --cache).
    os.environ["IFAN_CACHE"] = str(args.cache or folder / "cache")
    result = measured(args, folder, start)
    result["seconds"] = round(time.perf_counter() - start, 1)
    write_results(args.out, args.name, result, report)
    shutil.rmtree(folder, ignore_errors=True)  # the prepared copies: gigabytes at input 128
    return 0


def before(args: argparse.Namespace) -> dict[str, Any] | None:
    """The update times of an earlier commit's run of this script, when given."""
    if args.before is None:
        return None
    earlier = json.loads(args.before.read_text())
    return {"commit": args.before_label, "update_seconds": earlier["update_seconds"]}


def profile_round(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """One alternating round (an update of every task, with the manifest's own interaction
    iterations and the real data path, workers 0) profiled after a warm-up round: the operators
    taking the most time, the share of the convolutions and the share of reading the batches."""
    overrides = [o for o in settings(args, 0) if not o.startswith("model.iterations")]
    run = Trainer(load_manifest(MANIFEST, overrides), folder / "profile", progress_bars=False)
    run._start_finetuning()
    updates = [Update(2, task, 1, False) for task in run.names]
    reading = run._next_batch

    def timed_read(task: str) -> Any:
        with torch.profiler.record_function("ifan: read and augment a batch"):
            return reading(task)

    run._next_batch = timed_read  # type: ignore[method-assign]
    for update in updates:
        run.step(update)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        start = time.perf_counter()
        for update in updates:
            run.step(update)
        seconds = time.perf_counter() - start
    events = prof.key_averages()
    total = self_time(events)
    convolutions = sum(e.self_cpu_time_total for e in events if is_convolution(e.key))
    data = next((e.cpu_time_total for e in events if e.key.startswith("ifan: read")), 0)
    run.loaders.clear()
    return {
        "seconds": seconds,
        "iterations": run.manifest.model.iterations,
        "convolution_share": convolutions / total,
        "data_share": data / total,
        "top": operator_shares(events, 12),
    }


if __name__ == "__main__":
    raise SystemExit(main())
