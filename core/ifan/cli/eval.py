"""``ifan eval RUN_OR_CHECKPOINT``: every task's scores on its test (or val) split."""

from __future__ import annotations

import argparse
from pathlib import Path

from ifan.cli.common import (
    add_set_argument,
    checkpoint_label,
    registry_from_args,
    warn_if_bf16_is_emulated,
    write_json,
)
from ifan.errors import IfanError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="score a trained network on every task's test or val split",
        description="Load a checkpoint (or a run folder's latest), rebuild its network from the "
        "manifest stored in it, and score every task on its own dataset's split. Prints each "
        "task's table as the paper does (landmarks: NME and failure rate per point; parsing: "
        "F-score per class and group; emotion: accuracy per class), in percent; --json writes "
        "the same values as fractions under <task>.<metric> keys.",
    )
    add_checkpoint_arguments(parser)
    parser.add_argument(
        "--split", choices=("val", "test"), default="test", help="the split to score (test)"
    )
    add_set_argument(
        parser,
        "override a value of the checkpoint's manifest, e.g. to score another dataset: "
        "--set tasks.landmarks.data.test=/data/aflw/test.csv (relative paths resolve against "
        "the manifest's folder, as in the manifest; repeatable)",
    )
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write {<task>.<metric>: fraction} to FILE"
    )
    parser.add_argument(
        "--pictures",
        type=Path,
        metavar="DIR",
        help="write the metrics' pictures (confusion matrices) as DIR/<task>_<name>.png",
    )
    parser.add_argument(
        "--by",
        metavar="KEY",
        help="also score the samples of each value of the integer target KEY apart, in every "
        "task whose samples have it: MTFL's pose (1 left profile to 5 right profile), gender, "
        "smile or glasses, a class task's label; --json adds <task>.<metric>[KEY=VALUE] keys",
    )
    parser.add_argument(
        "--batch-size",
        type=positive,
        metavar="N",
        help="images per batch (default: each task's own)",
    )
    parser.set_defaults(func=run)


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    """The checkpoint to load (shared with ``ifan predict`` and ``ifan export``)."""
    parser.add_argument(
        "checkpoint",
        metavar="RUN_OR_CHECKPOINT",
        type=Path,
        help="a run folder (its latest checkpoint) or a .safetensors checkpoint",
    )


def add_checkpoint_arguments(parser: argparse.ArgumentParser) -> None:
    """The checkpoint to load, the device and the precision to run it in (shared with
    ``ifan predict``)."""
    add_checkpoint_argument(parser)
    parser.add_argument(
        "--device", help="torch device, e.g. cpu or cuda:1 (default: the GPU if any, else cpu)"
    )
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast: about 2x faster on CPUs with AVX512-BF16 or AMX and on recent "
        "GPUs, outputs within about 1e-3 of float32; several times slower on a CPU without them "
        "(a warning says so)",
    )


def positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    from ifan.evaluation import evaluate, flat_json, group_json
    from ifan.evaluation_tables import format_group_tables, format_tables
    from ifan.inference import load

    registry = registry_from_args(args)
    predictor = load(args.checkpoint, args.device, args.overrides, registry, bf16=args.bf16)
    warn_if_bf16_is_emulated(predictor)
    bf16 = " in bfloat16" if predictor.bf16 else ""
    print(f"{checkpoint_label(predictor)}: {args.split} split on {predictor.device}{bf16}\n")
    with predictor.precision():
        results = evaluate(
            predictor.model, predictor.manifest, args.split, args.batch_size, by=args.by
        )
    if not results:
        hint = f"give one with --set tasks.<name>.data.{args.split}=PATH"
        if any("--split val" in why for why in results.skipped.values()):
            hint = f"score the validation split with --split val, or {hint}"
        raise IfanError(f"no task has a {args.split} split: {hint}")
    print(format_tables(results, predictor.manifest))
    if args.by:
        print("\n" + format_group_tables(results, predictor.manifest))
    if args.json:
        print()
        write_json(args.json, {**flat_json(results), **group_json(results)})
    if args.pictures:
        args.pictures.mkdir(parents=True, exist_ok=True)
        for task, pictures in results.pictures().items():
            for name, picture in pictures.items():
                path = args.pictures / f"{task}_{name}.png"
                picture.save(path)
                print(f"wrote {path}")
    return 0
