"""Loss balancers on the real-data recipe: ``examples/faces3-cpu.toml`` (MTFL landmarks, FASSEG V3
parsing, FER2013 emotion) trained once per balancer on a short schedule, everything else alike,
and their validation scores compared with ``fixed``'s: each task's main value and Δm, the mean
sign-corrected relative change (``ifan compare``'s arithmetic, :mod:`ifan.comparison`).

    .venv/bin/python bench/balancers.py                 # 4 balancers, about 40 minutes on 2 cores
    .venv/bin/python bench/balancers.py --report-only   # the tables from what --work holds

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
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import check_real_data, machine, provenance, table, versions, write_results  # noqa: E402

from ifan.comparison import compare, percent, read_scores  # noqa: E402
from ifan.runs.history import read_history  # noqa: E402

MANIFEST = ROOT / "examples" / "faces3-cpu.toml"
BALANCERS = ("fixed", "uncertainty", "dwa", "gradnorm")
BASELINE = "fixed"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="a folder laid out like ../shared/data",
    )
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
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        metavar="N",
        help="torch threads of each training (0: torch's default)",
    )
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "bench-balancers")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--name", default="balancers", help="results file name")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="train nothing: write the report from the runs in --work",
    )
    return parser.parse_args(argv)  # fmt: skip


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
    if _finished(run):
        return None
    if (run / "checkpoints").is_dir() and any((run / "checkpoints").iterdir()):
        command = ["train", "--resume", str(run), "--quiet"]
    else:
        chosen = [*settings(args), f"train.balancer.name={name}"]
        command = ["train", str(MANIFEST), "--out", str(run), "--quiet"]
        command += [f"--set={setting}" for setting in chosen]
    if args.threads:
        command += ["--threads", str(args.threads)]
    print(f"  {name}: ifan {' '.join(command[:2])} ... (log: {log})", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads or os.cpu_count())}
    started = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        code = subprocess.call(
            [sys.executable, "-m", "ifan", *command], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    if code != 0:
        raise SystemExit(f"training {name} failed (exit {code}); see {log}")
    return time.perf_counter() - started


def _finished(run: Path) -> bool:
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
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(args.threads or os.cpu_count() or 1),
        "versions": versions(),
        "manifest": str(MANIFEST.relative_to(ROOT)),
        "settings": [s for s in _recorded(args) if not s.startswith("tasks.")],
        "baseline": baseline,
        "tasks": comparison.tasks,
        "runs": runs,
        "stage_1_identical": same == others,
    }


def _recorded(args: argparse.Namespace) -> list[str]:
    """The settings the runs in ``--work`` were trained with (these options' before any)."""
    recorded = args.work / "settings.json"
    return json.loads(recorded.read_text()) if recorded.exists() else settings(args)


def findings(r: dict[str, Any]) -> list[str]:
    base = r["baseline"]
    others = {n: run for n, run in r["runs"].items() if n != base and run["delta_m"] is not None}
    lines = []
    if others:
        best = max(others, key=lambda n: others[n]["delta_m"])
        each = ", ".join(f"{n} {percent(run['delta_m'])}" for n, run in others.items())
        lines.append(f"best Δm against {base}: {best}, {percent(others[best]['delta_m'])} ({each})")
    for name, run in others.items():
        better = [t for t, v in run["relative"].items() if v is not None and v > 0]
        worse = [t for t, v in run["relative"].items() if v is not None and v < 0]
        lines.append(
            f"{name}: better than {base} on {', '.join(better) or 'no task'}, worse on "
            f"{', '.join(worse) or 'no task'}; last stage-2 weights "
            + ", ".join(f"{t} {w:.3g}" for t, w in run["weights"].items())
        )
    lines.append(
        "stage 1, which no balancer touches, scored the same in every run, bit for bit"
        if r["stage_1_identical"]
        else "**stage 1 scored differently across runs**: the runs are not comparable as they are"
    )
    lines.append(
        "one seed and a short schedule: a difference is a finding only where it is larger than "
        "what another seed moves (docs/reproducing.md, Seeds)"
    )
    return lines


def markdown(r: dict[str, Any]) -> str:
    tasks = r["tasks"]
    headers = ["balancer"]
    for task in tasks:
        run = r["runs"][r["baseline"]]
        headers.append(f"{task} {run['main'][task]['metric']}")
    headers += ["Δm vs " + r["baseline"], "last stage-2 weights", "training"]
    rows = []
    for name, run in r["runs"].items():
        cells = [f"`{name}`"]
        for task in tasks:
            value = run["main"][task]["value"]
            change = run["relative"].get(task)
            shown = "-" if value is None else f"{value:.4f}"
            cells.append(shown + ("" if change is None else f" ({percent(change)})"))
        cells.append("-" if run["delta_m"] is None else percent(run["delta_m"]))
        cells.append(", ".join(f"{t} {w:.3g}" for t, w in run["weights"].items()))
        seconds = run["seconds"]
        cells.append("-" if seconds is None else f"{seconds / 60:.1f} min")
        rows.append(cells)
    return (
        "\n\n".join(
            [
                "# Loss balancers on the real-data recipe",
                provenance("bench/balancers.py", r),
                f"Each run: `ifan train {r['manifest']}` with its data paths and "
                + ", ".join(f"`{s}`" for s in r["settings"])
                + ", and `train.balancer.name` as in the table. Scores on the validation splits "
                "(the recipe's: carved out of MTFL and FASSEG, FER2013's PublicTest); in "
                "brackets each task's relative change against the baseline, positive is better "
                "(lower NME, higher F1 and accuracy). Training time: blank for a run trained "
                "before (or resumed: its last part only).",
                "## What this shows\n\n" + "\n".join(f"- {line}" for line in findings(r)),
                table(headers, rows),
            ]
        )
        + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.balancers[0] != BASELINE:
        print(f"note: the baseline is {args.balancers[0]}, the first of --balancers")
    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    timing = args.work / "seconds.json"
    seconds = json.loads(timing.read_text()) if timing.exists() else {}
    if not args.report_only:
        check_real_data(args.data)
        recorded = args.work / "settings.json"
        if recorded.exists() and json.loads(recorded.read_text()) != settings(args):
            raise SystemExit(
                f"{args.work} holds runs trained with other settings ({recorded}): give the same "
                "options, or another --work"
            )
        recorded.write_text(json.dumps(settings(args)))
        for name in args.balancers:
            took = train(name, args)
            if took is not None:
                seconds[name] = took
                timing.write_text(json.dumps(seconds))
    result = measure(args, seconds)
    result["seconds"] = time.perf_counter() - started
    write_results(args.out, args.name, result, findings, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
