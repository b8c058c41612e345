"""``ifan validate MANIFEST``: exit 0 when the manifest is valid, else 2 with every problem."""

from __future__ import annotations

import argparse

from ifan.balancers import DEFAULT
from ifan.cli.common import add_manifest_arguments, manifest_from_args, registry_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check a manifest against the installed tasks",
        description="Check a manifest (and --set overrides) against the manifest schema and "
        "every installed task's options. Exit 0 when valid, 2 with every problem otherwise.",
    )
    add_manifest_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    manifest = manifest_from_args(args, registry_from_args(args))
    model = manifest.model
    print(f"{manifest.source}: valid")
    print(
        f"  model: backbone {model.backbone}, input {model.input_size}, iterations "
        f"{model.iterations}, batchnorm {model.batchnorm}, reencoder {model.reencoder}"
    )
    for name, task in manifest.tasks.items():
        splits = ", ".join(task.data.splits)
        print(
            f"  task {name}: format {task.data.format} ({splits}), batch {task.batch_size}, "
            f"loss weight {task.loss_weight:g}, tap {task.tap}"
        )
    balancer, loggers = manifest.balancer, manifest.train.loggers
    if balancer.provided.name != DEFAULT or loggers:  # said only when not the default
        options = ", ".join(f"{k} {v}" for k, v in balancer.options.model_dump().items())
        print(
            f"  train: balancer {balancer.provided.name}{f' ({options})' if options else ''}, "
            f"loggers {', '.join(loggers) or 'none'}"
        )
    return 0
