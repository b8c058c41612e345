"""One task's metric over a split: the prediction of every sample, summed over processes."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ifan.data.splits import as_float
from ifan.metric import Metric
from ifan.network.model import IFAN


def evaluate_task(
    model: IFAN,
    task: str,
    dataset: Dataset,
    batch_size: int,
    iterations: int | None = None,
    device: torch.device | None = None,
    shard: tuple[int, int] = (0, 1),
) -> Metric:
    """Task ``task``'s metric on ``dataset`` with its own batch norm, after ``iterations``
    interaction iterations (default: the model's). ``shard = (rank, world)``: this process
    scores every ``world``-th sample and the metric is summed across processes."""
    rank, world = shard
    if world > 1:
        dataset = Subset(dataset, range(rank, len(dataset), world))  # type: ignore[arg-type]
    device = device if device is not None else torch.device("cpu")
    metric = model.tasks[task].new_metric()
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=model.tasks[task].collate)
    training = model.training
    model.eval()
    with torch.no_grad():
        for images, target in loader:
            outputs = model(
                as_float(images.to(device)), task=task, iterations=iterations, heads=[task]
            )
            metric.update(outputs[-1][task].float().cpu(), target)
    model.train(training)
    metric.all_reduce()
    return metric
