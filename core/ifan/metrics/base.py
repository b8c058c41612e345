"""Metrics that accumulate over batches and merge across processes.

A metric's state is a dict of tensors that *add up*: counts, sums, confusion matrices. Merging two
metrics (or all-reducing across ``torch.distributed`` processes) is then a sum, and the final
values are computed once from the totals, so a score "over the whole split" is exactly that, not
an average of per-batch scores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.distributed as dist

Cell = tuple[str, str]
"""Where ``ifan eval`` shows a value: its row (what is measured, e.g. ``nme``) and its column (the
class, point or group it is of, or ``all``)."""


class Metric(ABC):
    """Accumulates one task's evaluation; subclasses define the state, the update and the values."""

    main: str
    """Name of the headline value in :meth:`compute`: the training curves draw it, and ``ifan
    compare`` measures a run against a baseline by it (:mod:`ifan.comparison`). A class attribute,
    or set in ``__init__`` where it is an option
    (:class:`ifan.metrics.classes.ClassMetric`)."""
    higher_is_better: ClassVar[bool] = True
    """Which way :attr:`main` is better; recorded with every evaluation in ``metrics.jsonl``."""
    units: Mapping[str, str] = {}
    """The unit of each value (by name, or by the name before ``_<class or point>``) that is not
    a fraction, e.g. ``{"mae": "years"}``; tables show every other value in percent. A class
    attribute, or set in ``__init__`` where the unit is an option
    (:class:`ifan.metrics.values.ValueMetric`)."""

    def __init__(self) -> None:
        self.state: dict[str, torch.Tensor] = self.initial_state()

    @abstractmethod
    def initial_state(self) -> dict[str, torch.Tensor]:
        """Zeroed state tensors; every entry must be additive across batches."""

    @abstractmethod
    def update(self, prediction: Any, target: Any) -> None:
        """Add one batch to the state."""

    @abstractmethod
    def compute(self) -> dict[str, float]:
        """The named values from the accumulated state."""

    def layout(self) -> dict[str, Cell] | None:
        """Where ``ifan eval``'s table shows each value of :meth:`compute` (contract 1.3):
        ``{value: (row, column)}``, the column a class, point or group of the labels (as
        :func:`ifan.metrics.names.value_name` writes it) or ``all``;
        :func:`ifan.metrics.names.per_label` makes the cells of a value per label. A value left
        out has a row of its own, under ``all``. None (the default): laid out by name, a value
        ``<row>_<label>`` in that row and column, any other under ``all``."""
        return None

    def pictures(self) -> dict[str, Any]:
        """Named ``PIL.Image`` pictures of the accumulated state (e.g. a confusion matrix), which
        ``ifan eval`` saves as PNGs; none by default."""
        return {}

    def merge(self, other: Metric) -> None:
        """Add another metric's state (e.g. from another process) to this one, key by key
        (:meth:`merge_value`); the two must hold the same keys."""
        if set(other.state) != set(self.state):
            raise ValueError(
                f"cannot merge {type(other).__name__} state {sorted(other.state)} into "
                f"{type(self).__name__} state {sorted(self.state)}"
            )
        for key, value in other.state.items():
            self.state[key] = self.merge_value(key, self.state[key], value)

    def merge_value(self, key: str, mine: torch.Tensor, theirs: torch.Tensor) -> torch.Tensor:
        """One key of a merge: the sum, as the state adds up; a metric that keeps samples (say,
        embeddings to pair) concatenates them instead."""
        return mine + theirs.to(mine.device)

    def all_reduce(self) -> None:
        """Sum the state over all ``torch.distributed`` processes (no-op when not distributed)."""
        if dist.is_available() and dist.is_initialized():
            for value in self.state.values():
                dist.all_reduce(value, op=dist.ReduceOp.SUM)
