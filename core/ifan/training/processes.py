"""The training processes under ``torchrun``: joining the process group (gloo on CPU, NCCL on
GPU), each process's rank and device, and how the work only the first process does keeps the
others in step, so that a failure there stops them all instead of leaving them waiting."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import torch
import torch.distributed as dist

from ifan.errors import IfanError

T = TypeVar("T")


@dataclass
class Processes:
    """This process's place among the training processes, its device, and how the work only the
    first process does (writing the run folder) keeps the others in step (:meth:`on_main`)."""

    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    def on_main(self, action: Callable[[], T], what: str) -> T | None:
        """``action()`` in the main process only (its result there, None in the others), which
        tells every other process whether it succeeded before any of them goes on: an error
        there raises in every process (the main one its own, the others an :class:`IfanError`
        saying it failed to do ``what``), so that none waits forever in a collective for a
        process that has stopped (rank 0 writing a checkpoint, say, while the others train on)."""
        result: T | None = None
        failure: Exception | None = None
        if self.main:
            try:
                result = action()
            except Exception as exc:  # raised below, once the others know
                failure = exc
        if self.world > 1:
            told: list[str | None] = [None if failure is None else _describe(failure)]
            dist.broadcast_object_list(told, src=0)
            if told[0] is not None and failure is None:
                raise IfanError(
                    f"process 0 failed to {what}, so process {self.rank} stops too: {told[0]}"
                )
        if failure is not None:
            raise failure
        return result


def _describe(error: Exception) -> str:
    """An error as the other processes report it: an IfanError's message says what it is."""
    return str(error) if isinstance(error, IfanError) else f"{type(error).__name__}: {error}"


def start_processes(device: str) -> Processes:
    """Join the process group when launched by torchrun (gloo on CPU, NCCL on GPU). ``device``
    is ``train.device``: ``auto``, ``cpu``, ``cuda`` (each process the GPU of its local rank)
    or one GPU of a single process, ``cuda:N``."""
    kind, _, index = device.partition(":")
    cuda = torch.cuda.is_available() if kind == "auto" else kind == "cuda"
    if cuda and not torch.cuda.is_available():
        raise IfanError(f"train.device = {device!r} but torch sees no GPU; use 'auto' or 'cpu'")
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if index and world > 1:
        raise IfanError(
            f"train.device = {device!r} names one GPU, but torchrun started {world} processes, "
            "each on the GPU of its local rank: use 'cuda' (CUDA_VISIBLE_DEVICES picks the GPUs)"
        )
    gpus = torch.cuda.device_count() if cuda else 0
    if index and int(index) >= gpus:
        raise IfanError(
            f"train.device = {device!r} but torch sees {gpus} GPU(s): cuda:0 to cuda:{gpus - 1}"
        )
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank() if dist.is_initialized() else 0
    gpu = int(index or os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(gpu)
    return Processes(rank, world, torch.device(f"cuda:{gpu}" if cuda else "cpu"))
