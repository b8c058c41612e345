"""The chosen loggers of a run: every event goes to each; one that cannot start stops the run
before its first update, one that raises later is reported once and dropped (see
:class:`~ifan.loggers.base.TrainingLogger` for why)."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Sequence
from pathlib import Path

from ifan.errors import IfanError
from ifan.loggers.base import TrainingLogger
from ifan.loggers.events import (
    CheckpointSaved,
    EpochEnded,
    Event,
    RunEnded,
    RunStarted,
    Validated,
)
from ifan.provided import Provided

HANDLERS: dict[type, str] = {
    RunStarted: "run_started",
    EpochEnded: "epoch_ended",
    Validated: "validated",
    CheckpointSaved: "checkpoint_saved",
    RunEnded: "run_ended",
}
"""The logger method each event goes to."""


class Loggers:
    """Sends events to the loggers still standing."""

    def __init__(self, loggers: Sequence[tuple[Provided, TrainingLogger]] = ()) -> None:
        self.loggers = list(loggers)
        self.dropped: list[str] = []
        """What each dropped logger raised, as reported."""

    @classmethod
    def start(cls, chosen: Sequence[Provided], run_dir: Path) -> Loggers:
        """Each chosen logger made for ``run_dir``; an error names the one that cannot start."""
        made = []
        for provided in chosen:
            try:
                made.append((provided, provided.cls(Path(run_dir))))
            except IfanError:
                raise
            except Exception as exc:
                raise _cannot_start(provided, exc) from exc
        return cls(made)

    def send(self, event: Event) -> None:
        """``event`` to every logger; one that raises at :class:`RunStarted` (before the first
        update) stops the run, one that raises later is dropped."""
        method = HANDLERS[type(event)]
        for provided, logger in list(self.loggers):
            try:
                getattr(logger, method)(event)
            except Exception as exc:
                if isinstance(event, RunStarted):
                    raise _cannot_start(provided, exc) from exc
                self._drop(provided, logger, f"{method}: {type(exc).__name__}: {exc}")
                with contextlib.suppress(Exception):
                    logger.close()

    def close(self) -> None:
        for provided, logger in list(self.loggers):
            try:
                logger.close()
            except Exception as exc:
                self._drop(provided, logger, f"close: {type(exc).__name__}: {exc}")
        self.loggers.clear()

    def _drop(self, provided: Provided, logger: TrainingLogger, why: str) -> None:
        self.loggers.remove((provided, logger))
        message = (
            f"the logger {provided.name!r} of {provided.provider} failed in {why}; it is dropped "
            "for the rest of the run, which goes on (its checkpoints and metrics.jsonl are "
            "complete)"
        )
        self.dropped.append(message)
        warnings.warn(message, stacklevel=3)


def _cannot_start(provided: Provided, exc: Exception) -> IfanError:
    return IfanError(
        f"train.loggers: the logger {provided.name!r} of {provided.provider} cannot start: "
        f"{type(exc).__name__}: {exc}"
    )
