"""A map-style dataset over records parsed up front, loading each sample on demand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from torch.utils.data import Dataset

R = TypeVar("R")


class RecordDataset(Dataset, Generic[R]):
    """``(image, target)`` samples made by ``load(record)``; records are cheap, parsed eagerly so
    that a malformed list fails when the split is opened, not mid-epoch.

    ``load`` must be picklable (a module-level function or a ``functools.partial`` of one) so the
    dataset works with multi-process data loaders.
    """

    def __init__(self, records: Sequence[R], load: Callable[[R], tuple[Any, Any]]):
        self.records = list(records)
        self.load = load

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        return self.load(self.records[index])
