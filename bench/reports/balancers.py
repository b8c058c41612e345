"""The report of ``python -m bench.balancers``: each balancer's validation scores against the
baseline's, Δm, its last loss weights and its training time."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON
from ifan.comparison import percent


def findings(r: dict[str, Any]) -> list[str]:
    """The best Δm, each balancer's better and worse tasks and last weights, and whether stage
    1 agreed across the runs."""
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
    """The whole report."""
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
    blocks = [
        "# Loss balancers on the real-data recipe",
        provenance(f"{PYTHON} -m bench.balancers", r),
        f"Each run: `ifan train {r['manifest']}` with its data paths and "
        + ", ".join(f"`{s}`" for s in r["settings"])
        + ", and `train.balancer.name` as in the table. Scores on the validation splits "
        "(the recipe's: carved out of MTFL and FASSEG, FER2013's PublicTest); in "
        "brackets each task's relative change against the baseline, positive is better "
        "(lower NME, higher F1 and accuracy). Training time: blank for a run trained "
        "before (or resumed: its last part only).",
        what_this_shows(r["findings"]),
        table(headers, rows),
    ]
    return "\n\n".join(blocks) + "\n"
