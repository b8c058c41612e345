"""``ifan models``: the pretrained models that installed plugins ship, and where they come from."""

from __future__ import annotations

import argparse
import json

from ifan.cli.common import registry_from_args
from ifan.pretrained import installed_models
from ifan.tables import format_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list installed pretrained models",
        description="List the pretrained models shipped by installed plugins (the ifan_models "
        "hook): each name works wherever a run folder does (ifan predict NAME photo.jpg, ifan "
        "eval NAME, ifan.load('NAME')). Shows the distribution that ships it, its tasks and "
        "input size (read from the weights file), where its files and model card are, and the "
        "manifest it was trained from.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ifan.runs.meta import open_checkpoint

    registry = registry_from_args(args)
    rows = []
    for name, entry in sorted(installed_models(registry).items()):
        model = entry.model
        source = str(model.manifest) if model.manifest else "-"
        try:
            meta = open_checkpoint(model.weights).meta
            manifest = meta["manifest"]
            tasks = ", ".join(manifest.get("tasks", {}))
            size = str(manifest.get("model", {}).get("input_size", 128))
            if model.manifest is None:  # the weights hold it; say where it was trained from
                source = f"in the weights (trained from {meta['manifest_path']})"
        except Exception as exc:  # listed with the reason, never hiding the other models
            tasks, size = f"unreadable weights: {exc}", "-"
        rows.append(
            {
                "name": name,
                "distribution": f"{entry.distribution} {entry.version}",
                "tasks": tasks,
                "input": size,
                "weights": str(model.weights),
                "card": str(model.card),
                "manifest": source,
                "summary": model.summary,
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no pretrained models installed (a plugin ships them through the ifan_models hook)")
        note = registry.allow_list_note()  # the models may be there, left out by IFAN_PLUGINS
        if note:
            print("\n".join([f"\n{note[0]}", *(f"  {line}" for line in note[1:])]))
        return 0
    print(
        format_table(
            ["name", "distribution", "tasks", "input", "summary"],
            [[r["name"], r["distribution"], r["tasks"], r["input"], r["summary"]] for r in rows],
        )
    )
    for r in rows:
        print(f"{r['name']}: weights {r['weights']}\n  card {r['card']}")
    return 0
