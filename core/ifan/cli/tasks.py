"""``ifan tasks``: every installed task with its version, distribution and status."""

from __future__ import annotations

import argparse
import json

from ifan.cli.common import print_skipped, registry_from_args
from ifan.contract import CONTRACT_VERSION
from ifan.plugins import PluginRegistry, conflict_message
from ifan.tables import format_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tasks",
        help="list installed tasks and broken plugins",
        description="List the tasks provided by installed plugins (built-ins included), with "
        "the distribution and version that provides each, every plugin that was skipped, and "
        "those the IFAN_PLUGINS allow-list left out.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def rows(registry: PluginRegistry) -> list[dict[str, str]]:
    """One row per task name: usable tasks, then names claimed twice."""
    result = [
        {
            "task": entry.name,
            "version": entry.version,
            "distribution": entry.distribution,
            "contract": entry.cls.contract_version,
            "tap": entry.cls.default_tap,
            "formats": ", ".join(fmt.name for fmt in entry.cls.formats),
            "status": "ok",
        }
        for entry in sorted(registry.tasks.values(), key=lambda e: e.name)
    ]
    for name, entries in sorted(registry.conflicts.items()):
        result.append(
            {
                "task": name,
                "version": ", ".join(e.version for e in entries),
                "distribution": ", ".join(e.distribution for e in entries),
                "contract": ", ".join(e.cls.contract_version for e in entries),
                "tap": "",
                "formats": "",
                "status": "conflict: " + conflict_message(name, entries),
            }
        )
    return result


def run(args: argparse.Namespace) -> int:
    registry = registry_from_args(args, report=False)
    table = rows(registry)
    if args.json:
        report = {
            "contract": CONTRACT_VERSION,
            "tasks": table,
            "broken": [vars(b) for b in registry.broken],
            "allow_list": None if registry.allowed is None else sorted(registry.allowed),
            "left_out": sorted(registry.excluded),
        }
        print(json.dumps(report, indent=2))
        return 0
    headers = ["task", "version", "distribution", "contract", "tap", "formats", "status"]
    print(format_table(headers, [[row[h] for h in headers] for row in table]))
    if not table:
        print("(no tasks loaded)")
    print_skipped(registry)
    return 0
