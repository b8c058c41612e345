"""Drawing a training split's samples by a target value (``[tasks.<name>.data] oversample``).

A split's faces are rarely spread the way the faces a model will meet are: MTFL's are three
quarters frontal, and its profile faces are 3 %. ``oversample = { pose = { 1 = 4.0, 5 = 4.0 } }``
draws a sample whose integer target ``pose`` is 1 or 5 four times as often as one of weight 1
(every value not listed). The scheduler then draws each pass of the split with these weights,
with replacement (:class:`ifan.training.scheduler.TaskStream`), so a pass keeps its length and a
resumed run draws the same batches.
"""

from __future__ import annotations

from collections import Counter

import torch
from torch.utils.data import Dataset

from ifan.data.dataset import dataset_size
from ifan.data.errors import DatasetError
from ifan.data.targets import target_values

Oversample = dict[str, dict[int, float]]
"""``{target key: {value: weight}}``, as the manifest gives it."""


def sample_weights(dataset: Dataset, oversample: Oversample) -> tuple[torch.Tensor, str]:
    """Each sample's weight (the product over the keys of ``oversample``) and a summary of what
    was weighted, e.g. ``pose 1: 120 x 4, pose 5: 170 x 4``; a :class:`DatasetError` when a key
    is no integer target of the samples, or a value given is none of theirs."""
    weights = torch.ones(dataset_size(dataset), dtype=torch.float64)
    summary = []
    for key, table in oversample.items():
        values = target_values(dataset, key)
        counts = Counter(values.tolist())
        for value, weight in table.items():
            if value not in counts:
                found = ", ".join(str(v) for v in sorted(counts))
                raise DatasetError(f"no training sample has {key} = {value} (its values: {found})")
            weights[torch.from_numpy(values == value)] *= weight
            summary.append(f"{key} {value}: {counts[value]} x {weight:g}")
    return weights, ", ".join(summary)
