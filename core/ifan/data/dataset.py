"""A map-style dataset over records parsed up front, loading each sample on demand, and the same
over faces cropped by the model's crop rule (:func:`face_dataset`)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence, Sized
from functools import partial
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from torch.utils.data import Dataset, Subset

from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError, printable

if TYPE_CHECKING:
    from ifan.contract import OpenContext
    from ifan.data.face_boxes import FaceHint
    from ifan.data.images import Box

R = TypeVar("R")


class RecordDataset(Dataset, Generic[R]):
    """``(image, target)`` samples made by ``load(record)``; records are cheap, parsed eagerly so
    that a malformed list fails when the split is opened, not mid-epoch.

    ``load`` must be picklable (a module-level function or a ``functools.partial`` of one) so the
    dataset works with multi-process data loaders. A sample that turns out bad only when loaded
    (a truncated image) follows ``bad``'s policy: raised, or warned about once and replaced by the
    next good sample, so that a batch keeps its size. ``where`` (one per record: its annotation's
    file and line) starts the message of such a sample's error, as it starts those of the bad
    records found when the split was opened.
    """

    def __init__(
        self,
        records: Sequence[R],
        load: Callable[[R], tuple[Any, Any]],
        bad: BadSamples | None = None,
        where: Sequence[str] | None = None,
    ):
        self.records = list(records)
        self.load = load
        self.policy = bad.policy if bad is not None else "error"
        self.where = None if where is None else list(where)
        self._warned: set[int] = set()

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        last = None
        for offset in range(len(self.records)):
            at = (index + offset) % len(self.records)
            try:
                return self._load(at)
            except DatasetError as error:
                if self.policy == "error":
                    raise
                last = error
                if at not in self._warned:
                    self._warned.add(at)
                    warnings.warn(f"skipped a bad sample: {error}", stacklevel=2)
        raise DatasetError(
            f"every one of the {len(self.records)} samples failed to load; the last: {last}"
        )

    def subset(self, indices: Sequence[int]) -> RecordDataset:
        """The dataset of the records at ``indices`` only (same loading and policy), which, unlike
        a ``Subset``, still lists its records (for a prepared copy of just those)."""
        where = None if self.where is None else [self.where[i] for i in indices]
        out = RecordDataset([self.records[i] for i in indices], self.load, where=where)
        out.policy = self.policy
        return out

    def check(self, index: int) -> str | None:
        """Why sample ``index`` cannot be loaded, or None when it can (for ``ifan data --scan``)."""
        try:
            self._load(index)
        except DatasetError as error:
            return str(error)
        return None

    def _load(self, index: int) -> tuple[Any, Any]:
        """Sample ``index``; its :class:`DatasetError` starts with the record's ``where``."""
        try:
            return self.load(self.records[index])
        except DatasetError as error:
            where = None if self.where is None else self.where[index]
            if where is None or str(error).startswith(printable(where)):  # named it already
                raise
            raise DatasetError(f"{where}: {error}") from None


def _load_cropped(load: Callable[[Any, Box], tuple[Any, Any]], item: tuple[Any, Box]):
    record, box = item
    return load(record, box)


def face_dataset(
    records: Sequence[R],
    hint: Callable[[R], FaceHint],
    load: Callable[[R, Box], tuple[Any, Any]],
    ctx: OpenContext,
    progress: str | None = "finding faces",
) -> RecordDataset:
    """A split of faces cropped by the model's crop rule: each record's :class:`FaceHint` goes to
    :meth:`OpenContext.crops`, and ``load(record, box)`` makes the sample of that crop at
    ``ctx.input_size``. ``hint`` and ``load`` must be picklable like ``RecordDataset``'s
    ``load``; a record whose hint cannot be made (an unreadable label) goes to ``ctx.bad``."""
    pairs = ctx.bad.keep_each(records, lambda record: (record, hint(record)))
    boxes = ctx.crops([h for _, h in pairs], progress)
    items = [(record, box) for (record, _), box in zip(pairs, boxes, strict=True)]
    where = [h.where for _, h in pairs]
    return RecordDataset(items, partial(_load_cropped, load), ctx.bad, where)


def under_subsets(dataset: Dataset) -> tuple[Dataset, list[int]]:
    """The dataset under any ``Subset`` layers (the reader's own, or its prepared copy), and the
    indices of it that ``dataset`` uses, in order."""
    indices = list(range(dataset_size(dataset)))
    while isinstance(dataset, Subset):
        indices = [dataset.indices[i] for i in indices]
        dataset = dataset.dataset
    return dataset, indices


def dataset_size(dataset: Dataset) -> int:
    """How many samples ``dataset`` holds. Every split ifan opens is a map-style dataset with a
    length, which torch's ``Dataset`` type does not declare."""
    if not isinstance(dataset, Sized):
        raise TypeError(f"{type(dataset).__name__} is no map-style dataset: it has no length")
    return len(dataset)
