"""``ifan train MANIFEST`` and ``ifan train --resume RUN_DIR``: cross-dataset hybrid training."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ifan.cli.common import (
    add_set_argument,
    add_tasks_argument,
    manifest_from_args,
    registry_from_args,
)
from ifan.errors import IfanError
from ifan.training.checkpoint import latest_checkpoint
from ifan.training.run import CURVES, HISTORY, manifest_from_meta, open_checkpoint


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the manifest's network (Algorithm 1), or resume a run",
        description="Train every task of a manifest on its own dataset: task-wise pre-training, "
        "then batch-wise alternating fine-tuning. Checkpoints, metrics.jsonl and curves.png go "
        "to the run folder. Under torchrun, every process trains a shard of each batch.",
    )
    parser.add_argument("manifest", metavar="MANIFEST", nargs="?", help="a .toml or .yaml file")
    add_set_argument(
        parser,
        "override a manifest value, e.g. --set train.finetune_epochs=5 (repeatable)",
    )
    add_tasks_argument(parser)
    parser.add_argument("--out", type=Path, metavar="DIR", help="the run folder")
    parser.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="continue a run from its last checkpoint"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ifan.training.trainer import Trainer

    registry = registry_from_args(args)
    checkpoint = None
    if args.resume is not None:
        if args.manifest is not None or args.overrides or args.only is not None:
            raise IfanError(
                "--resume continues a run as it was: give no MANIFEST, --set or --tasks"
            )
        checkpoint = open_checkpoint(args.resume)
        manifest = manifest_from_meta(checkpoint.meta, [], registry)
        run_dir = args.resume
    elif args.manifest is None:
        raise IfanError("give a MANIFEST to train, or --resume RUN_DIR")
    else:
        manifest = manifest_from_args(args, registry)
        run_dir = args.out or manifest.train.out_dir / (
            f"{manifest.source.stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        if latest_checkpoint(Path(run_dir)) is not None:
            raise IfanError(
                f"{run_dir} already holds a run: continue it with --resume {run_dir}, or give "
                "another --out"
            )
    start = time.perf_counter()
    trainer = Trainer(manifest, run_dir, checkpoint, progress_bars=not args.quiet)
    if trainer.procs.main:
        what = f"resuming at update {trainer.progress.step}" if checkpoint else "training"
        world = trainer.procs.world
        together = f" ({world} processes)" if world > 1 else ""
        print(f"{what}: {', '.join(trainer.names)} -> {run_dir}{together}")
    trainer.fit()
    trainer.close()
    if trainer.procs.main:
        seconds = time.perf_counter() - start
        print(f"done: {trainer.progress.step} updates in {seconds:.0f} s")
        print(f"  checkpoints: {run_dir / 'checkpoints'}")
        print(f"  metrics:     {run_dir / HISTORY}")
        print(f"  curves:      {run_dir / CURVES}")
    return 0
