"""What a training logger is: the class every logger, built in or from a plugin, subclasses."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from ifan.loggers.events import CheckpointSaved, EpochEnded, RunEnded, RunStarted, Validated


class TrainingLogger:
    """Receives a run's training events (:mod:`ifan.loggers.events`); override the methods of the
    events wanted, the others do nothing.

    The trainer makes each logger the manifest's ``train.loggers`` names, in the first process
    only (rank 0 under torchrun), with the run folder, before the run starts: an error raised
    there or in :meth:`run_started` (a missing package, a server that refuses the credentials)
    stops the run before its first update, with the logger named. An error raised by a method
    later is reported once, and the logger is dropped for the rest of the run: the run's
    checkpoints and ``metrics.jsonl`` do not depend on it, and hours of training are worth more
    than a gap in a dashboard. A logger that writes files keeps them in
    the run folder; a resumed run starts again at :class:`RunStarted` with the update it resumes
    after, so a logger can drop what it logged beyond it.
    """

    name: ClassVar[str]
    """How a manifest chooses it: ``train.loggers = ["..."]``; a lower-case identifier."""
    description: ClassVar[str] = ""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = Path(run_dir)

    def run_started(self, event: RunStarted) -> None:
        """The run starts or resumes."""

    def epoch_ended(self, event: EpochEnded) -> None:
        """An epoch ended: its mean losses, the loss weights and the learning rate."""

    def validated(self, event: Validated) -> None:
        """A task was scored on its validation split."""

    def checkpoint_saved(self, event: CheckpointSaved) -> None:
        """A checkpoint was written."""

    def run_ended(self, event: RunEnded) -> None:
        """The run is done."""

    def close(self) -> None:
        """Release files and connections; called once when the trainer closes."""
