"""The training events a logger receives, in the order a run makes them: :class:`RunStarted`
once, then after every epoch :class:`EpochEnded`, a :class:`Validated` per task scored and a
:class:`CheckpointSaved` per file written, and :class:`RunEnded` when the schedule is done (or
patience stopped it). ``step`` is the global update count, which only grows over a run, resumes
included; a value that was not a finite number (a metric of an empty split) is NaN."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class RunStarted:
    """A run starts, or resumes after ``step`` updates (0: a new run)."""

    run_dir: Path
    tasks: tuple[str, ...]
    step: int
    manifest: dict[str, Any]
    """The manifest's data, ``--set`` values applied (as the checkpoints store it)."""


@dataclass(frozen=True)
class EpochEnded:
    """An epoch ended: stage 1's of one task, or stage 2's of every task."""

    stage: int
    epoch: int
    step: int
    losses: dict[str, float]
    """Each task trained in the epoch: its mean training loss (as in ``metrics.jsonl``)."""
    weights: dict[str, float]
    """Each task's loss weight in the epoch's last update: its ``loss_weight`` in stage 1, the
    balancer's in stage 2."""
    lr: float
    time: float
    """Unix seconds, the same as the epoch's records in ``metrics.jsonl``."""


@dataclass(frozen=True)
class Validated:
    """A task was scored on its validation split after an epoch."""

    stage: int
    epoch: int
    step: int
    task: str
    split: str
    metrics: dict[str, float]
    main: str
    """The headline value in ``metrics``."""
    higher_is_better: bool


@dataclass(frozen=True)
class CheckpointSaved:
    """A checkpoint file was written (``best``: the run's best by ``train.keep_best``)."""

    step: int
    path: Path
    best: bool


@dataclass(frozen=True)
class RunEnded:
    """The schedule is done, or ``train.patience`` stopped the run (``stopped_early``)."""

    step: int
    stopped_early: bool


Event = RunStarted | EpochEnded | Validated | CheckpointSaved | RunEnded
