"""A probe's result: the matrix of scores (rows the feature sources, ``own`` and ``fused``; columns
the targets), as a table and as JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ifan.features.store import ModelIdentity
from ifan.probing.heads import HeadOptions

if TYPE_CHECKING:
    pass


KINDS = ("class", "value")
"""The kinds of label a target may have: one class or one value per face."""


OWN = "own"


FUSED = "fused"


@dataclass
class TargetScores:
    """One column of the matrix: a target task's scores per feature source."""

    name: str
    """As given (``TASK`` or ``RUN:TASK``)."""
    run: str
    task: str
    metric: str
    """The value the matrix shows: the task's metric's ``main``."""
    higher_is_better: bool
    unit: str
    """The metric's unit ("" for a fraction, shown in percent)."""
    samples: dict[str, int]
    """Faces per split: the training split the heads learn on, and the scored one."""
    own: ModelIdentity
    values: dict[str, dict[str, float]] = field(default_factory=dict)
    """Row -> every value of the task's metric."""
    dims: dict[str, int] = field(default_factory=dict)
    """Row -> the length of its feature vectors."""

    def score(self, row: str) -> float:
        """The main value of ``row``."""
        return self.values[row][self.metric]

    def best(self) -> float:
        """The best main value of the column."""
        scores = [self.score(row) for row in self.values]
        return max(scores) if self.higher_is_better else min(scores)

    def shown(self, row: str) -> str:
        """The value as the table shows it: a fraction in percent, else with its unit."""
        value = self.score(row)
        text = f"{value:.4g}" if self.unit else f"{100 * value:.2f}"
        return text + (" *" if value == self.best() else "")

    def header(self) -> str:
        return f"{self.name} {self.metric} ({self.unit or '%'})"


@dataclass
class ProbeResult:
    """The matrix of :func:`probe`: rows the feature sources, then ``own`` and ``fused``;
    a column per target."""

    split: str
    options: HeadOptions
    rows: list[str]
    targets: list[TargetScores]
    sources: dict[str, ModelIdentity]
    """Row -> the model and task its features come from (the sources; ``own`` is per target)."""

    def score(self, row: str, target: str) -> float:
        """The main value of a cell."""
        return next(t for t in self.targets if t.name == target).score(row)

    def table(self) -> str:
        """The matrix as text: a line per target (its metric, direction and faces), then the
        rows; ``*`` marks each column's best."""
        lines = []
        for target in self.targets:
            better = "higher" if target.higher_is_better else "lower"
            unit = target.unit or "%"
            train, scored = target.samples["train"], target.samples[self.split]
            lines.append(
                f"{target.name}: {target.metric} in {unit}, {better} is better; "
                f"{self.options.head} heads fitted on {train} train faces, scored on {scored} "
                f"{self.split} faces"
            )
        headers = ["features", *(t.header() for t in self.targets)]
        cells = [[row, *(t.shown(row) for t in self.targets)] for row in self.rows]
        return "\n".join(lines) + "\n\n" + _table(headers, cells)

    def to_json(self) -> dict[str, Any]:
        """Everything: the options, the sources' identities, and per target its metric, faces,
        main value per row (``scores``), every value per row and each row's feature length."""
        return {
            "split": self.split,
            "head": self.options.head,
            "options": {
                "epochs": self.options.epochs,
                "batch_size": self.options.batch_size,
                "lr": self.options.lr,
                "weight_decay": self.options.weight_decay,
                "hidden": self.options.hidden,
                "seed": self.options.seed,
            },
            "rows": self.rows,
            "sources": {row: ident.to_json() for row, ident in self.sources.items()},
            "targets": {
                t.name: {
                    "run": t.run,
                    "task": t.task,
                    "metric": t.metric,
                    "higher_is_better": t.higher_is_better,
                    "unit": t.unit,
                    "samples": t.samples,
                    "own": t.own.to_json(),
                    "scores": {row: t.score(row) for row in self.rows},
                    "values": t.values,
                    "dims": t.dims,
                }
                for t in self.targets
            },
        }


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart; the headers as they are (paths keep their case)."""
    cells = [list(headers), *map(list, rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )
