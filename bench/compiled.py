"""Does ``torch.compile`` make the recipe's training faster on this CPU? Eager against compiled
(``Module.compile()``, inductor's default mode), each a trainer of ``examples/faces3-cpu.toml``
with the same starting weights, on the same real batches replayed from memory (as
:mod:`bench.updates` does: only the model's cost is timed), the recipe's stage-2 update of each
task at the batches of steps 1 and 2, bf16 autocast.

The first update of each task in the compiled trainer is what compiling costs (its forward and
backward graphs), from an empty inductor cache in the run's temporary folder, as a first run
compiles; it is timed on its own, once, before the interleaved runs (bench/README.md says
how) time both trainers' later updates. The answer decides whether a recipe that runs for hours
on two cores should compile: it should if the time saved per round, over the recipe's rounds,
exceeds the compile. Writes ``bench/results/compiled.json`` and ``bench/results/compiled.md``.

    .venv/bin/python -m bench.compiled --threads 2
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.realdata import begin, recipe_data
from bench.lib.replay import replay_batches
from bench.lib.results import write_timings
from bench.lib.timing import interleaved_groups
from bench.reports import compiled as report
from ifan.manifest import load_manifest
from ifan.training.scheduler import Update
from ifan.training.trainer import Trainer

RECIPE = ROOT / "examples" / "faces3-cpu.toml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The data, the repetitions, the threads and where the results go."""
    parser = options.parser(__doc__)
    options.add_update_timing(parser, "compiled")
    return parser.parse_args(argv)


def trainers(data: Path, folder: Path) -> tuple[Trainer, Trainer]:
    """The eager trainer and the compiled one: the same weights, the same replayed batches."""
    manifest = load_manifest(RECIPE, [*recipe_data(data), "train.pretrain_epochs=0"])
    eager = Trainer(manifest, folder / "eager", progress_bars=False)
    compiled = Trainer(manifest, folder / "compiled", progress_bars=False)
    compiled.model.load_state_dict(eager.model.state_dict())
    replay_batches(eager, eager, 2)
    replay_batches(compiled, eager, 2)  # the very batches eager replays
    for trainer in (eager, compiled):
        trainer._start_finetuning()
    compiled.model.compile()
    return eager, compiled


def update(trainer: Trainer, task: str) -> Callable[[], Any]:
    """One stage-2 update of ``task`` by ``trainer``."""
    return lambda: trainer.step(Update(2, task, 1, False))


def first_updates(compiled: Trainer) -> dict[str, float]:
    """Seconds of the compiled trainer's first update of each task: the compile."""
    seconds = {}
    for task in compiled.names:
        start = time.perf_counter()
        update(compiled, task)()
        seconds[task] = round(time.perf_counter() - start, 1)
        print(f"compiled {task}: {seconds[task]} s", flush=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Compile, time both trainers, and write the results (or, with ``--report-only``, only the
    report)."""
    args = parse_args(argv)
    if (begun := begin(args, "compiled", report)) is None:
        return 0
    start, folder = begun
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(folder / "inductor")  # a cold compile
    eager, compiled = trainers(args.data, folder)
    compile_seconds = first_updates(compiled)
    cases = {
        f"{task} (batch {eager.manifest.tasks[task].batch_size})": {
            report.EAGER: update(eager, task),
            report.COMPILED: update(compiled, task),
        }
        for task in eager.names
    }
    seconds = interleaved_groups(cases, args.repeats, start)
    extra = {"compile_seconds": compile_seconds}
    write_timings(args, "compiled", argv, seconds, start, report, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
