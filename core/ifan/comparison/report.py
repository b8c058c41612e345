"""A comparison as ``ifan compare`` prints it: the runs' values side by side, each change and Δm in
percent, and the gate's verdict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ifan.comparison.changes import Comparison, percent
from ifan.comparison.scores import RunScores, headline
from ifan.tables import format_table

if TYPE_CHECKING:
    pass


def format_comparison(comparison: Comparison) -> str:
    """The comparison as the command prints it: where each run's scores come from; per task, its
    values side by side (the main value first, then per class or point), baseline first; then
    each run's relative changes and Δm."""
    everything = {**comparison.baselines, **comparison.runs}
    parts = [
        f"{comparison.split} split: each run's scores and where they come from",
        format_table(
            ["run", "role", "step", "scores"],
            [
                [name, "baseline" if name in comparison.baselines else "run", _step(s), s.source]
                for name, s in everything.items()
            ],
        ),
    ]
    for task in comparison.tasks:
        having = {name: s.tasks[task] for name, s in everything.items() if task in s.tasks}
        first = next(iter(having.values()))
        rows = list(dict.fromkeys(v for scores in having.values() for v in scores.values))
        rows.sort(key=lambda value: value != first.main)
        parts.append(
            f"{task}: main value {headline(first)}\n"
            + format_table(
                ["value", *having],
                [[row, *(_value(s.values, row) for s in having.values())] for row in rows],
            )
        )
    summary = comparison.relative_changes()
    if summary:
        heads = list(dict.fromkeys(label for changes in summary.values() for label in changes))
        heads.sort(key=lambda head: head == "Δm")  # last, also where runs have other tasks
        parts.append(
            "relative change of each task's main value against its baseline (+ is better), "
            "and Δm, their mean\n"
            + format_table(
                ["run", *heads],
                [
                    [run, *(percent(changes[h]) if h in changes else "" for h in heads)]
                    for run, changes in summary.items()
                ],
            )
        )
    return "\n\n".join(parts)


def _step(scores: RunScores) -> str:
    steps = {values.step for values in scores.tasks.values() if values.step is not None}
    return ", ".join(str(step) for step in sorted(steps)) or "-"


def _value(values: Mapping[str, float | None], name: str) -> str:
    if name not in values:
        return ""
    value = values[name]
    return "null" if value is None else f"{value:.4f}"
