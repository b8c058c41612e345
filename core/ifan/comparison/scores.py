"""A run's scores to compare: each task's latest validation record on a split of the run's
``metrics.jsonl`` (:func:`read_scores`: nothing loaded or scored), or its latest checkpoint
scored now, as ``ifan eval`` does (:func:`evaluate_scores`)."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifan.contract import Split
from ifan.errors import ComparisonError
from ifan.runs.history import read_history
from ifan.runs.layout import HISTORY

if TYPE_CHECKING:
    from ifan.plugins import PluginRegistry


SPLITS = ("val", "test")
"""The splits runs are compared on (training's split is no measure of a model)."""


@dataclass(frozen=True)
class TaskScores:
    """One task's values on a split (fractions, or the metric's unit), which of them is the main
    one and which way is better, and the optimiser step they were scored at."""

    main: str
    higher_is_better: bool
    values: dict[str, float | None]
    """``None`` for a value that was not a finite number (a diverged run)."""
    step: int | None = None

    @property
    def main_value(self) -> float | None:
        return self.values[self.main]


@dataclass(frozen=True)
class RunScores:
    """A run's scores on one split: ``task -> TaskScores``, and where they come from."""

    path: Path
    split: str
    source: str
    """What was read or scored: the ``metrics.jsonl`` path, or the checkpoint evaluated."""
    tasks: dict[str, TaskScores]


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ComparisonError(f"runs are compared on the val or the test split, not {split!r}")


def read_scores(run: str | os.PathLike, split: Split = "val") -> RunScores:
    """The scores a run folder already has: each task's latest validation record on ``split`` in
    its ``metrics.jsonl``, with the main value and direction recorded there."""
    _check_split(split)
    path = Path(run)
    if path.is_file():
        raise ComparisonError(
            f"{path} is a file, not a run folder: give the folder `ifan train --out` wrote (it "
            f"holds {HISTORY}; for a checkpoint file, the run folder it is in)"
        )
    if not path.is_dir():
        raise ComparisonError(f"{path}: no such run folder")
    history = path / HISTORY
    if not history.is_file():
        raise ComparisonError(
            f"{path} is not a run folder: it has no {HISTORY}, which `ifan train` writes "
            "into its --out folder from the end of the first epoch; give a run folder"
        )
    evaluations = [record for record in read_history(history) if record.get("kind") == "val"]
    latest = {
        str(record.get("task")): record
        for record in evaluations
        if record.get("split", "val") == split
    }
    if not latest:
        found = sorted({str(record.get("split", "val")) for record in evaluations})
        has = f"its records are on {', '.join(found)}" if found else "the run has not validated"
        raise ComparisonError(
            f"{history} has no validation record on the {split} split ({has}): training scores "
            "only the val split; compare on --split val, or add --evaluate to score the run's "
            f"latest checkpoint on {split}"
        )
    tasks = {task: _task_scores(record, history) for task, record in latest.items()}
    return RunScores(path, split, str(history), tasks)


def _task_scores(record: Mapping[str, Any], history: Path) -> TaskScores:
    """A validation record's scores, checked to hold what :mod:`ifan.runs.history` writes."""
    where = f"{history}: the {record.get('task')!r} record at step {record.get('step')}"
    metrics, main, higher = (
        record.get("metrics"),
        record.get("main"),
        record.get("higher_is_better"),
    )
    if not isinstance(metrics, dict) or not all(
        value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
        for value in metrics.values()
    ):
        problem = "'metrics' is not an object of numbers"
    elif not isinstance(main, str) or main not in metrics:
        problem = f"'main' ({main!r}) does not name one of its metrics {sorted(metrics)}"
    elif not isinstance(higher, bool):
        problem = f"'higher_is_better' is {higher!r}, not true or false"
    else:
        values = {str(k): None if v is None else float(v) for k, v in metrics.items()}
        step = record.get("step")
        return TaskScores(main, higher, values, step if isinstance(step, int) else None)
    raise ComparisonError(
        f"{where}: {problem}; it was not written by `ifan train` or was edited: repair or remove "
        "that line"
    )


def evaluate_scores(
    run: str | os.PathLike,
    split: Split = "test",
    device: str | None = None,
    registry: PluginRegistry | None = None,
    progress: bool = False,
) -> RunScores:
    """Score the latest checkpoint of ``run`` (a run folder, a checkpoint file or an installed
    pretrained model's name) on ``split`` now, every task on its own dataset as ``ifan eval``
    does: the way to compare on the test split, which training never scores. Needs the run's
    data and its tasks' plugins."""
    from ifan.evaluation import evaluate
    from ifan.inference import load

    _check_split(split)
    predictor = load(run, device, registry=registry)
    results = evaluate(predictor.model, predictor.manifest, split, progress=progress)
    if not results:
        raise ComparisonError(
            f"{run}: no task of its manifest has a {split} split: compare on another split"
        )
    step = predictor.meta.get("progress", {}).get("step")
    tasks = {
        task: TaskScores(
            results.metrics[task].main,
            results.metrics[task].higher_is_better,
            {
                name: float(value) if math.isfinite(value) else None
                for name, value in values.items()
            },
            step,
        )
        for task, values in results.items()
    }
    return RunScores(Path(run), split, f"{predictor.checkpoint} (evaluated)", tasks)


def headline(scores: TaskScores) -> str:
    """A task's main metric and its direction, as messages name it."""
    return f"{scores.main} ({'higher' if scores.higher_is_better else 'lower'} is better)"
