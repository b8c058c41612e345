"""One integer target of every sample of a split (MTFL's ``pose``, a class task's ``label``): what
``data.oversample`` weighs samples by and ``ifan eval --by`` breaks scores down by."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from ifan.data.dataset import dataset_size, under_subsets
from ifan.data.errors import DatasetError
from ifan.data.prepared import PreparedDataset


def target_values(dataset: Dataset, key: str) -> np.ndarray:
    """Every sample's integer target ``key``, in the dataset's order: read from the prepared
    copy's column when there is one (no image is read), else sample by sample. A
    :class:`DatasetError` when the samples have no such target or it is not one whole number."""
    base, indices = under_subsets(dataset)
    if isinstance(base, PreparedDataset):
        column = base.target_column(key)
        if column is None:
            raise _unfit(key, list(base.header["targets"]))
        return np.asarray([_single_integer(column[i], key) for i in indices], dtype=np.int64)
    values = []
    for index in range(dataset_size(dataset)):
        target = dataset[index][1]
        if not isinstance(target, dict) or key not in target:
            raise _unfit(key, list(target) if isinstance(target, dict) else [])
        values.append(_single_integer(target[key], key))
    return np.asarray(values, dtype=np.int64)


def _unfit(key: str, have: list[str]) -> DatasetError:
    """The error of a target the samples lack (or hold in a shape of their own)."""
    if key in have:
        return _not_integer(key, "a shape of its own per sample")
    return DatasetError(f"the samples have no target {key!r} (they have: {', '.join(have)})")


def _not_integer(key: str, what: str) -> DatasetError:
    return DatasetError(
        f"target {key!r} is not one whole number a sample (needed to weigh or group by it): {what}"
    )


def _single_integer(value: object, key: str) -> int:
    """``value`` (a number or a one-element tensor or array) as an int; else a DatasetError."""
    array = np.asarray(value)
    if array.size != 1 or not np.issubdtype(array.dtype, np.integer):
        raise _not_integer(key, f"{array.dtype} of shape {tuple(array.shape)}")
    return int(array.reshape(()))
