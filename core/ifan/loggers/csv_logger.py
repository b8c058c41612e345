"""The ``csv`` logger: a run's events as CSV files in ``RUN/csv/``, one file per kind of event,
for spreadsheets and ``pandas.read_csv``.

- ``epochs.csv``: ``stage, epoch, step, task, loss, weight, lr, time``, a row per task trained in
  the epoch (the training records of ``metrics.jsonl``, with the loss weight);
- ``validations.csv``: ``stage, epoch, step, split, task, metric, value, main, higher_is_better``,
  a row per value scored (``main`` names the task's headline metric);
- ``checkpoints.csv``: ``step, path, best, time``, a row per checkpoint file written (``path``
  relative to the run folder);
- ``runs.csv``: ``event, step, time``, ``start``, ``resume``, ``end`` or ``stopped-early``.

Numbers are written as Python writes them (they read back as the same floats); a value that is
not finite is an empty cell, as ``metrics.jsonl`` writes ``null``. A resumed run first drops the
rows of the first three files logged after the update it resumes after, as ``metrics.jsonl``
does.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Sequence
from pathlib import Path

from ifan.files import write_atomically
from ifan.loggers.base import TrainingLogger
from ifan.loggers.events import CheckpointSaved, EpochEnded, RunEnded, RunStarted, Validated

FOLDER = "csv"
COLUMNS = {
    "epochs": ("stage", "epoch", "step", "task", "loss", "weight", "lr", "time"),
    "validations": (
        "stage",
        "epoch",
        "step",
        "split",
        "task",
        "metric",
        "value",
        "main",
        "higher_is_better",
    ),
    "checkpoints": ("step", "path", "best", "time"),
    "runs": ("event", "step", "time"),
}
BY_STEP = ("epochs", "validations", "checkpoints")
"""The files whose rows a resumed run drops beyond the update it resumes after."""

Cell = str | int | float | bool


class CSVLogger(TrainingLogger):
    """Appends a row to the file of each event's kind."""

    name = "csv"
    description = "CSV files in RUN/csv/: epochs, validations, checkpoints, runs"

    def __init__(self, run_dir: Path) -> None:
        super().__init__(run_dir)
        self.folder = self.run_dir / FOLDER

    def run_started(self, event: RunStarted) -> None:
        for kind in BY_STEP:
            self._truncate(kind, event.step)
        self._append("runs", [["resume" if event.step else "start", event.step, time.time()]])

    def epoch_ended(self, event: EpochEnded) -> None:
        self._append(
            "epochs",
            [
                [
                    event.stage,
                    event.epoch,
                    event.step,
                    task,
                    loss,
                    event.weights[task],
                    event.lr,
                    event.time,
                ]
                for task, loss in event.losses.items()
            ],
        )

    def validated(self, event: Validated) -> None:
        head: list[Cell] = [event.stage, event.epoch, event.step, event.split, event.task]
        self._append(
            "validations",
            [
                [*head, metric, value, event.main, event.higher_is_better]
                for metric, value in event.metrics.items()
            ],
        )

    def checkpoint_saved(self, event: CheckpointSaved) -> None:
        path = event.path
        if path.is_relative_to(self.run_dir):
            path = path.relative_to(self.run_dir)
        self._append("checkpoints", [[event.step, path.as_posix(), event.best, time.time()]])

    def run_ended(self, event: RunEnded) -> None:
        what = "stopped-early" if event.stopped_early else "end"
        self._append("runs", [[what, event.step, time.time()]])

    def _path(self, kind: str) -> Path:
        return self.folder / f"{kind}.csv"

    def _append(self, kind: str, rows: Sequence[Sequence[Cell]]) -> None:
        path = self._path(kind)
        fresh = not path.exists() or path.stat().st_size == 0
        lines = ([COLUMNS[kind]] if fresh else []) + [[_cell(c) for c in row] for row in rows]
        self.folder.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8", newline="") as file:
            file.write(_text(lines))

    def _truncate(self, kind: str, step: int) -> None:
        """Keep the header and the whole rows logged at or before ``step`` (a row a crash cut
        short is dropped too)."""
        path = self._path(kind)
        if not path.exists():
            return
        lines = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        if not lines:
            return
        header, *rows = lines
        at = header.index("step") if "step" in header else None
        kept = [row for row in rows if len(row) == len(header) and _at_most(row, at, step)]
        write_atomically(path, _text([header, *kept]).encode("utf-8"))


def _at_most(row: list[str], column: int | None, step: int) -> bool:
    try:
        return column is not None and int(row[column]) <= step
    except ValueError:
        return False


def _cell(value: Cell) -> str:
    """A value as a cell: ``true``/``false``, Python's shortest exact form of a number, an empty
    cell for one that is not finite."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def _text(rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()
