"""Opening a task's dataset splits as the manifest says: the format's reader, the bad-sample
policy, a validation split carved out of train, and augmentation of the training split."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils.data import Dataset, Subset

from ifan.contract import SPLITS, OpenContext, Split, Task
from ifan.data.augment import JointAugment, mirror_permutation
from ifan.data.bad_samples import BadSamples
from ifan.data.errors import DatasetError
from ifan.errors import IfanError
from ifan.manifest.loader import TaskConfig


class AugmentedDataset(Dataset):
    """A training split whose samples ``task.augment`` changes at random each time they are read."""

    def __init__(self, base: Dataset, task: Task, augment: JointAugment):
        self.base = base
        self.task = task
        self.augment = augment

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        image, target = self.base[index]
        return self.task.augment(image, target, self.augment)


@dataclass
class TaskSplits:
    """One task's opened splits, where each came from and what its reader skipped."""

    task: str
    datasets: dict[Split, Dataset] = field(default_factory=dict)
    sources: dict[Split, str] = field(default_factory=dict)
    bad: dict[Split, BadSamples] = field(default_factory=dict)


def carve(size: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """``(train, val)`` indices of a ``size``-sample split, ``fraction`` of them (at least one)
    drawn for val by ``seed``; disjoint, each sorted."""
    count = max(1, round(size * fraction))
    if count >= size:
        raise DatasetError(
            f"val_fraction {fraction} of {size} samples leaves none to train on; lower it"
        )
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    return sorted(order[count:]), sorted(order[:count])


def open_splits(
    config: TaskConfig,
    task: Task,
    input_size: int,
    seed: int,
    splits: Sequence[Split] = SPLITS,
    augment: bool = True,
) -> TaskSplits:
    """The splits of ``splits`` that the task's data table gives (val may be carved from train),
    the training split augmented unless ``augment`` is False or the manifest turns it off."""
    data = config.data
    fmt = config.entry.cls.format(data.format)
    out = TaskSplits(config.name)
    carving = data.val_fraction is not None and "val" in splits
    for split in SPLITS:
        wanted = split in splits or (split == "train" and carving)
        if not wanted or split not in data.splits:
            continue
        bad = BadSamples(config.on_bad_sample)
        ctx = OpenContext(input_size, bad)
        try:
            dataset = fmt.open(data.splits[split], split, data.options, ctx)
        except DatasetError as error:
            raise DatasetError(f"tasks.{config.name}.data.{split}: {error}") from None
        out.datasets[split] = dataset
        out.sources[split] = str(data.splits[split])
        out.bad[split] = bad
    if carving:
        assert data.val_fraction is not None
        train = out.datasets["train"]
        kept, held = carve(len(train), data.val_fraction, seed)  # type: ignore[arg-type]
        out.datasets["train"], out.datasets["val"] = Subset(train, kept), Subset(train, held)
        out.sources["train"] += f" ({len(kept) + len(held)} read, {len(held)} carved out as val)"
        out.sources["val"] = f"val_fraction {data.val_fraction:g} of train, seed {seed}"
        out.bad["val"] = BadSamples(config.on_bad_sample)
        if "train" not in splits:
            for table in (out.datasets, out.sources, out.bad):
                del table["train"]
    if data.train_samples is not None and "train" in out.datasets:
        _limit_train(out, data.train_samples, seed)
    for table in (out.datasets, out.sources, out.bad):
        ordered = {split: table.pop(split) for split in SPLITS if split in table}
        table.update(ordered)
    if augment and config.augment.enabled and "train" in out.datasets:
        out.datasets["train"] = AugmentedDataset(
            out.datasets["train"], task, joint_augment(config, task, input_size)
        )
    return out


def _limit_train(out: TaskSplits, samples: int, seed: int) -> None:
    """Keep ``samples`` of the training split, drawn by ``seed`` (a different draw from the val
    carving's); a split already that small is kept whole."""
    train = out.datasets["train"]
    size = len(train)  # type: ignore[arg-type]
    if samples >= size:
        return
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed + 1)).tolist()
    out.datasets["train"] = Subset(train, sorted(order[:samples]))
    out.sources["train"] += f" (train_samples: {samples} of {size} kept)"


def joint_augment(config: TaskConfig, task: Task, input_size: int) -> JointAugment:
    """The task's augmentation, with the mirror permutation of its labels."""
    pairs = task.labels.mirror_pairs()
    swap = None if pairs is None else mirror_permutation(task.labels.names, pairs)
    try:
        return JointAugment(config.augment, input_size, swap)
    except IfanError as error:
        raise IfanError(f"tasks.{config.name}.augment.flip: {error}") from None
