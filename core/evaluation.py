"""Scoring a model on every task's split: metric values, tables like the paper's, flat JSON.

Each task is scored on its own dataset, as in the paper's Tables 1-3: :func:`evaluate` opens each
task's split as the manifest says and scores it with :func:`ifan.training.validation.evaluate_task`
(the task's batch norm, every process a share under ``torch.distributed``, the metric summed over
the processes), returning ``task -> {metric: value}`` with values as fractions (0.0581 for
5.81 %). :func:`format_tables` prints them in percent; :func:`flat_json` makes the
``<task>.<metric>`` keys that ``ifan eval --json`` writes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch.distributed as dist

from ifan.contract import LabelSchema, Split
from ifan.data.splits import open_splits
from ifan.metric import Cell, Metric
from ifan.metrics.names import ALL, value_name
from ifan.progress import bar
from ifan.tables import format_table
from ifan.training.validation import evaluate_task

if TYPE_CHECKING:
    from ifan.manifest import Manifest
    from ifan.manifest.loader import TaskConfig
    from ifan.network.model import IFAN

TABLE_WIDTH = 100
"""Tables wider than this are cut into several, each repeating the metric column."""


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


def _cells(
    values: dict[str, float], columns: list[str], layout: dict[str, Cell] | None
) -> dict[str, Cell]:
    """Each value's row and column: as the metric's ``layout`` says (a value it leaves out in a
    row of its own under ``all``), or without one by the value's name: ``<row>_<column>`` for a
    column of the labels, else ``all``."""
    if layout is not None:
        return {key: layout.get(key, (key, ALL)) for key in values}
    longest_first = sorted(columns, key=len, reverse=True)
    cells = {}
    for key in values:
        column = next(
            (c for c in longest_first if key.endswith(f"_{c}") and len(key) > len(c) + 1), ALL
        )
        cells[key] = (key if column == ALL else key[: -len(column) - 1], column)
    return cells


def _grid(
    values: dict[str, float], labels: LabelSchema, layout: dict[str, Cell] | None = None
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """The values as rows (the metric, e.g. ``nme``) by columns (the class, point or group, e.g.
    ``left_eye``; ``all`` for none; see :func:`_cells`), columns in the labels' order, then any
    other column of the layout."""
    columns = list(dict.fromkeys(value_name(n) for n in (*labels.names, *labels.groups)))
    grid: dict[str, dict[str, float]] = {}
    for key, (row, column) in _cells(values, columns, layout).items():
        grid.setdefault(row, {})[column] = values[key]
    seen = [c for cells in grid.values() for c in cells]
    order = dict.fromkeys([*columns, *(c for c in seen if c != ALL), ALL])
    used = [c for c in order if any(c in cells for cells in grid.values())]
    return used, grid


def _chunks(headers: list[str], cells: list[list[str]], width: int) -> Iterator[list[int]]:
    """Indices of the value columns that fit in ``width`` characters beside the first column."""
    first = max([len(headers[0])] + [len(row[0]) for row in cells]) + 2
    chunk: list[int] = []
    used = first
    for i in range(1, len(headers)):
        need = max([len(headers[i])] + [len(row[i]) for row in cells]) + 2
        if chunk and used + need > width:
            yield chunk
            chunk, used = [], first
        chunk.append(i)
        used += need
    if chunk:
        yield chunk


def format_task_table(
    name: str,
    values: dict[str, float],
    labels: LabelSchema,
    note: str,
    units: dict[str, str] | None = None,
    layout: dict[str, Cell] | None = None,
) -> str:
    """One task's values as the paper's tables show them: a row per metric (NME and failure rate,
    F-score, accuracy), a column per point or class (and group), ``all`` for the overall value
    (as the metric's ``layout`` places them, or by their names); fractions in percent with two
    decimals, values with a unit (the metric's ``units``) as they are, the unit beside the row's
    name."""
    units = units or {}
    columns, grid = _grid(values, labels, layout)
    headers = ["metric", *columns]
    cells = [
        [
            f"{row} ({units[row]})" if row in units else row,
            *(_number(cells[c], row not in units) if c in cells else "" for c in columns),
        ]
        for row, cells in grid.items()
    ]
    parts = [f"{name} ({note}; fractions in %)"]
    for chunk in _chunks(headers, cells, TABLE_WIDTH):
        keep = [0, *chunk]
        parts.append(
            format_table([headers[i] for i in keep], [[r[i] for i in keep] for r in cells])
        )
    return "\n".join(parts)


def _number(value: float, percent: bool) -> str:
    return f"{100 * value:.2f}" if percent else f"{value:.4g}"


def format_tables(results: Evaluation, manifest: Manifest) -> str:
    """Every task's table (see :func:`format_task_table`), with the split and image count."""
    tables = []
    for name, values in results.items():
        labels = manifest.tasks[name].build_task().labels
        left_out = results.left_out.get(name)
        note = f"{results.split}, {results.samples[name]} images"
        note += f", {left_out}" if left_out else ""
        metric = results.metrics.get(name)
        units = metric.units if metric is not None else {}
        layout = metric.layout() if metric is not None else None
        tables.append(format_task_table(name, values, labels, note, units, layout))
    return "\n\n".join(tables)
