"""The comparison: each task's relative change against its baseline, the runs' mean Δm, and the
gate that refuses a run worse than its baselines beyond a tolerance."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifan.comparison.scores import RunScores, TaskScores, headline
from ifan.errors import ComparisonError

if TYPE_CHECKING:
    pass


@dataclass(frozen=True)
class TaskChange:
    """A run's main value of one task against its baseline's."""

    task: str
    metric: str
    higher_is_better: bool
    value: float | None
    baseline: float
    baseline_run: str
    relative: float | None
    """Sign-corrected relative change (positive: better); None when ``value`` is not finite."""

    def describe(self) -> str:
        value = "null (not finite: a diverged run?)" if self.value is None else f"{self.value:.4f}"
        direction = "higher" if self.higher_is_better else "lower"
        change = "" if self.relative is None else f", {percent(self.relative)}"
        return (
            f"{self.metric} {value} against {self.baseline:.4f} in {self.baseline_run}{change} "
            f"({direction} is better)"
        )


@dataclass(frozen=True)
class RunChanges:
    """Every task of a run that a baseline covers, and their mean relative change, Δm."""

    run: str
    tasks: dict[str, TaskChange]

    @property
    def delta_m(self) -> float | None:
        """Δm: the mean sign-corrected relative change; None when a main value is not finite."""
        changes = [change.relative for change in self.tasks.values()]
        finite = [change for change in changes if change is not None]
        if not changes or len(finite) < len(changes):
            return None
        return math.fsum(finite) / len(finite)


@dataclass(frozen=True)
class GateFailure:
    """A task on which a run is worse than its baseline by more than the tolerance."""

    run: str
    change: TaskChange
    tolerance: float

    def message(self) -> str:
        return (
            f"{self.run} is worse than its baseline on {self.change.task} beyond the tolerance "
            f"of {100 * self.tolerance:.2f} %: {self.change.describe()}"
        )


@dataclass(frozen=True)
class Comparison:
    """Runs and baselines scored on one split; ``changes`` (by run name) is empty without
    baselines. Runs and baselines are named by their folder's name (the path when two share one)."""

    split: str
    runs: dict[str, RunScores]
    baselines: dict[str, RunScores]
    tasks: list[str]
    changes: dict[str, RunChanges] = field(default_factory=dict)

    def relative_changes(self) -> dict[str, dict[str, float | None]]:
        """``run -> {"<task> (<main value>)": change, ..., "Δm": Δm}``, changes as fractions
        (positive is better): the summary table's rows, and what
        :func:`ifan.plots.plot_changes` draws."""
        return {
            run: {
                **{
                    f"{task} ({change.metric})": change.relative
                    for task, change in changes.tasks.items()
                },
                "Δm": changes.delta_m,
            }
            for run, changes in self.changes.items()
        }

    def gate(self, tolerance: float) -> list[GateFailure]:
        """Every task of every run whose main value is worse than its baseline's by more than
        ``tolerance`` (a relative fraction: 0.02 allows 2 % worse), or is not finite."""
        if not self.baselines:
            raise ComparisonError(
                "the gate compares runs against baselines: give --baseline RUN..."
            )
        if not (math.isfinite(tolerance) and tolerance >= 0):
            raise ComparisonError(f"the gate's tolerance must be a fraction >= 0, not {tolerance}")
        return [
            GateFailure(run, change, tolerance)
            for run, changes in self.changes.items()
            for change in changes.tasks.values()
            if change.relative is None or _beyond(change.relative, tolerance)
        ]

    def to_json(self, tolerance: float | None = None) -> dict[str, Any]:
        """Everything compared, as JSON-ready data; with ``tolerance`` the gate's verdict too."""
        data: dict[str, Any] = {
            "split": self.split,
            "tasks": self.tasks,
            "runs": [
                _scores_json(name, scores, baseline, self.tasks)
                for baseline, group in ((False, self.runs), (True, self.baselines))
                for name, scores in group.items()
            ],
            "changes": [
                {
                    "run": run,
                    "delta_m": changes.delta_m,
                    "tasks": {
                        task: {
                            "metric": change.metric,
                            "higher_is_better": change.higher_is_better,
                            "value": change.value,
                            "baseline": change.baseline,
                            "baseline_run": change.baseline_run,
                            "relative_change": change.relative,
                        }
                        for task, change in changes.tasks.items()
                    },
                }
                for run, changes in self.changes.items()
            ],
        }
        if tolerance is not None:
            failures = self.gate(tolerance)
            data["gate"] = {
                "tolerance": tolerance,
                "passed": not failures,
                "failures": [
                    {"run": f.run, "task": f.change.task, "message": f.message()} for f in failures
                ],
            }
        return data


def _beyond(relative: float, tolerance: float) -> bool:
    """Worse than ``-tolerance``; a change equal to it up to rounding passes."""
    return relative < -tolerance and not math.isclose(relative, -tolerance, abs_tol=1e-12)


def _scores_json(
    name: str, scores: RunScores, baseline: bool, tasks: Sequence[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "path": str(scores.path),
        "baseline": baseline,
        "source": scores.source,
        "tasks": {
            task: {
                "main": values.main,
                "higher_is_better": values.higher_is_better,
                "step": values.step,
                "values": values.values,
            }
            for task, values in scores.tasks.items()
            if task in tasks
        },
    }


def relative_change(value: float | None, baseline: float, higher_is_better: bool) -> float | None:
    """``(value - baseline) / |baseline|``, negated when lower is better: positive is better.
    None when ``value`` is None (not finite); ``baseline`` must be finite and not 0."""
    if value is None:
        return None
    change = (value - baseline) / abs(baseline)
    return change if higher_is_better else -change


def compare(
    runs: Sequence[RunScores],
    baselines: Sequence[RunScores] = (),
    tasks: Sequence[str] | None = None,
) -> Comparison:
    """Runs and baselines side by side, and each run's change against the baselines covering its
    tasks: a baseline covers the tasks it was trained on (several single-task baselines together
    cover a multi-task run). ``tasks`` restricts the comparison to those tasks (e.g. the tasks a
    model had before a new one was added, which has no baseline)."""
    if not runs:
        raise ComparisonError("no run to compare: give at least one run folder")
    everything = [*runs, *baselines]
    _check_same_split(everything)
    _check_distinct(everything)
    names = _names([scores.path for scores in everything])
    named_runs = dict(zip(names[: len(runs)], runs, strict=True))
    named_baselines = dict(zip(names[len(runs) :], baselines, strict=True))
    selected = _select(named_runs, tasks)
    cover = _coverage(named_baselines, selected)
    changes = {
        name: _run_changes(name, scores, selected, cover)
        for name, scores in (named_runs.items() if baselines else ())
    }
    return Comparison(runs[0].split, named_runs, named_baselines, selected, changes)


def _run_changes(
    name: str,
    scores: RunScores,
    selected: Sequence[str],
    cover: Mapping[str, tuple[str, TaskScores]],
) -> RunChanges:
    """The changes of a run's selected tasks; every one must have a baseline."""
    shared = [task for task in selected if task in scores.tasks]
    missing = [task for task in shared if task not in cover]
    if missing:
        raise ComparisonError(_no_baseline(name, missing, shared, cover))
    return RunChanges(name, {task: _change(task, name, scores, *cover[task]) for task in shared})


def _check_same_split(everything: Sequence[RunScores]) -> None:
    splits = {scores.split for scores in everything}
    if len(splits) > 1:
        which = ", ".join(f"{scores.path} on {scores.split}" for scores in everything)
        raise ComparisonError(
            f"the runs were scored on different splits ({which}): score them all on one split"
        )


def _check_distinct(everything: Sequence[RunScores]) -> None:
    seen: set[str] = set()
    for scores in everything:
        key = str(scores.path.resolve() if scores.path.exists() else scores.path)
        if key in seen:
            raise ComparisonError(f"{scores.path} is given twice: give each run once")
        seen.add(key)


def _names(paths: Sequence[Path]) -> list[str]:
    """Each run's folder name, or its path where two runs share a folder name."""
    short = [path.name or str(path) for path in paths]
    return [
        name if short.count(name) == 1 else str(path)
        for name, path in zip(short, paths, strict=True)
    ]


def _select(runs: Mapping[str, RunScores], tasks: Sequence[str] | None) -> list[str]:
    """The tasks compared: ``tasks``, each in some run, else every run's tasks in order."""
    found = list(dict.fromkeys(task for scores in runs.values() for task in scores.tasks))
    if tasks is None:
        return found
    unknown = [task for task in tasks if task not in found]
    if unknown:
        raise ComparisonError(
            f"task {', '.join(unknown)} is in none of the runs, whose tasks are "
            f"{', '.join(found)}: name tasks among those"
        )
    return list(dict.fromkeys(tasks))


def _coverage(
    baselines: Mapping[str, RunScores], selected: Sequence[str]
) -> dict[str, tuple[str, TaskScores]]:
    """``task -> (baseline name, its scores)`` for every selected task a baseline covers."""
    cover: dict[str, tuple[str, TaskScores]] = {}
    for name, scores in baselines.items():
        for task in selected:
            if task not in scores.tasks:
                continue
            if task in cover:
                raise ComparisonError(
                    f"two baselines cover task {task}: {cover[task][0]} and {name}; give one "
                    "baseline per task"
                )
            cover[task] = (name, scores.tasks[task])
    return cover


def _no_baseline(
    run: str, missing: Sequence[str], shared: Sequence[str], cover: Mapping[str, Any]
) -> str:
    covered = ", ".join(cover) or "no task"
    others = [task for task in shared if task not in missing]
    leave_out = f", or compare only the others (--tasks {','.join(others)})" if others else ""
    return (
        f"no baseline covers task {', '.join(missing)} of {run} (the baselines cover {covered}): "
        f"add a --baseline run trained on it (ifan train MANIFEST --tasks {missing[0]}){leave_out}"
    )


def _change(
    task: str, run: str, scores: RunScores, baseline_name: str, base: TaskScores
) -> TaskChange:
    own = scores.tasks[task]
    if (own.main, own.higher_is_better) != (base.main, base.higher_is_better):
        raise ComparisonError(
            f"task {task} is scored by {headline(own)} in {run} but by {headline(base)} in "
            f"baseline {baseline_name}: its metric changed between them (another plugin version?); "
            "compare runs of the same task"
        )
    reference = base.main_value
    if reference is None or reference == 0:
        shown = "not finite" if reference is None else reference
        raise ComparisonError(
            f"baseline {baseline_name}'s {task} {base.main} is {shown}: a relative change needs "
            "a finite, non-zero baseline; give another baseline"
        )
    return TaskChange(
        task,
        own.main,
        own.higher_is_better,
        own.main_value,
        reference,
        baseline_name,
        relative_change(own.main_value, reference, own.higher_is_better),
    )


def percent(fraction: float | None) -> str:
    """``+1.23 %``; ``null`` for None."""
    return "null" if fraction is None else f"{100 * fraction:+.2f} %"
