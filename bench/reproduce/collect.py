"""The results of the report, read from the run folders in ``WORK/<scale>/``: every scored run's
scores and timings by seed, the experiments planned and done, the verdicts, the peers and the
floors, and the paper's numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.lib.results import header
from bench.lib.runs import load_json, trained_as
from bench.reproduce.experiments import EXPERIMENTS, Experiment, Run, planned_seeds, recipe
from bench.reproduce.paper import paper_by_experiment
from bench.reproduce.seeds import summarize
from bench.reproduce.verdicts import verdicts


def load_run(run: Run, work: Path, scale: str) -> dict[str, Any] | None:
    """One run's scores by split and its timings; None before it is scored, or when its folder
    holds a run of other settings (which is said)."""
    folder = run.folder(work, scale)
    if not (folder / "val.json").exists():
        return None
    if not trained_as(folder, recipe(run, scale)):
        print(f"  {folder}: trained with other settings (recipe.json), left out", flush=True)
        return None
    entry: dict[str, Any] = {"val": json.loads((folder / "val.json").read_text())}
    for file, key in (("test.json", "test"), ("timing.json", "seconds")):
        if (folder / file).exists():
            entry[key] = json.loads((folder / file).read_text())
    return entry


def load_scores(runs: list[Run], work: Path, scale: str) -> dict[str, dict[str, Any]]:
    """Every experiment with a scored run, as ``seeds.summarize`` makes it: the mean of its
    seeds where ``val`` and ``test`` were, their half range, and each seed's run."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for run in runs:
        entry = load_run(run, work, scale)
        if entry is not None:
            found.setdefault(run.exp.name, {})[run.seed] = entry
    planned = planned_seeds(runs)
    return {name: summarize(found[name], seeds) for name, seeds in planned.items() if name in found}


def experiment_entry(exp: Experiment, planned: list[int], scores: dict[str, Any]) -> dict:
    """One experiment in the report: what it is, its seeds planned and done, and its training
    time summed over the seeds done."""
    runs = scores.get(exp.name, {}).get("seeds", {})
    trained = [r["seconds"]["train"] for r in runs.values() if "train" in r.get("seconds", {})]
    return {
        "name": exp.name,
        "row": exp.row,
        "tasks": list(exp.tasks),
        "settings": list(exp.settings),
        "seeds": planned,
        "done": [int(seed) for seed in runs],
        "train_seconds": sum(trained) if trained else None,
    }


def collect(
    runs: list[Run], work: Path, scale: str, settings: dict[str, Any], threads: int
) -> dict[str, Any]:
    """Everything the report shows, from ``work``: ``settings`` as the results record them,
    the machine with ``threads`` torch threads."""
    scores = load_scores(runs, work, scale)
    planned = planned_seeds(runs)
    return {
        **header(threads),
        "settings": settings,
        "experiments": [
            experiment_entry(e, planned[e.name], scores) for e in EXPERIMENTS if e.name in planned
        ],
        "scores": scores,
        "verdicts": verdicts(scores),
        "peers": load_json(work / scale / "peers" / "scores.json"),
        "baselines": load_json(work / scale / "baselines.json"),
        "paper": paper_by_experiment(),
    }
