"""``ifan compare RUN... --baseline RUN...``: runs side by side, Δm against baselines, a gate."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ifan.cli.common import add_tasks_argument, registry_from_args, write_json
from ifan.errors import IfanError

GATE_FAILED = 1
"""The exit status when ``--gate`` finds a task worse than its baseline beyond the tolerance."""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare runs' metrics, with Δm against baselines and a gate",
        description="Show runs' metrics on a split side by side (each task's main value, then "
        "per class or point) and, against baseline runs, each task's relative change of its "
        "main value (+ is better, whichever way the metric goes) and Δm, their mean (Maninis et "
        "al. 2019). A baseline covers the tasks it was trained on; several single-task "
        "baselines cover a multi-task run. The scores are each run's latest validation records "
        "in its metrics.jsonl; --evaluate scores the latest checkpoints now instead (needed for "
        "--split test, which training never scores). Exits 1 when --gate finds a task worse "
        "than its baseline beyond the tolerance, 2 on bad input.",
    )
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run folders")
    parser.add_argument(
        "--baseline",
        dest="baselines",
        nargs="+",
        action="extend",
        default=[],
        type=Path,
        metavar="RUN",
        help="baseline run folders, after the runs: one for each task compared",
    )
    parser.add_argument(
        "--split", choices=("val", "test"), default="val", help="the split to compare on (val)"
    )
    add_tasks_argument(parser, "compare only these tasks (e.g. those a baseline has)")
    parser.add_argument(
        "--evaluate",
        action="store_true",
        help="score each run's latest checkpoint on the split now, as ifan eval does (needs "
        "the runs' data), instead of reading its metrics.jsonl",
    )
    parser.add_argument("--device", help="torch device for --evaluate (default: a GPU if any)")
    parser.add_argument(
        "--gate",
        type=tolerance,
        metavar="TOLERANCE",
        help="exit 1, naming the task, when a run's main value of a task is worse than its "
        "baseline's by more than this fraction (0.02: 2 %%)",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the comparison as JSON")
    parser.add_argument(
        "--plot", type=Path, metavar="FILE", help="draw the relative changes as a PNG bar chart"
    )
    parser.set_defaults(func=run)


def tolerance(text: str) -> float:
    """An argparse type: a relative tolerance, a fraction from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"expected a fraction from 0 to 1 (0.02 allows 2 % worse), got {text!r}"
        )
    return value


def run(args: argparse.Namespace) -> int:
    from ifan.comparison import (
        RunScores,
        compare,
        evaluate_scores,
        format_comparison,
        read_scores,
    )

    if args.device and not args.evaluate:
        raise IfanError("--device is for --evaluate: without it, nothing is scored")
    needs = {"--gate compares runs": args.gate is not None, "--plot draws changes": args.plot}
    for what, given in needs.items():
        if given and not args.baselines:
            raise IfanError(f"{what} against baselines: give --baseline RUN...")
    registry = registry_from_args(args) if args.evaluate else None

    def scores(path: Path) -> RunScores:
        if registry is None:
            return read_scores(path, args.split)
        return evaluate_scores(path, args.split, args.device, registry, progress=True)

    comparison = compare(
        [scores(path) for path in args.runs], [scores(path) for path in args.baselines], args.only
    )
    print(format_comparison(comparison))
    if args.json or args.plot:
        print()
    if args.json:
        write_json(args.json, comparison.to_json(args.gate))
    if args.plot:
        from ifan.plots import plot_changes

        plot_changes(comparison.relative_changes(), args.plot, args.gate)
        print(f"wrote {args.plot}")
    if args.gate is None:
        return 0
    failures = comparison.gate(args.gate)
    for failure in failures:
        print(f"gate failed: {failure.message()}", file=sys.stderr)
    if failures:
        return GATE_FAILED
    print(f"\ngate passed: no task is worse than its baseline by more than {100 * args.gate:.2f} %")
    return 0
