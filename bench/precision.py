"""What bfloat16 autocast costs the recipe's network on this CPU, with its grouped convolutions in
bfloat16 (before) or in float32 (now, :mod:`ifan.network.precision`), against float32 throughout.

Times, interleaved (every repetition runs every variant once, in a fresh random order):

- the ``mobilenetv3_small_100`` encoder alone: forward and backward of a batch of random faces;
- the recipe's stage-2 updates (``examples/faces3-cpu.toml`` on the real datasets, one
  interaction iteration), one per task, on batches read once and replayed from memory (so only
  the model's cost is timed); emotion at the batch of steps 1 and 2 (64) and of the later steps
  (128).

The "before" variant is the same network with its grouped convolutions turned back into plain
``nn.Conv2d`` (what every timm encoder was until this change). Writes
``bench/results/precision.json`` and ``bench/results/precision.md`` (``--name`` for another
machine's: ``precision-xeon`` is the same on an Intel Xeon with AMX, ``precision-avx2`` on an
AVX2-only AMD EPYC, where bfloat16 is emulated).

    .venv/bin/python -m bench.precision --threads 2
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

import timm
import torch
from torch import nn

from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.realdata import begin, recipe_data
from bench.lib.replay import replay_batches
from bench.lib.results import write_timings
from bench.lib.timing import interleaved_groups
from bench.reports import precision as report
from ifan.manifest import load_manifest
from ifan.network.precision import CpuFloat32Conv2d, grouped_convolutions_in_float32
from ifan.training.scheduler import Update
from ifan.training.trainer import Trainer

RECIPE = ROOT / "examples" / "faces3-cpu.toml"
BEFORE = "bf16, grouped convolutions in bf16 (before)"
NOW = "bf16, grouped convolutions in float32 (now)"
FLOAT32 = "float32 throughout"
VARIANTS = {BEFORE: True, NOW: True, FLOAT32: False}  # variant -> bf16 autocast


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The data, the encoder's batch, the repetitions, the threads and where the results go."""
    parser = options.parser(__doc__)
    parser.add_argument("--batch", type=int, default=128, help="the encoder's batch (128)")
    options.add_update_timing(parser, "precision")
    return parser.parse_args(argv)


def grouped_back_to_bf16(model: nn.Module) -> None:
    """Undo :func:`grouped_convolutions_in_float32`: the network as it was before."""
    for layer in model.modules():
        if type(layer) is CpuFloat32Conv2d:
            layer.__class__ = nn.Conv2d


def encoder_cases(args: argparse.Namespace) -> dict[str, Callable[[], Any]]:
    """The encoder's forward and backward, per variant."""
    torch.manual_seed(0)
    images = torch.rand(args.batch, 3, 64, 64).contiguous(memory_format=torch.channels_last)
    cases = {}
    for variant, bf16 in VARIANTS.items():
        encoder = timm.create_model("mobilenetv3_small_100", features_only=True)
        encoder = encoder.to(memory_format=torch.channels_last)
        if variant != BEFORE:
            grouped_convolutions_in_float32(encoder)

        def run(encoder=encoder, bf16=bf16):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = sum(f.float().mean() for f in encoder(images))
            loss.backward()

        cases[variant] = run
    return cases


def update_cases(args: argparse.Namespace, folder: Path) -> dict[str, dict[str, Callable]]:
    """Timed stage-2 updates per (task, batch) and variant."""
    base = [*recipe_data(args.data), "train.pretrain_epochs=0"]
    cases: dict[str, dict[str, Callable[[], Any]]] = {}
    for emotion_batch in (64, 128):
        sizes = [*base, f"tasks.emotion.batch_size={emotion_batch}"]
        source = Trainer(load_manifest(RECIPE, sizes), folder / f"src{emotion_batch}",
                         progress_bars=False)  # fmt: skip
        for variant, bf16 in VARIANTS.items():
            run = Trainer(
                load_manifest(RECIPE, [*sizes, f"train.bf16={bf16}"]),
                folder / f"{emotion_batch}-{len(cases)}-{variant[:4]}",
                progress_bars=False,
            )
            if variant == BEFORE:
                grouped_back_to_bf16(run.model)
            replay_batches(run, source, 2)
            run._start_finetuning()
            tasks = run.names if emotion_batch == 64 else ["emotion"]
            for task in tasks:
                batch = run.manifest.tasks[task].batch_size
                cases.setdefault(f"{task} (batch {batch})", {})[variant] = (
                    lambda run=run, task=task: run.step(Update(2, task, 1, False))
                )
    return cases


def main(argv: list[str] | None = None) -> int:
    """Time every variant and write the results (or, with ``--report-only``, only the report)."""
    args = parse_args(argv)
    if (begun := begin(args, "precision", report)) is None:
        return 0
    start, folder = begun
    groups = {f"encoder alone (batch {args.batch})": encoder_cases(args)}
    groups.update(update_cases(args, folder))
    seconds = interleaved_groups(groups, args.repeats, start)
    write_timings(args, "precision", argv, seconds, start, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
