"""``ifan probe --target [RUN:]TASK --source RUN:TASK ...``: how well each target task is learned
from each source's frozen features, from its own and from all of them fused."""

from __future__ import annotations

import argparse
from pathlib import Path

from ifan.cli.common import registry_from_args, write_json
from ifan.cli.eval import positive


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="train a target task's head on other tasks' frozen features: the fusion matrix",
        description="For each target task B, train B's head on the frozen features (ifan "
        "features) of each source task, on B's own features (row 'own': those of the run B "
        "comes from) and on all of them side by side (row 'fused'), on B's train split, and "
        "score each on B's test split (or --split) with B's own metric (its main value: "
        "accuracy, MAE for age). The faces and labels are B's dataset as its run's manifest "
        "gives them; each source's features are computed on them with that source's own crop "
        "rule and batch norm. Prints the matrix (rows: feature sources, columns: targets; '*' "
        "marks each column's best) and writes it with every metric value to --json. Any task "
        "whose label is a class or a value can be a target. docs/features.md explains it.",
    )
    parser.add_argument(
        "--target",
        dest="targets",
        action="append",
        required=True,
        metavar="[RUN:]TASK",
        help="a task to learn (a column): RUN:TASK, or TASK of the one source run that has it "
        "(repeatable)",
    )
    parser.add_argument(
        "--source",
        dest="sources",
        action="append",
        default=[],
        metavar="RUN:TASK",
        help="features to learn from (a row): a task of a run folder, checkpoint or pretrained "
        "model (repeatable)",
    )
    parser.add_argument(
        "--split",
        choices=("val", "test"),
        default="test",
        help="the split to score on (test); heads learn on the train split",
    )
    parser.add_argument(
        "--head",
        choices=("linear", "mlp"),
        default="linear",
        help="linear: one linear layer; mlp: the target decoder's hidden layer (Linear, batch "
        "norm, ReLU) before it (linear)",
    )
    parser.add_argument(
        "--epochs", type=positive, default=30, metavar="N", help="epochs of each head (30)"
    )
    parser.add_argument(
        "--batch-size", type=positive, default=64, metavar="N", help="faces per step (64)"
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=3e-3,
        metavar="LR",
        help="Adam's learning rate, decayed along a cosine to 0 (3e-3)",
    )
    parser.add_argument(
        "--weight-decay", type=float, default=0.0, metavar="W", help="Adam's weight decay (0)"
    )
    parser.add_argument(
        "--hidden",
        type=positive,
        metavar="N",
        help="width of the mlp head (default: the target decoder's hidden width)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the heads (0)")
    parser.add_argument(
        "--json", type=Path, metavar="FILE", help="write the matrix and every value to FILE"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep the extracted features in DIR as ifan features files and reuse them next "
        "time (a file of other weights is refused)",
    )
    parser.add_argument(
        "--extract-batch-size",
        type=positive,
        default=32,
        metavar="N",
        help="faces per batch when extracting features (32)",
    )
    parser.add_argument(
        "--device",
        help="torch device of the extraction, e.g. cpu or cuda:1 (default: the GPU if any, else "
        "cpu); heads train on the cpu",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ifan.probing.matrix import probe

    registry = registry_from_args(args)
    result = probe(
        args.targets,
        args.sources,
        split=args.split,
        head=args.head,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        hidden=args.hidden,
        seed=args.seed,
        extract_batch_size=args.extract_batch_size,
        device=args.device,
        cache=args.cache,
        registry=registry,
    )
    print(result.table())
    if args.json:
        print()
        write_json(args.json, result.to_json())
    return 0
