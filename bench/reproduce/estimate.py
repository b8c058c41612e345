"""``--commands``: each run's ``ifan train``, and how long the runs take from the timings of
the last report."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from bench.lib.runs import load_json
from bench.reproduce.experiments import Run, train_command

TIMED = ("train", "eval_val", "eval_test")


def seconds_per_run(earlier: dict[str, Any]) -> dict[str, float]:
    """What training and scoring one run of each experiment took in an ``earlier`` report (the
    mean of its seeds trained in one go), by name."""
    out = {}
    for name, entry in earlier["scores"].items():
        seconds = entry.get("seconds") or {}
        if seconds and not seconds.get("resumed"):
            out[name] = sum(seconds.get(k, 0.0) for k in TIMED)
    return out


def duration(seconds: float) -> str:
    """``7 min``, ``2 h 05 min``."""
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def estimate(runs: list[Run], earlier: dict[str, Any], source: Path) -> str:
    """How long ``runs`` take, from the timings of the ``earlier`` report read from ``source``,
    in words."""
    took = seconds_per_run(earlier)
    known = sum(took[r.exp.name] for r in runs if r.exp.name in took)
    untimed = sorted({r.exp.name for r in runs} - set(took))
    m = earlier["machine"]
    text = (
        f"about {duration(known)} for the training and scoring of these {len(runs)} runs, from "
        f"the timings of {source} ({earlier['date']}, {m['cpu']}, {m['cpus_available']} CPUs); "
        "not counted: preparing the crops once, the baselines and the peers"
    )
    if untimed:
        text += f", and the runs of {', '.join(untimed)}, which it did not time"
    return text


def print_commands(runs: list[Run], scale: str, work: Path, data: Path, report: Path) -> None:
    """Each run's ``ifan train`` under a comment naming it and how long it took in the
    ``report`` (a results file of an earlier run), then how long all of them take."""
    earlier = load_json(report)
    took = seconds_per_run(earlier) if earlier else {}
    for run in runs:
        before = run.exp.name in took and f"about {duration(took[run.exp.name])}"
        print(f"# {run.exp.name}, seed {run.seed} ({run.exp.row}): {before or 'not timed'}")
        out = run.folder(work, scale) / "run"
        print(shlex.join(["ifan", *train_command(run, scale, data, out)]))
    if earlier is None:
        print(f"# no estimate: {report} does not exist")
    else:
        print(f"# {estimate(runs, earlier, report)}")
