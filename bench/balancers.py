"""Loss balancers on the real-data recipe: ``examples/faces3-cpu.toml`` (MTFL landmarks, FASSEG V3
parsing, FER2013 emotion) trained once per balancer on a short schedule, everything else alike,
and their validation scores compared with ``fixed``'s: each task's main value and Δm, the mean
sign-corrected relative change (``ifan compare``'s arithmetic, :mod:`ifan.comparison`).

    .venv/bin/python -m bench.balancers                 # 4 balancers, about 40 minutes on 2 cores
    .venv/bin/python -m bench.balancers --report-only   # the tables from what --work holds

About 10 minutes a balancer on this project's 2-core machine (stage 1's 644 updates, then 400
alternating rounds at 0.84 s), once the splits are prepared in the cache. Every run is ``ifan
train`` in its own folder, ``WORK/<balancer>/`` (a finished run is not trained again, a stopped
one is resumed; ``WORK/settings.json`` keeps runs of other settings apart), with the CSV logger
on, so that each epoch's loss weights are read from ``csv/epochs.csv``. Stage 1 does not depend
on the balancer, so the runs must agree on it bit for bit: the report says whether they did.
Writes ``OUT/balancers.{json,md}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any

from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.realdata import check_real_data
from bench.lib.results import header, write_results
from bench.lib.runs import has_checkpoints, ifan_environment, load_json, run_ifan
from bench.reports import balancers as report
from ifan.comparison import compare, read_scores
from ifan.runs.history import read_history

MANIFEST = ROOT / "examples" / "faces3-cpu.toml"
BALANCERS = ("fixed", "uncertainty", "dwa", "gradnorm")
BASELINE = "fixed"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The balancers, the short schedule, the runs' folder and where the report goes."""
    parser = options.parser(__doc__)
    options.add_data(parser)
    parser.add_argument(
        "--balancers",
        nargs="+",
        default=list(BALANCERS),
        metavar="NAME",
        help=f"balancers to train; the first is the baseline ({BASELINE})",
    )
    parser.add_argument("--pretrain-epochs", type=int, default=1, metavar="N")
    parser.add_argument(
        "--finetune-epochs",
        type=int,
        default=4,
        metavar="N",
        help="stage-2 epochs (DWA's weights move from the third)",
    )
    parser.add_argument(
        "--rounds", type=int, default=100, metavar="N", help="rounds of a stage-2 epoch"
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="another setting for every run (repeatable)",
    )
    options.add_threads(parser, 2, "torch threads of each training (0: torch's default)")
    options.add_work(parser, ROOT / "build" / "bench-balancers", "the runs (resumable)")
    options.add_out(parser)
    options.add_name(parser, "balancers")
    options.add_report_only(parser, "train nothing: write the report from the runs in --work")
    return parser.parse_args(argv)


def settings(args: argparse.Namespace) -> list[str]:
    """The ``--set`` values every run shares: the recipe's paths moved to ``--data``, the short
    schedule with a cosine decay, the CSV logger, and ``--set``."""
    data = args.data.resolve()
    return [
        f"tasks.parsing.data.train={data}/fasseg/V3/Train_RGB",
        f"tasks.landmarks.data.train={data}/mtfl/training.txt",
        f"tasks.emotion.data.train={data}/fer2013/train",
        f"tasks.emotion.data.val={data}/fer2013/test",
        f"train.pretrain_epochs={args.pretrain_epochs}",
        f"train.finetune_epochs={args.finetune_epochs}",
        f"train.finetune_rounds={args.rounds}",
        "train.lr_decay=cosine",  # the recipe's exponential decay would idle a short stage 2
        'train.loggers=["csv"]',
        *args.settings,
    ]


def train(name: str, args: argparse.Namespace) -> float | None:
    """Train (or resume) the run of balancer ``name``; its seconds, None when it was done."""
    run = args.work / name
    log = args.work / f"{name}.log"
    if finished(run):
        return None
    if has_checkpoints(run):
        command = ["train", "--resume", str(run), "--quiet"]
    else:
        chosen = [*settings(args), f"train.balancer.name={name}"]
        command = ["train", str(MANIFEST), "--out", str(run), "--quiet"]
        command += [f"--set={setting}" for setting in chosen]
    if args.threads:
        command += ["--threads", str(args.threads)]
    print(f"  {name}: ifan {' '.join(command[:2])} ... (log: {log})", flush=True)
    return run_ifan(command, ifan_environment(args.threads), log)


def finished(run: Path) -> bool:
    """Whether the run logged its end (``csv/runs.csv``)."""
    path = run / "csv" / "runs.csv"
    if not path.exists():
        return False
    with path.open(newline="") as file:
        return any(row["event"] in ("end", "stopped-early") for row in csv.DictReader(file))


def last_weights(run: Path) -> dict[str, float]:
    """Each task's loss weight in the last stage-2 epoch (``csv/epochs.csv``)."""
    with (run / "csv" / "epochs.csv").open(newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["stage"] == "2"]
    return {row["task"]: float(row["weight"]) for row in rows}


def stage_1(run: Path) -> list[tuple[str, dict[str, Any]]]:
    """The stage-1 validations of a run's ``metrics.jsonl``."""
    records = read_history(run / "metrics.jsonl")
    return [(r["task"], r["metrics"]) for r in records if r["kind"] == "val" and r["stage"] == 1]


def measure(args: argparse.Namespace, seconds: dict[str, float]) -> dict[str, Any]:
    """Every run's validation scores, Δm against the baseline, weights and time."""
    baseline, *others = args.balancers
    scores = {name: read_scores(args.work / name, "val") for name in args.balancers}
    comparison = compare([scores[n] for n in others], [scores[baseline]])
    runs = {}
    for name in args.balancers:
        tasks = scores[name].tasks
        change = comparison.changes.get(name)
        runs[name] = {
            "main": {task: {"metric": s.main, "value": s.main_value} for task, s in tasks.items()},
            "higher_is_better": {task: s.higher_is_better for task, s in tasks.items()},
            "relative": {t: c.relative for t, c in change.tasks.items()} if change else {},
            "delta_m": change.delta_m if change else None,
            "weights": last_weights(args.work / name),
            "seconds": seconds.get(name),
        }
    first = stage_1(args.work / baseline)
    same = [name for name in others if stage_1(args.work / name) == first]
    return {
        **header(args.threads or os.cpu_count() or 1),
        "manifest": str(MANIFEST.relative_to(ROOT)),
        "settings": [s for s in recorded(args) if not s.startswith("tasks.")],
        "baseline": baseline,
        "tasks": comparison.tasks,
        "runs": runs,
        "stage_1_identical": same == others,
    }


def recorded(args: argparse.Namespace) -> list[str]:
    """The settings the runs in ``--work`` were trained with (these options' before any)."""
    found = load_json(args.work / "settings.json")
    return settings(args) if found is None else found


def train_all(args: argparse.Namespace, seconds: dict[str, float], timing: Path) -> None:
    """Train every balancer not done yet with these options' settings, which must be those of
    the runs already in ``--work``; each training's seconds into ``timing``."""
    check_real_data(args.data)
    recorded_file = args.work / "settings.json"
    if recorded_file.exists() and json.loads(recorded_file.read_text()) != settings(args):
        raise SystemExit(
            f"{args.work} holds runs trained with other settings ({recorded_file}): give the "
            "same options, or another --work"
        )
    recorded_file.write_text(json.dumps(settings(args)))
    for name in args.balancers:
        took = train(name, args)
        if took is not None:
            seconds[name] = took
            timing.write_text(json.dumps(seconds))


def main(argv: list[str] | None = None) -> int:
    """Train the balancers not done yet (unless ``--report-only``), then write the report."""
    args = parse_args(argv)
    if args.balancers[0] != BASELINE:
        print(f"note: the baseline is {args.balancers[0]}, the first of --balancers")
    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    timing = args.work / "seconds.json"
    seconds = load_json(timing, {})
    if not args.report_only:
        train_all(args, seconds, timing)
    result = measure(args, seconds)
    result["seconds"] = time.perf_counter() - started
    write_results(args.out, args.name, result, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
