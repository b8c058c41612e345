"""Scoring a model on every task's split: metric values and flat JSON.

Each task is scored on its own dataset, as in the paper's Tables 1-3: :func:`evaluate` opens each
task's split as the manifest says and scores it with :func:`evaluate_task`
(the task's batch norm, every process a share under ``torch.distributed``, the metric summed over
the processes), returning ``task -> {metric: value}`` with values as fractions (0.0581 for
5.81 %). :func:`flat_json` makes the ``<task>.<metric>`` keys that ``ifan eval --json`` writes;
:mod:`ifan.evaluation_tables` prints the values in percent.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Subset

from ifan.contract import Split
from ifan.data.splits import as_float, open_splits
from ifan.metrics.base import Metric
from ifan.progress import bar

if TYPE_CHECKING:
    from ifan.manifest import Manifest
    from ifan.manifest.loader import TaskConfig
    from ifan.network.model import IFAN


class Evaluation(dict[str, dict[str, float]]):
    """``task -> {metric: value}`` of one split (what the trainer logs), and what ``ifan eval``
    shows besides: the images scored per task, what its reader left out on purpose, the tasks
    skipped and why, and each task's metric for its pictures."""

    def __init__(self, split: str):
        super().__init__()
        self.split = split
        self.samples: dict[str, int] = {}
        self.left_out: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.metrics: dict[str, Metric] = {}

    def pictures(self) -> dict[str, dict[str, Any]]:
        """``task -> {name: PIL.Image}``: the metrics' pictures (e.g. confusion matrices), drawn
        now, as drawing takes longer than scoring a small split."""
        return {task: metric.pictures() for task, metric in self.metrics.items()}


def _shard() -> tuple[int, int]:
    """``(rank, world size)`` of this process under ``torch.distributed``, else ``(0, 1)``."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


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
            prediction = model.predict_task(as_float(images.to(device)), task, iterations)
            metric.update(prediction.float().cpu(), target)
    model.train(training)
    metric.all_reduce()
    return metric


def evaluate(
    model: IFAN,
    manifest: Manifest,
    split: Split,
    batch_size: int | None = None,
    progress: bool = True,
) -> Evaluation:
    """Score every task of ``manifest`` that has ``split`` on it; a task without the split is
    skipped (with a message when ``progress``, and in ``Evaluation.skipped``).

    ``batch_size`` defaults to each task's own. Each task's batches go through the full iterative
    forward with that task's batch norm (its prediction of ``model.predict_all``, without the other
    tasks' passes). ``progress`` shows a bar over the tasks on the first process; False is quiet.
    """
    device = next(model.parameters()).device
    shard = _shard()
    talk = progress and shard[0] == 0
    results = Evaluation(split)
    tasks = bar(manifest.tasks.items(), desc=f"eval {split}", unit="task", enabled=talk)
    for name, config in tasks:
        tasks.set_postfix_str(name)
        task = model.tasks[name]
        opened = open_splits(config, task, manifest, splits=(split,), augment=False, progress=talk)
        if split not in opened.datasets:
            results.skipped[name] = missing_split(config, split)
            if talk:
                tasks.write(f"skipped {name}: {results.skipped[name]}", file=sys.stderr)
            continue
        dataset = opened.datasets[split]
        size = batch_size or config.batch_size
        metric = evaluate_task(model, name, dataset, size, device=device, shard=shard)
        results[name] = metric.compute()
        results.samples[name] = len(dataset)  # type: ignore[arg-type]
        results.left_out[name] = opened.bad[split].left_out_summary()
        results.metrics[name] = metric
    return results


def missing_split(config: TaskConfig, split: Split) -> str:
    """Why a task is not scored on ``split``, and what to do: give the split, or (for the test
    split of a task that has a validation split) score that one with ``--split val``."""
    message = f"tasks.{config.name}.data has no {split} split"
    if split == "test" and ("val" in config.data.splits or config.data.val_fraction is not None):
        return f"{message}; score its validation split with --split val"
    return message


def flat_json(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """``{"<task>.<metric>": value}``, values as fractions: what ``ifan eval --json`` writes."""
    return {
        f"{task}.{metric}": float(value)
        for task, values in results.items()
        for metric, value in values.items()
    }
