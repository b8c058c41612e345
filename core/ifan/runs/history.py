"""The run's metrics log: one JSON object a line in ``run_dir/metrics.jsonl``
(:data:`ifan.runs.layout.HISTORY`).

Two kinds of record are written, both carrying ``stage`` (1: pre-training, 2: alternating
fine-tuning), ``epoch`` (epochs completed in that stage, counted from 1) and ``step`` (the global
optimiser step, which only grows over the whole run):

- ``{"kind": "train", "stage", "epoch", "step", "task", "loss", "lr", "time", "outputs"}``: a
  task's average training loss over an epoch or a logging window, the learning rate, the Unix
  time and how many predictions the loss sums (``iterations + 1`` in stage 2, Eq. 5 and 6; 1 in
  stage 1 and in records written before the field existed);
- ``{"kind": "val", "stage", "epoch", "step", "split", "task", "metrics": {name: value}, "main",
  "higher_is_better"}``: a task's evaluation, ``main`` naming the headline value in ``metrics``.

Every line is written whole, then flushed and fsync'd, so a crash leaves at most an incomplete
*last* line, which :func:`read_history` skips with a warning. JSON has no NaN or infinity: such
values (a diverged loss, a metric over an empty split) are written as ``null``.

Only one process (rank 0 when distributed) should write a run's history.
"""

from __future__ import annotations

import json
import math
import os
import time as clock
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ifan.errors import IfanError
from ifan.files import write_atomically

STAGES = (1, 2)


class HistoryError(IfanError):
    """A history file is missing or has a corrupt line before its last one."""


def _finite(value: Any) -> float | None:
    """``value`` as a float (Python, NumPy or 0-d tensor), or ``None`` when NaN or infinite."""
    number = float(value)
    return number if math.isfinite(number) else None


def _check_stage(stage: int) -> int:
    if stage not in STAGES:
        raise ValueError(f"stage must be 1 (pre-training) or 2 (fine-tuning), not {stage!r}")
    return int(stage)


def _line(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, allow_nan=False, separators=(",", ":")) + "\n").encode("utf-8")


class History:
    """Appends training and evaluation records to a JSONL file (see the module docstring).

    Opening a history whose last line a crash left incomplete cuts that line off (with a warning),
    so new records never get glued onto it.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_partial_tail()

    def log_train(
        self,
        *,
        stage: int,
        epoch: int,
        step: int,
        task: str,
        loss: float,
        lr: float,
        time: float | None = None,
        outputs: int = 1,
    ) -> dict[str, Any]:
        """Record ``task``'s average training loss, a sum over ``outputs`` predictions; ``time``
        defaults to now (Unix seconds)."""
        record = {
            "kind": "train",
            "stage": _check_stage(stage),
            "epoch": int(epoch),
            "step": int(step),
            "task": str(task),
            "loss": _finite(loss),
            "lr": _finite(lr),
            "time": _finite(clock.time() if time is None else time),
            "outputs": int(outputs),
        }
        self._append(record)
        return record

    def log_eval(
        self,
        *,
        stage: int,
        epoch: int,
        step: int,
        task: str,
        metrics: Mapping[str, float],
        main: str,
        higher_is_better: bool,
        split: str = "val",
    ) -> dict[str, Any]:
        """Record ``task``'s evaluation on ``split``; ``main`` must be one of ``metrics``."""
        if main not in metrics:
            raise ValueError(f"main metric {main!r} of task {task!r} is not in {sorted(metrics)}")
        record = {
            "kind": "val",
            "stage": _check_stage(stage),
            "epoch": int(epoch),
            "step": int(step),
            "split": str(split),
            "task": str(task),
            "metrics": {str(name): _finite(value) for name, value in metrics.items()},
            "main": str(main),
            "higher_is_better": bool(higher_is_better),
        }
        self._append(record)
        return record

    def truncate_after(self, step: int) -> int:
        """Keep only records with ``step <= step`` and return how many were dropped.

        Used when resuming from a checkpoint taken at ``step``, so the records logged after it are
        not duplicated. The file is replaced atomically: a crash leaves the old or the new one.
        """
        if not self.path.exists():
            return 0
        records = read_history(self.path)
        kept = [record for record in records if record.get("step", 0) <= step]
        write_atomically(self.path, b"".join(_line(record) for record in kept))
        return len(records) - len(kept)

    def _append(self, record: Mapping[str, Any]) -> None:
        self._write_tail(_line(record))

    def _write_tail(self, data: bytes) -> None:
        with self.path.open("ab") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())

    def _drop_partial_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return
        end = data.rfind(b"\n") + 1
        try:
            complete = isinstance(json.loads(data[end:]), dict)
        except ValueError:
            complete = False
        if complete:  # the write stopped just before the newline: keep the record
            self._write_tail(b"\n")
            return
        warnings.warn(
            f"{self.path}: removing an incomplete last line left by an interrupted write: "
            f"{data[end:][:80]!r}",
            stacklevel=3,
        )
        with self.path.open("r+b") as file:
            file.truncate(end)
            os.fsync(file.fileno())


def read_history(path: Path) -> list[dict[str, Any]]:
    """All records of a history file, in order.

    An unreadable *last* line (a write cut short by a crash) is skipped with a warning; an
    unreadable line before it means the file is corrupt and raises :class:`HistoryError`.
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        raise HistoryError(f"{path}: no such history file (has the run logged anything?)") from None
    lines = [(number, line) for number, line in enumerate(text.split("\n"), 1) if line.strip()]
    records: list[dict[str, Any]] = []
    for index, (number, line) in enumerate(lines):
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"expected a JSON object, got {type(record).__name__}")
        except ValueError as error:
            if index == len(lines) - 1:
                warnings.warn(
                    f"{path}:{number}: skipping an incomplete last line ({error})", stacklevel=2
                )
                break
            raise HistoryError(
                f"{path}:{number}: corrupt history line ({error}): {line[:80]!r}; "
                "remove or repair that line"
            ) from None
        records.append(record)
    return records
