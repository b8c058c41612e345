"""The results of the report, read from ``WORK/<scale>/``: each model's settings, command,
timings, speed and test scores, each matrix, and the floors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.fusion.commands import recipe
from bench.fusion.design import (
    MANIFEST,
    MATRICES,
    MODELS,
    PAPER_CLAIMS,
    PAPER_FUSION_GAIN,
    PAPER_OVER,
    TEST_FRACTION,
    Scale,
)
from bench.fusion.floors import no_model
from bench.fusion.plugins import SITE, plugin_versions
from bench.lib.paths import shown_path
from bench.lib.results import header
from bench.lib.runs import load_json


def row_name(row: str) -> str:
    """A probe row as the report names it: the source's task (``own`` and ``fused`` as they
    are)."""
    return row.rsplit(":", 1)[-1] if ":" in row else row


def read_matrix(path: Path) -> dict[str, Any] | None:
    """A probe's JSON with its rows named by task: per target its metric, faces and the main
    value and every value of each row."""
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    targets = {}
    for target in raw["targets"].values():
        targets[target["task"]] = {
            "metric": target["metric"],
            "higher_is_better": target["higher_is_better"],
            "unit": target["unit"],
            "samples": target["samples"],
            "scores": {row_name(r): v for r, v in target["scores"].items()},
            "values": {row_name(r): v for r, v in target["values"].items()},
            "dims": {row_name(r): v for r, v in target["dims"].items()},
        }
    return {
        "rows": [row_name(r) for r in raw["rows"]],
        "head": raw["head"],
        "options": raw["options"],
        "targets": targets,
    }


def training_speed(run: Path) -> dict[str, Any] | None:
    """A run's updates, and its seconds per update, from its ``metrics.jsonl``: in stage 1
    between the first and last epoch of each task, in stage 2 between its first and last epoch,
    per round (an update of every task); each with the validations in between."""
    from ifan.runs.history import read_history

    path = run / "metrics.jsonl"
    if not path.exists():
        return None
    records = [r for r in read_history(path) if r["kind"] == "train"]
    out: dict[str, Any] = {"updates": max((r["step"] for r in records), default=0)}
    steps, seconds = 0, 0.0
    for task in dict.fromkeys(r["task"] for r in records):
        chosen = [r for r in records if r["stage"] == 1 and r["task"] == task]
        if len(chosen) > 1:
            steps += chosen[-1]["step"] - chosen[0]["step"]
            seconds += chosen[-1]["time"] - chosen[0]["time"]
    if steps:
        out["stage_1_seconds_per_update"] = seconds / steps
    epochs = sorted({(r["epoch"], r["step"], r["time"]) for r in records if r["stage"] == 2})
    tasks = len({r["task"] for r in records})
    if len(epochs) > 1 and epochs[-1][1] > epochs[0][1]:
        per_update = (epochs[-1][2] - epochs[0][2]) / (epochs[-1][1] - epochs[0][1])
        out["stage_2_seconds_per_round"] = per_update * tasks
    return out


def models(work: Path, scale: Scale, digest: str) -> dict[str, Any]:
    """Each model's tasks, settings, command, timings, speed and test scores (None before)."""
    out = {}
    for model in MODELS:
        folder = work / model.name
        command = folder / "command.txt"
        out[model.name] = {
            "tasks": list(model.tasks),
            "settings": recipe(model, scale, digest)["settings"],
            "command": command.read_text().strip() if command.exists() else None,
            "seconds": load_json(folder / "timing.json", {}),
            "speed": training_speed(folder / "run"),
            "test": load_json(folder / "test.json"),
        }
    return out


def matrices(work: Path) -> dict[str, Any]:
    """Each matrix with its command and time (None before it is probed)."""
    out = {}
    for kind in MATRICES:
        folder = work / f"probe-{kind}"
        matrix = read_matrix(folder / "probe.json")
        if matrix is not None:
            matrix["command"] = (folder / "command.txt").read_text().strip()
            timing = load_json(folder / "timing.json")
            matrix["seconds"] = timing["probe"] if timing is not None else None
        out[kind] = matrix
    return out


def settings(scale_name: str, scale: Scale, carving: dict[str, Any], threads: int,
             head: str) -> dict[str, Any]:  # fmt: skip
    """The settings the results record: the scale's schedule and faces, the probe heads, and
    how the data was split."""
    return {
        "scale": scale_name,
        "manifest": shown_path(MANIFEST),
        "schedule": list(scale.schedule),
        "train_samples": scale.train_samples,
        "threads": threads,
        "head": head,
        "probe_epochs": scale.probe_epochs,
        "utkface": {
            "source": carving["source"],
            "val_fraction": scale.val_fraction,
            "test_fraction": TEST_FRACTION,
            "test_files": scale.test_files,
            "train": len(carving["train"]),
            "test": len(carving["test"]),
            "digest": carving["digest"],
        },
        "lfw": {
            "val_per_person": scale.val_per_person,
            "test_per_person": scale.test_per_person,
        },
    }


def collect(
    work: Path, data: Path, scale_name: str, scale: Scale, carving: dict[str, Any],
    threads: int, head: str,
) -> dict[str, Any]:  # fmt: skip
    """Everything the report shows, from what ``work`` (``WORK/<scale>``) holds; ``threads``
    as given (0: torch's default)."""
    import torch

    result = header(threads or torch.get_num_threads())
    result["versions"].update(plugin_versions(SITE))
    return {
        **result,
        "settings": settings(scale_name, scale, carving, threads, head),
        "models": models(work, scale, carving["digest"]),
        "matrices": matrices(work),
        "no_model": no_model(data, carving, scale),
        "paper": {
            "claims": PAPER_CLAIMS,
            "fusion_gain_percent": PAPER_FUSION_GAIN,
            "over": sorted(PAPER_OVER),
        },
    }
