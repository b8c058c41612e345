"""``ifan plugins``: every plugin loaded from the ``ifan`` entry points, and the broken ones."""

from __future__ import annotations

import argparse

from ifan.cli.common import print_skipped, registry_from_args
from ifan.tables import format_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list loaded plugins, their hooks and tasks",
        description="List every plugin found through the 'ifan' entry-point group (built-ins "
        "included), the distribution that ships it, the hooks it implements and the tasks it "
        "provides; then the plugins that were skipped, with the reason.",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    registry = registry_from_args(args, report=False)
    provided: dict[str, list[str]] = {}
    for entry in registry.tasks.values():
        provided.setdefault(entry.plugin, []).append(entry.name)
    for name, entries in registry.conflicts.items():
        for entry in entries:
            provided.setdefault(entry.plugin, []).append(f"{name} (conflict)")
    rows = [
        [
            p.plugin,
            p.distribution,
            p.version,
            ", ".join(p.hooks) or "-",
            ", ".join(sorted(provided.get(p.plugin, []))) or "-",
        ]
        for p in sorted(registry.plugins, key=lambda p: p.plugin)
    ]
    print(format_table(["plugin", "distribution", "version", "hooks", "tasks"], rows))
    print_skipped(registry)
    return 0
