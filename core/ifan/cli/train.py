"""``ifan train MANIFEST`` and ``ifan train --resume RUN_DIR``: cross-dataset hybrid training."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ifan.cli.common import (
    add_set_argument,
    add_tasks_argument,
    manifest_from_args,
    registry_from_args,
)
from ifan.cli.eval import positive
from ifan.errors import IfanError
from ifan.network.precision import precision_line
from ifan.pretrained import resolve_model
from ifan.runs.layout import CURVES, HISTORY, latest_checkpoint
from ifan.runs.meta import open_checkpoint
from ifan.training.resume import resume_manifest

if TYPE_CHECKING:
    from ifan.training.trainer import Trainer


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the manifest's network (Algorithm 1), or resume a run",
        description="Train every task of a manifest on its own dataset: task-wise pre-training, "
        "then batch-wise alternating fine-tuning. Checkpoints, metrics.jsonl and curves.png go "
        "to the run folder. Under torchrun, every process trains a shard of each batch. Ctrl-C "
        "or SIGTERM stops after the update under way and checkpoints it (exit 130 or 143); "
        "--resume goes on from there.",
    )
    parser.add_argument("manifest", metavar="MANIFEST", nargs="?", help="a .toml or .yaml file")
    add_set_argument(
        parser,
        "override a manifest value, e.g. --set train.finetune_epochs=5 (repeatable); with "
        "--resume, only what keeps the run sound: more or fewer epochs ahead of where it is, "
        "device, workers, threads, checkpointing, patience, bf16, loggers",
    )
    add_tasks_argument(parser)
    parser.add_argument("--out", type=Path, metavar="DIR", help="the run folder")
    parser.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="continue a run from its last checkpoint"
    )
    parser.add_argument(
        "--init-from",
        metavar="RUN",
        help="start the weights that match (by name and shape: the backbone, the tasks both "
        "have) from RUN's latest checkpoint, a checkpoint file or an installed model; the rest "
        "fresh",
    )
    parser.add_argument(
        "--device", help="train.device: auto, cpu, cuda or one GPU, e.g. cuda:1 (default: auto)"
    )
    parser.add_argument("--seed", type=int, metavar="N", help="train.seed")
    parser.add_argument(
        "--threads", type=positive, metavar="N", help="train.threads: CPU threads of the process"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def flag_overrides(args: argparse.Namespace) -> list[str]:
    """``--device``, ``--seed`` and ``--threads`` as the ``--set`` overrides they stand for."""
    flags = {"device": args.device, "seed": args.seed, "threads": args.threads}
    return [f"train.{key}={json.dumps(value)}" for key, value in flags.items() if value is not None]


def run(args: argparse.Namespace) -> int:
    from ifan.training.stop_request import StopRequest
    from ifan.training.trainer import Trainer

    registry = registry_from_args(args)
    args.overrides = [*args.overrides, *flag_overrides(args)]  # the flags are --set shorthands
    checkpoint = start = None
    if args.resume is not None:
        if args.manifest is not None or args.only is not None or args.init_from is not None:
            raise IfanError(
                "--resume continues a run with its own manifest and tasks: give no MANIFEST, "
                "--tasks or --init-from"
            )
        checkpoint = open_checkpoint(args.resume)
        manifest = resume_manifest(checkpoint.meta, args.overrides, registry)
        run_dir = args.resume
    elif args.manifest is None:
        raise IfanError("give a MANIFEST to train, or --resume RUN_DIR")
    else:
        manifest = manifest_from_args(args, registry)
        if args.init_from is not None:
            start = open_checkpoint(resolve_model(args.init_from, registry))
        run_dir = args.out or manifest.train.out_dir / (
            f"{manifest.source.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        if latest_checkpoint(Path(run_dir)) is not None:
            raise IfanError(
                f"{run_dir} already holds a run: continue it with --resume {run_dir}, or give "
                "another --out"
            )
    begun = time.perf_counter()
    trainer = Trainer(manifest, run_dir, checkpoint, progress_bars=not args.quiet, init_from=start)
    if trainer.procs.main:
        _print_start(trainer, args, run_dir)
    with StopRequest() as stop:
        trainer.fit(stop=stop)
    trainer.close()
    if trainer.signalled is not None:
        if trainer.procs.main:
            print(
                f"stopped by {stop.name} after update {trainer.progress.step}, its checkpoint "
                f"written: continue with `ifan train --resume {run_dir}`"
            )
        return 128 + trainer.signalled
    if trainer.procs.main:
        seconds = time.perf_counter() - begun
        print(f"done: {trainer.progress.step} updates in {seconds:.0f} s")
        best = trainer.best_message()
        if best is not None:
            print(best)
        print(f"  checkpoints: {run_dir / 'checkpoints'}")
        print(f"  metrics:     {run_dir / HISTORY}")
        print(f"  curves:      {run_dir / CURVES}")
    return 0


def _print_start(trainer: Trainer, args: argparse.Namespace, run_dir: Path) -> None:
    """What the run starts from: a checkpoint and the changes made on resume, or the weights
    taken from another run."""
    if trainer.inherited is not None:
        print("\n".join(trainer.inherited.lines()))
    what = "training"
    if args.resume is not None:
        changed = f" with {', '.join(args.overrides)}" if args.overrides else ""
        what = f"resuming at update {trainer.progress.step}{changed}"
    world = trainer.procs.world
    together = f" ({world} processes)" if world > 1 else ""
    print(f"{what}: {', '.join(trainer.names)} -> {run_dir}{together}")
    if trainer.config.bf16 is not False:
        print(f"precision: {precision_line(trainer.config.bf16, trainer.procs.device)}")
