"""``ifan data MANIFEST``: what each task's dataset holds, per split, and what was skipped."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from ifan.cli.common import (
    add_manifest_arguments,
    manifest_from_args,
    registry_from_args,
    write_json,
)
from ifan.contract import Split
from ifan.data.bad_samples import left_out_summary, skipped
from ifan.data.dataset import RecordDataset, dataset_size, under_subsets
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
        scanned = _scan(opened) if args.scan else {}
        labels = task.labels
        report[name] = {
            "format": config.data.format,
            "labels": {"kind": labels.kind, "names": list(labels.names)},
            "splits": {split: _split_report(opened, split, scanned) for split in opened.datasets},
        }
        for split, info in report[name]["splits"].items():
            crops = info["crops"]
            counts = [info["samples"], info["skipped"]]
            if args.scan:
                counts.append(info["scanned"])
            counts += [crops.get("detected", "-"), crops.get("fallback", "-")]
            rows.append([name, config.data.format, split, *counts, info["source"]])
    headers = ["task", "format", "split", "samples", "skipped"]
    headers += ["scanned"] if args.scan else []
    headers += ["detected", "fallback", "from"]
    print(format_table(headers, rows))
    print()
    for name, info in report.items():
        names = info["labels"]["names"]
        what = "points" if info["labels"]["kind"] == "points" else "classes"
        print(f"{name}: {len(names)} {what}: {', '.join(names)}")
        for split, counts in info["splits"].items():
            fallback = counts["crops"].get("fallback_faces")
            if fallback:
                print(f"  {split}: {len(fallback)} faces cropped by the fallback rule, e.g.")
                for reason in fallback[: args.reasons]:
                    print(f"    {reason}")
            if counts["skipped"]:
                print(f"  {split}: {skipped(counts['skipped'])}, e.g.")
                for reason in counts["reasons"][: args.reasons]:
                    print(f"    {reason}")
            if counts["left_out"]:
                print(f"  {split}: {left_out_summary(counts['left_out'])}, as the data table says")
    if args.json:
        print()
        write_json(args.json, report)
    return 0


def _split_report(opened: TaskSplits, split: Split, scanned: dict[Split, Scan]) -> dict[str, Any]:
    """One split's counts: ``samples`` the good ones (those a scan found bad are ``skipped``),
    ``scanned`` how many were decoded (None without ``--scan``), and how its faces were
    cropped; a split carved out of another shares that one's crop counts, which are given once,
    there (``crops`` is then ``{"counted_with": "train"}``)."""
    bad, crops = opened.bad[split], opened.crops[split]
    scan = scanned.get(split)
    owner = next(other for other, report in opened.crops.items() if report is crops)
    return {
        "samples": dataset_size(opened.datasets[split]) - (scan.bad if scan else 0),
        "skipped": bad.count,
        "scanned": scan.samples if scan else None,
        "reasons": bad.reasons,
        "left_out": bad.left_out,
        "source": opened.sources[split],
        "crops": {"counted_with": owner}
        if owner != split
        else {
            "detected": crops.detected,
            "points": crops.fixed,
            "fallback": len(crops.fallback),
            "fallback_faces": crops.fallback,
        },
    }


@dataclass(frozen=True)
class Scan:
    """What ``--scan`` found in one split: samples decoded, and how many of them were bad."""

    samples: int
    bad: int


def _scan(opened: TaskSplits) -> dict[Split, Scan]:
    """Decode every sample of every split; a bad one is raised (naming the task's split, as an
    error found on opening it does) or counted, as the policy says."""
    found = {}
    for split, dataset in opened.datasets.items():
        records, indices = under_subsets(dataset)
        bad = opened.bad[split]
        count = 0
        for index in bar(indices, desc=f"scanning {opened.task} {split}", unit="image"):
            reason = _problem(records, index)
            if reason is None:
                continue
            try:
                bad.report(DatasetError(reason))
            except DatasetError as error:
                raise DatasetError(f"tasks.{opened.task}.data.{split}: {error}") from None
            count += 1
        found[split] = Scan(len(indices), count)
    return found


def _problem(records: Dataset, index: int) -> str | None:
    """Why sample ``index`` cannot be loaded, or None."""
    if isinstance(records, RecordDataset):
        return records.check(index)
    try:
        records[index]
    except DatasetError as error:
        return str(error)
    return None
