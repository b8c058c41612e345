"""The cross-dataset hybrid training schedule of the paper (Algorithm 1), for any set of tasks.

Stage 1, task-wise pre-training: each task in turn, for ``pretrain_epochs`` passes over its own
training split, trains the backbone and its decoder (no interaction iterations). Stage 2,
batch-wise alternating fine-tuning: every round takes one batch of each task in turn, so every
task gets the same number of updates whatever its dataset's size; a small dataset is cycled, a
large one reshuffled on every pass and never read in a fixed order.

Everything here is a pure function of the seed and counters, so that a run resumed from a
checkpoint reads exactly the batches (and draws exactly the augmentations) the uninterrupted run
would have: :class:`TaskStream` maps "the k-th batch of task t" to sample indices and per-sample
seeds, and :func:`schedule` lists the updates in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import Dataset, Sampler


@dataclass(frozen=True)
class Update:
    """One optimizer step: which stage, which task, and where it falls in its epoch."""

    stage: int
    task: str
    epoch: int
    """1-based epoch within the stage (in stage 1, within the task's own pre-training)."""
    ends_epoch: bool


def batches_per_pass(size: int, batch_size: int) -> int:
    """Batches in one pass over ``size`` samples; an incomplete last batch is dropped (batch
    norm needs full batches), and a split smaller than a batch is one batch of all of it."""
    return max(1, size // batch_size)


def epoch_rounds(finetune_rounds: int | None, passes: dict[str, int]) -> int:
    """Rounds of a stage-2 epoch: ``train.finetune_rounds``, or by default the batches of one pass
    over the largest training split (``passes``: each task's batches per pass)."""
    return finetune_rounds or max(passes.values())


def schedule(
    tasks: Sequence[str],
    passes: dict[str, int],
    pretrain_epochs: int,
    finetune_epochs: int,
    rounds: int,
) -> Iterator[Update]:
    """Every update of a run in order; ``passes`` is each task's batches per pass and ``rounds``
    the rounds of a stage-2 epoch."""
    for task in tasks:
        for epoch in range(1, pretrain_epochs + 1):
            for batch in range(passes[task]):
                yield Update(1, task, epoch, batch == passes[task] - 1)
    for epoch in range(1, finetune_epochs + 1):
        for round_ in range(rounds):
            for i, task in enumerate(tasks):
                yield Update(2, task, epoch, round_ == rounds - 1 and i == len(tasks) - 1)


class TaskStream:
    """The endless sequence of one task's training batches: pass ``p`` is a permutation drawn
    from ``(seed, task, p)``, cut into batches. Batch ``k`` is a pure function of ``k``.

    With ``weights`` (one per sample, ``data.oversample``), a pass is instead ``size`` samples
    drawn with replacement in proportion to them: as long, as pure a function of ``k``."""

    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int,
        task_index: int,
        weights: torch.Tensor | None = None,
    ):
        if size < 1:
            raise ValueError("a task's training split is empty")
        if weights is not None and weights.shape != (size,):
            raise ValueError(f"{tuple(weights.shape)} weights for a split of {size} samples")
        self.size = size
        self.batch_size = min(batch_size, size)
        self.seed = seed
        self.task_index = task_index
        self.weights = weights
        self.per_pass = batches_per_pass(size, batch_size)

    def batch(self, k: int) -> list[tuple[int, int]]:
        """``(sample index, sample seed)`` for the ``k``-th batch (0-based) of this task."""
        pass_, position = divmod(k, self.per_pass)
        generator = torch.Generator().manual_seed(_mix(self.seed, self.task_index, pass_))
        if self.weights is None:
            order = torch.randperm(self.size, generator=generator)
        else:
            order = torch.multinomial(self.weights, self.size, True, generator=generator)
        chunk = order[position * self.batch_size : (position + 1) * self.batch_size].tolist()
        base = _mix(self.seed, self.task_index, pass_, position)
        return [(index, _mix(base, slot)) for slot, index in enumerate(chunk)]


class StreamSampler(Sampler):
    """Batches ``start``, ``start + 1``, ... of a stream, each cut to this process's shard."""

    def __init__(self, stream: TaskStream, start: int, rank: int = 0, world: int = 1):
        self.stream = stream
        self.start = start
        self.rank = rank
        self.world = world

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        k = self.start
        while True:
            batch = self.stream.batch(k)
            share = len(batch) // self.world
            yield batch[self.rank * share : (self.rank + 1) * share]
            k += 1


class SeededDataset(Dataset):
    """Reads ``(index, seed)`` items: ``(sample, seed)``, the sample at ``index`` with the seed
    its augmentation is drawn from, so that it depends only on the schedule."""

    def __init__(self, base: Dataset):
        self.base = base

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, item: tuple[int, int]) -> tuple[Any, int]:
        index, seed = item
        return self.base[index], seed


class SeededCollate:
    """Batches ``(sample, seed)`` items: the task's own collate of the samples, then the seeds
    as an int64 tensor."""

    def __init__(self, collate: Callable[[list], tuple[Any, Any]]):
        self.collate = collate

    def __call__(self, items: list[tuple[Any, int]]) -> tuple[Any, Any, torch.Tensor]:
        images, target = self.collate([sample for sample, _ in items])
        return images, target, torch.tensor([seed for _, seed in items], dtype=torch.int64)


def _mix(*values: int) -> int:
    """A 63-bit seed from integers (splitmix64 steps), stable across runs and platforms."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        state = (state ^ (state >> 31)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
    return state >> 1
