"""The recipe's training updates on this CPU, before and after two changes, as ratios measured in
one run: the up path's upsampling gets its gradient channels-last (:mod:`ifan.network.upsampling`;
before, as the concatenation's backward left it), and the optimizer updates every parameter in
one fused kernel (``ifan.training.trainer.FUSED_OPTIMIZERS``; before, torch's per-parameter loop).

Times, interleaved (every repetition runs every variant once, in a fresh random order), the
recipe's stage-2 update of each task (``examples/faces3-cpu.toml`` on the real datasets with
the heat-map landmark decoder that ``faces3`` uses, one interaction iteration, bf16 autocast),
on batches read once and replayed from memory (so only the model's cost is timed); emotion at
the batch of steps 1 and 2 (64) and of the later steps (128). The three variants are one trainer
with each change turned off for the call; a fourth is a trainer of the same recipe with the
paper's regression decoder for the landmarks (what ``faces3`` had before), on the same batches,
so the report says what the heat maps cost too. Writes ``bench/results/updates.json`` and
``bench/results/updates.md``.

    .venv/bin/python -m bench.updates --threads 2
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch

from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.realdata import begin, recipe_data
from bench.lib.replay import replay_batches
from bench.lib.results import write_timings
from bench.lib.timing import interleaved_groups
from bench.reports import updates as report
from ifan.manifest import load_manifest
from ifan.network import upsampling
from ifan.training.scheduler import Update
from ifan.training.trainer import Trainer

RECIPE = ROOT / "examples" / "faces3-cpu.toml"
HEATMAP = [
    "tasks.landmarks.decoder=heatmap",
    "tasks.landmarks.tap=up2",
    "tasks.landmarks.hidden=64",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The data, the repetitions, the threads and where the results go."""
    parser = options.parser(__doc__)
    options.add_update_timing(parser, "updates")
    return parser.parse_args(argv)


@contextlib.contextmanager
def gradient_as_left() -> Iterator[None]:
    """The upsampling's gradient as the concatenation's backward leaves it: before the change."""
    function = upsampling._ChannelsLastGradient
    function.apply = staticmethod(lambda maps: maps)  # type: ignore[method-assign]
    try:
        yield
    finally:
        del function.apply  # torch.autograd.Function's own again


@contextlib.contextmanager
def per_parameter_loop(optimizer: torch.optim.Optimizer) -> Iterator[None]:
    """``optimizer`` in torch's per-parameter loop, as before the change (its step reads the
    flags of each parameter group at every call)."""
    flags = [(group["fused"], group["foreach"]) for group in optimizer.param_groups]
    for group in optimizer.param_groups:
        group["fused"], group["foreach"] = None, False
    try:
        yield
    finally:
        for group, (fused, foreach) in zip(optimizer.param_groups, flags, strict=True):
            group["fused"], group["foreach"] = fused, foreach


def variants(run: Trainer, task: str) -> dict[str, Callable[[], None]]:
    """One update of ``task`` as each variant makes it."""

    def update() -> None:
        run.step(Update(2, task, 1, False))

    def before() -> None:
        with gradient_as_left(), per_parameter_loop(run.optimizer):
            update()

    def gradient_only() -> None:
        with per_parameter_loop(run.optimizer):
            update()

    return {report.BEFORE: before, report.GRADIENT: gradient_only, report.NOW: update}


def update_cases(args: argparse.Namespace, folder: Path) -> dict[str, dict[str, Callable]]:
    """Timed stage-2 updates per (task, batch) and variant, on two trainers per emotion batch:
    the heat-map decoder's and the regression decoder's, on the same batches."""
    base = [*recipe_data(args.data), "train.pretrain_epochs=0"]
    cases: dict[str, dict[str, Callable[[], Any]]] = {}
    for emotion_batch in (64, 128):
        sizes = [*base, f"tasks.emotion.batch_size={emotion_batch}"]
        run = Trainer(load_manifest(RECIPE, [*sizes, *HEATMAP]), folder / f"run{emotion_batch}",
                      progress_bars=False)  # fmt: skip
        paper = Trainer(load_manifest(RECIPE, sizes), folder / f"paper{emotion_batch}",
                        progress_bars=False)  # fmt: skip
        replay_batches(run, run, 2)
        replay_batches(paper, run, 2)  # the very batches run replays
        for trainer in (run, paper):
            trainer._start_finetuning()
        for task in run.names if emotion_batch == 64 else ["emotion"]:
            batch = run.manifest.tasks[task].batch_size
            cases[f"{task} (batch {batch})"] = {
                **variants(run, task),
                report.PAPER: lambda paper=paper, task=task: paper.step(Update(2, task, 1, False)),
            }
    return cases


def main(argv: list[str] | None = None) -> int:
    """Time both variants and write the results (or, with ``--report-only``, only the report)."""
    args = parse_args(argv)
    if (begun := begin(args, "updates", report)) is None:
        return 0
    start, folder = begun
    seconds = interleaved_groups(update_cases(args, folder), args.repeats, start)
    write_timings(args, "updates", argv, seconds, start, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
