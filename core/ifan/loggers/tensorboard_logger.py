"""The ``tensorboard`` logger: a run's scalars as TensorBoard event files in
``RUN/tensorboard/``, written by the tensorboard package's ``SummaryWriter`` (through
``torch.utils.tensorboard``; ``pip install 'ifan[tensorboard]'``). ``tensorboard --logdir RUN``
shows one run, ``--logdir runs`` every run of a folder side by side.

Tags, each at the run's global update: ``train/loss/<task>``, ``train/weight/<task>`` and
``train/lr`` after every epoch, ``<split>/<task>/<metric>`` for every value scored (``val/...``).
A resumed run purges what was logged after the update it resumes after, so the curves are
drawn once.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ifan.errors import IfanError
from ifan.loggers.base import TrainingLogger
from ifan.loggers.events import CheckpointSaved, EpochEnded, RunEnded, RunStarted, Validated

FOLDER = "tensorboard"


class TensorBoardLogger(TrainingLogger):
    """Writes scalars with a ``SummaryWriter`` opened when the run starts."""

    name = "tensorboard"
    description = "TensorBoard event files in RUN/tensorboard/ (pip install 'ifan[tensorboard]')"

    def __init__(self, run_dir: Path) -> None:
        super().__init__(run_dir)
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise IfanError(
                "train.loggers names 'tensorboard', which needs the tensorboard package: "
                f"pip install 'ifan[tensorboard]' (or pip install tensorboard); {exc}"
            ) from exc
        self._writer_class = SummaryWriter
        self.writer: Any = None

    def run_started(self, event: RunStarted) -> None:
        # Events logged after the checkpoint a run resumes from are hidden from TensorBoard.
        self.writer = self._writer_class(str(self.run_dir / FOLDER), purge_step=event.step + 1)

    def epoch_ended(self, event: EpochEnded) -> None:
        for task, loss in event.losses.items():
            self._scalar(f"train/loss/{task}", loss, event.step)
            self._scalar(f"train/weight/{task}", event.weights[task], event.step)
        self._scalar("train/lr", event.lr, event.step)

    def validated(self, event: Validated) -> None:
        for metric, value in event.metrics.items():
            self._scalar(f"{event.split}/{event.task}/{metric}", value, event.step)

    def checkpoint_saved(self, event: CheckpointSaved) -> None:
        self.writer.flush()  # what a checkpoint holds is on disk in TensorBoard's files too

    def run_ended(self, event: RunEnded) -> None:
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def _scalar(self, tag: str, value: float, step: int) -> None:
        if math.isfinite(value):
            self.writer.add_scalar(tag, value, step)
