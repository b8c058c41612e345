"""Training updates that cost the model alone: batches read once and replayed from memory."""

from __future__ import annotations

from typing import Any

import torch


def replay_batches(run: Any, source: Any, batches: int) -> None:
    """Make trainer ``run`` train on ``batches`` batches of each task read once from trainer
    ``source`` and replayed from memory: its updates then cost the model alone."""
    cached = {task: [source._next_batch(task) for _ in range(batches)] for task in run.names}
    position = dict.fromkeys(run.names, 0)
    layout = run._layout()

    def next_batch(task: str) -> tuple[torch.Tensor, Any]:
        images, target = cached[task][position[task] % batches]
        position[task] += 1
        return images.contiguous(memory_format=layout), target

    run._next_batch = next_batch
