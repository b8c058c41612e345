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
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, Subset

from ifan.contract import Split
from ifan.data.errors import DatasetError
from ifan.data.splits import as_float, open_splits
from ifan.data.targets import target_values
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
        self.by: str | None = None
        """The target the scores are also broken down by (``ifan eval --by``), if any."""
        self.groups: dict[str, dict[int, Metric]] = {}
        """``task -> {value of the target: the metric of its samples}``."""
        self.group_samples: dict[str, dict[int, int]] = {}
        """``task -> {value: images}`` of :attr:`groups`."""
        self.ungrouped: dict[str, str] = {}
        """Why a task is not broken down (its samples have no such target)."""

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
    by: tuple[str, Sequence[int]] | None = None,
) -> tuple[Metric, dict[int, Metric]]:
    """Task ``task``'s metric on ``dataset`` with its own batch norm, after ``iterations``
    interaction iterations (default: the model's). ``shard = (rank, world)``: this process
    scores every ``world``-th sample and the metric is summed across processes. ``by = (key,
    values)`` also scores the samples of each value of their integer target ``key`` apart
    (``values``: every value of the whole split, so that all processes hold the same metrics)."""
    rank, world = shard
    if world > 1:
        dataset = Subset(dataset, range(rank, len(dataset), world))  # type: ignore[arg-type]
    device = device if device is not None else torch.device("cpu")
    metric = model.tasks[task].new_metric()
    groups = {} if by is None else {value: model.tasks[task].new_metric() for value in by[1]}
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=model.tasks[task].collate)
    training = model.training
    model.eval()
    with torch.no_grad():
        for images, target in loader:
            prediction = model.predict_task(as_float(images.to(device)), task, iterations)
            prediction = prediction.float().cpu()
            metric.update(prediction, target)
            if by is not None:
                codes = torch.as_tensor(target[by[0]]).reshape(-1)
                for value, group in groups.items():
                    rows = (codes == value).nonzero().flatten().tolist()
                    if rows:
                        group.update(_rows(prediction, rows), _rows(target, rows))
    model.train(training)
    for each in (metric, *groups.values()):
        each.all_reduce()
    return metric, groups


def _rows(batch: Any, rows: list[int]) -> Any:
    """The samples ``rows`` of a collated batch: a tensor, or a dict, list or tuple of them."""
    if isinstance(batch, torch.Tensor):
        return batch[rows]
    if isinstance(batch, dict):
        return {key: _rows(value, rows) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return [batch[i] for i in rows]
    raise TypeError(f"cannot take samples of a batch of {type(batch).__name__}")


def evaluate(
    model: IFAN,
    manifest: Manifest,
    split: Split,
    batch_size: int | None = None,
    progress: bool = True,
    by: str | None = None,
) -> Evaluation:
    """Score every task of ``manifest`` that has ``split`` on it; a task without the split is
    skipped (with a message when ``progress``, and in ``Evaluation.skipped``). ``by`` names an
    integer target (MTFL's ``pose``, a class task's ``label``) whose every value each task that
    has it is also scored on apart (``Evaluation.groups``).

    ``batch_size`` defaults to each task's own. Each task's batches go through the full iterative
    forward with that task's batch norm (its prediction of ``model.predict_all``, without the other
    tasks' passes). ``progress`` shows a bar over the tasks on the first process; False is quiet.
    """
    device = next(model.parameters()).device
    shard = _shard()
    talk = progress and shard[0] == 0
    results = Evaluation(split)
    results.by = by
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
        grouping = None
        if by is not None:
            try:
                counts = Counter(target_values(dataset, by).tolist())
                grouping = (by, sorted(counts))
                results.group_samples[name] = {value: counts[value] for value in grouping[1]}
            except DatasetError as error:
                results.ungrouped[name] = str(error)
        metric, groups = evaluate_task(
            model, name, dataset, size, device=device, shard=shard, by=grouping
        )
        results[name] = metric.compute()
        if groups:
            results.groups[name] = groups
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


def group_json(results: Evaluation) -> dict[str, float]:
    """``{"<task>.<metric>[<key>=<value>]": value}`` of ``ifan eval --by``, as fractions."""
    return {
        f"{task}.{metric}[{results.by}={value}]": float(number)
        for task, groups in results.groups.items()
        for value, group in groups.items()
        for metric, number in group.compute().items()
    }
