"""Scores as the paper's tables show them, for ``ifan eval``: a row per metric, a column per
point, class or group, ``all`` for the overall value, cut to the terminal's width."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ifan.contract import LabelSchema
from ifan.metrics.base import Cell
from ifan.metrics.names import ALL, value_name
from ifan.tables import format_table

if TYPE_CHECKING:
    from ifan.evaluation import Evaluation
    from ifan.manifest import Manifest

TABLE_WIDTH = 100
"""Tables wider than this are cut into several, each repeating the metric column."""


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
    units: Mapping[str, str] | None = None,
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


def format_group_tables(results: Evaluation, manifest: Manifest) -> str:
    """``ifan eval --by KEY``: for each task whose samples have the target ``KEY``, a row per
    value of it with its images and the task's overall values (those under ``all``) on them;
    then which tasks were not broken down and why."""
    by, parts = results.by, []
    for name, groups in results.groups.items():
        labels = manifest.tasks[name].build_task().labels
        rows, overall = [], {}
        for value, metric in groups.items():
            _, grid = _grid(metric.compute(), labels, metric.layout())
            overall = {row: cells[ALL] for row, cells in grid.items() if ALL in cells}
            numbers = (_number(v, row not in metric.units) for row, v in overall.items())
            rows.append([value, results.group_samples[name][value], *numbers])
        headers = [str(by), "images", *overall]
        parts.append(
            f"{name} by {by} ({results.split}; fractions in %)\n" + format_table(headers, rows)
        )
    missing = [f"{name} not broken down by {by}: {why}" for name, why in results.ungrouped.items()]
    return "\n\n".join([*parts, *(["\n".join(missing)] if missing else [])])
