"""``ifan new-task NAME [--kind KIND]``: a task plugin project that installs and passes the
conformance suite."""

from __future__ import annotations

import argparse
from pathlib import Path

from ifan.cli.common import registry_from_args
from ifan.errors import IfanError
from ifan.scaffold import DEFAULT_KIND, KINDS, new_task


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "new-task",
        help="create a task plugin project to start from",
        description="Create the folder ifan-task-NAME: a plugin distribution whose task is a "
        "small working example of its kind of label (read from a CSV file), with its entry "
        "point, a README and tests that run ifan's conformance suite. It installs and passes "
        "as it is.",
    )
    parser.add_argument("name", help="the task's name, a lower-case identifier (e.g. smile)")
    parser.add_argument(
        "--kind",
        choices=list(KINDS),
        default=DEFAULT_KIND,
        help="the kind of label: class (a class per face: softmax re-encoder, balanced "
        "accuracy, confusion matrix), points (points per face, moved with the face by "
        "augmentation), mask (a class per pixel), value (a number per face; the default)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("."),
        help="the folder to create ifan-task-NAME in (default: the current folder)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    registry = registry_from_args(args)
    if args.name in registry.tasks or args.name in registry.conflicts:
        owners = [registry.tasks[args.name]] if args.name in registry.tasks else []
        owners += registry.conflicts.get(args.name, [])
        who = ", ".join(f"{e.distribution} {e.version}" for e in owners)
        raise IfanError(
            f"a task called {args.name!r} is already installed (from {who}); two tasks of one "
            "name conflict, so choose another name"
        )
    root = new_task(args.name, args.dir, args.kind)
    print(f"created {root}:")
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        print(f"  {path.relative_to(root)}")
    print(f"\nnext:\n  cd {root}\n  pip install -e '.[test]'\n  pytest")
    return 0
