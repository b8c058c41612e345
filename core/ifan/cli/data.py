"""``ifan data MANIFEST``: what each task's dataset holds, per split, and what was skipped."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ifan.cli.common import (
    add_manifest_arguments,
    manifest_from_args,
    registry_from_args,
)
from ifan.data.bad_samples import left_out_summary
from ifan.data.dataset import RecordDataset, under_subsets
from ifan.data.errors import DatasetError
from ifan.data.splits import TaskSplits, open_splits
from ifan.progress import bar
from ifan.tables import format_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "data",
        help="count each task's samples per split, and what was skipped",
        description="Open every task's dataset as training would and report, per task and "
        "split, the number of samples, the classes or points, and the bad samples skipped "
        "(with on_bad_sample = 'skip') with their reasons.",
    )
    add_manifest_arguments(parser)
    parser.add_argument(
        "--scan",
        action="store_true",
        help="also decode every sample, to find images that are only broken inside",
    )
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="also build each split's prepared copy in the cache now (training builds it on "
        "first use otherwise)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    parser.add_argument(
        "--reasons", type=int, default=3, metavar="N", help="bad-sample reasons shown per split"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    manifest = manifest_from_args(args, registry_from_args(args))
    report: dict[str, Any] = {}
    rows = []
    for name, config in manifest.tasks.items():
        task = config.build_task()
        opened = open_splits(config, task, manifest, prepare=args.prepare)
        if args.scan:
            _scan(opened)
        labels = task.labels
        report[name] = {
            "format": config.data.format,
            "labels": {"kind": labels.kind, "names": list(labels.names)},
            "splits": {
                split: {
                    "samples": len(dataset),  # type: ignore[arg-type]
                    "skipped": opened.bad[split].count,
                    "reasons": opened.bad[split].reasons,
                    "left_out": opened.bad[split].left_out,
                    "source": opened.sources[split],
                    "crops": {
                        "detected": opened.crops[split].detected,
                        "points": opened.crops[split].fixed,
                        "fallback": len(opened.crops[split].fallback),
                        "fallback_faces": opened.crops[split].fallback,
                    },
                }
                for split, dataset in opened.datasets.items()
            },
        }
        for split, info in report[name]["splits"].items():
            crops = info["crops"]
            rows.append(
                [
                    name,
                    config.data.format,
                    split,
                    info["samples"],
                    info["skipped"],
                    crops["detected"],
                    crops["fallback"],
                    info["source"],
                ]
            )
    headers = ["task", "format", "split", "samples", "skipped", "detected", "fallback", "from"]
    print(format_table(headers, rows))
    print()
    for name, info in report.items():
        names = info["labels"]["names"]
        what = "points" if info["labels"]["kind"] == "points" else "classes"
        print(f"{name}: {len(names)} {what}: {', '.join(names)}")
        for split, counts in info["splits"].items():
            fallback = counts["crops"]["fallback_faces"]
            if fallback:
                print(f"  {split}: {len(fallback)} faces cropped by the fallback rule, e.g.")
                for reason in fallback[: args.reasons]:
                    print(f"    {reason}")
            if counts["skipped"]:
                print(f"  {split}: skipped {counts['skipped']} bad samples, e.g.")
                for reason in counts["reasons"][: args.reasons]:
                    print(f"    {reason}")
            if counts["left_out"]:
                print(f"  {split}: {left_out_summary(counts['left_out'])}, as the data table says")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 0


def _scan(opened: TaskSplits) -> None:
    """Decode every sample of every split; a bad one is raised or counted as the policy says."""
    for split, dataset in opened.datasets.items():
        records, indices = under_subsets(dataset)
        bad = opened.bad[split]
        for index in bar(indices, desc=f"scanning {opened.task} {split}", unit="image"):
            reason = _problem(records, index)
            if reason is not None:
                bad.report(DatasetError(reason))


def _problem(records: Dataset, index: int) -> str | None:
    """Why sample ``index`` cannot be loaded, or None."""
    if isinstance(records, RecordDataset):
        return records.check(index)
    try:
        records[index]
    except DatasetError as error:
        return str(error)
    return None
