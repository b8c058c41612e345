"""``ifan schema``: the JSON Schema of manifests, with every installed task's options."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ifan.cli.common import registry_from_args
from ifan.manifest import manifest_model


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the manifest JSON Schema (for editors)",
        description="Print the JSON Schema of manifests for the installed tasks, for editor "
        "completion and validation (e.g. with taplo or the YAML language server).",
    )
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    registry = registry_from_args(args)
    schema = manifest_model({n: e.cls for n, e in registry.tasks.items()}).model_json_schema()
    text = json.dumps(schema, indent=2) + "\n"
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0
