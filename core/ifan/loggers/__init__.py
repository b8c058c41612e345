"""Training loggers: where a run's events go besides ``metrics.jsonl`` and ``curves.png``. A
manifest chooses them with ``train.loggers = ["csv", "tensorboard"]`` (default: none); plugins
add others through the ``ifan_loggers`` hook (:mod:`ifan.hookspecs`). Only the first process of
a distributed run logs.
"""

from __future__ import annotations

from ifan.loggers.base import TrainingLogger
from ifan.loggers.csv_logger import CSVLogger
from ifan.loggers.events import CheckpointSaved, EpochEnded, Event, RunEnded, RunStarted, Validated
from ifan.loggers.tensorboard_logger import TensorBoardLogger
from ifan.plugins import PluginRegistry
from ifan.provided import Catalogue, catalogue

BUILT_IN: tuple[type[TrainingLogger], ...] = (CSVLogger, TensorBoardLogger)


def loggers(registry: PluginRegistry | None) -> Catalogue:
    """The built-in loggers and those the loaded plugins provide, by name."""
    return catalogue(registry, "ifan_loggers", TrainingLogger, BUILT_IN, "training logger")


__all__ = [
    "BUILT_IN",
    "CSVLogger",
    "CheckpointSaved",
    "EpochEnded",
    "Event",
    "RunEnded",
    "RunStarted",
    "TensorBoardLogger",
    "TrainingLogger",
    "Validated",
    "loggers",
]
