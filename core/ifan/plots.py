"""Pictures of a run: training curves across both stages (like Fig. 7 of the paper), confusion
matrices, and the relative changes of ``ifan compare``.

Figures are drawn on their own :class:`~matplotlib.figure.Figure` with an Agg canvas, never through
``pyplot``: no global state, so drawing is thread-safe and never opens a window. matplotlib is
imported here only, so ``import ifan`` stays light.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogFormatter, MaxNLocator
from matplotlib.transforms import blended_transform_factory, offset_copy
from PIL import Image

if TYPE_CHECKING:
    import torch

DPI = 120
STAGE_NAMES = {1: "stage 1: pre-training", 2: "stage 2: alternating fine-tuning"}
MAX_ANNOTATED_CLASSES = 30
"""Confusion matrices with more classes than this get colours only: the numbers would not fit."""


class _PlainLogFormatter(LogFormatter):
    """Labels the ticks of a log axis that :class:`LogFormatter` would label, as plain numbers
    (0.6, 2) rather than 6e-01 or 2x10^0."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{x:g}" if super().__call__(x, pos) else ""


def _task_order(records: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(record["task"]) for record in records))


def _stage_offsets(records: Sequence[dict[str, Any]]) -> tuple[dict[int, int], int | None]:
    """How far each stage's epochs are shifted on the shared x axis, and where stage 2 starts
    (``None`` unless both stages are present): stage 2's epoch ``e`` is at ``E1 + e``, ``E1`` being
    the last epoch stage 1 logged."""
    stages = {int(record["stage"]) for record in records}
    if stages != {1, 2}:
        return {stage: 0 for stage in stages}, None
    last = max(int(record["epoch"]) for record in records if int(record["stage"]) == 1)
    return {1: 0, 2: last}, last


def _loss_points(
    records: Sequence[dict[str, Any]], offsets: dict[int, int], task: str
) -> tuple[list[float], list[float]]:
    """x and loss per prediction of a task's finite training losses (stage 2's sum over its
    iterations' predictions divided by their number, so both stages share a scale); several
    windows logged in one epoch ``e`` are spread evenly over ``(e - 1, e]`` in step order."""
    windows: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["task"] == task:
            windows[int(record["stage"]), int(record["epoch"])].append(record)
    points = []
    for (stage, epoch), group in windows.items():
        group.sort(key=lambda record: record["step"])
        for index, record in enumerate(group):
            x = offsets[stage] + epoch - 1 + (index + 1) / len(group)
            if record.get("loss") is not None:
                points.append((x, float(record["loss"]) / int(record.get("outputs", 1))))
    points.sort()
    return [x for x, _ in points], [y for _, y in points]


def _sums_iterations(records: Sequence[dict[str, Any]]) -> bool:
    """Whether some loss is a sum over several iterations' predictions (then plotted divided)."""
    return any(int(record.get("outputs", 1)) > 1 for record in records)


def _mark_stages(figure: Figure, axes: Axes, boundary: int | None) -> None:
    """A dashed line where stage 2 starts, each stage's name written beside it above the axes."""
    if boundary is None:
        return
    axes.axvline(boundary, color="0.4", linestyle="--", linewidth=1)
    transform = blended_transform_factory(axes.transData, axes.transAxes)
    for stage, shift, align in ((1, -3, "right"), (2, 3, "left")):
        axes.text(
            boundary,
            1.01,
            STAGE_NAMES[stage],
            transform=offset_copy(transform, fig=figure, x=shift, units="points"),
            ha=align,
            va="bottom",
            fontsize=7,
            color="0.3",
        )


def _x_label(boundary: int | None, stages: set[int]) -> str:
    if boundary is not None:
        return "epoch (stage 1, then stage 2)"
    return f"epoch ({STAGE_NAMES[next(iter(stages))]})"


def plot_history(records: list[dict[str, Any]], out: Path) -> Path:
    """Draw a run's history (records of :mod:`ifan.runs.history`) into the PNG ``out``.

    One panel per task with its main validation metric against the epoch, stage 2 continuing
    where stage 1 stopped, its best value starred; one last panel with every task's training
    loss (log scale when all are positive). Returns ``out``.
    """
    if not records:
        raise ValueError("no history records to plot: the run has not logged anything yet")
    train = [record for record in records if record.get("kind") == "train"]
    val = [
        record
        for record in records
        if record.get("kind") == "val" and record.get("split", "val") == "val"
    ]
    if not train and not val:
        kinds = sorted({str(record.get("kind")) for record in records})
        raise ValueError(f"no 'train' or 'val' records to plot among {len(records)} ({kinds})")
    offsets, boundary = _stage_offsets(train + val)
    stages = set(offsets)
    tasks = _task_order(train + val)
    colours = {task: colormaps["tab10"](index % 10) for index, task in enumerate(tasks)}
    val_tasks = _task_order(val)

    panels = len(val_tasks) + (1 if train else 0)
    columns = min(panels, 2 if panels == 4 else 3)
    rows = -(-panels // columns)
    figure = _figure(5.0 * columns, 3.8 * rows)
    grid = figure.subplots(rows, columns, squeeze=False).ravel()
    for axes in grid[panels:]:
        axes.set_visible(False)

    for axes, task in zip(grid[: len(val_tasks)], val_tasks, strict=True):
        task_records = [record for record in val if record["task"] == task]
        main = task_records[-1]["main"]
        higher = bool(task_records[-1].get("higher_is_better", True))
        points = sorted(
            (offsets[int(record["stage"])] + int(record["epoch"]), record["metrics"][main])
            for record in task_records
            if record.get("metrics", {}).get(main) is not None
        )
        if points:
            epochs, values = zip(*points, strict=True)
            axes.plot(
                epochs, values, marker="o", markersize=3, color=colours[task], label=f"val {main}"
            )
            best = (max if higher else min)(points, key=lambda point: point[1])
            axes.plot(
                *best,
                marker="*",
                markersize=12,
                color="gold",
                markeredgecolor="black",
                linestyle="none",
                label=f"best {best[1]:.4g} (epoch {best[0]})",
            )
            axes.legend(fontsize=8)
        else:
            axes.text(0.5, 0.5, f"no finite {main}", ha="center", transform=axes.transAxes)
        _mark_stages(figure, axes, boundary)
        direction = "higher" if higher else "lower"
        axes.set_title(f"{task}: validation {main} ({direction} is better)", pad=14)
        axes.set_ylabel(main)

    if train:
        axes = grid[len(val_tasks)]
        all_positive = True
        for task in _task_order(train):
            xs, ys = _loss_points(train, offsets, task)
            all_positive &= all(y > 0 for y in ys)
            axes.plot(xs, ys, marker="o", markersize=2, color=colours[task], label=task)
        if all_positive:
            axes.set_yscale("log")
            axes.yaxis.set_major_formatter(_PlainLogFormatter(labelOnlyBase=False))
            axes.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))
        _mark_stages(figure, axes, boundary)
        axes.set_title("training loss per task", pad=14)
        label = "loss per prediction" if _sums_iterations(train) else "loss"
        axes.set_ylabel(f"{label} (log scale)" if all_positive else label)
        axes.legend(fontsize=8)

    for axes in grid[:panels]:
        axes.set_xlabel(_x_label(boundary, stages))
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    return _save_png(figure, out)


def plot_confusion(
    matrix: Sequence[Sequence[float]] | np.ndarray | torch.Tensor,
    names: Sequence[str],
    title: str = "",
) -> Image.Image:
    """A confusion matrix as an RGB picture: rows are the true classes, columns the predicted
    ones, each cell coloured by its fraction of the row (the class's recall on the diagonal) and
    annotated with its count and percentage."""
    if hasattr(matrix, "detach"):
        matrix = matrix.detach().cpu().numpy()
    counts = np.asarray(matrix, dtype=np.float64)
    size = len(names)
    if counts.ndim != 2 or counts.shape != (size, size):
        raise ValueError(
            f"confusion matrix of shape {tuple(counts.shape)} does not match {size} class names "
            f"(expected {size} x {size})"
        )
    if size == 0 or (counts < 0).any() or not np.isfinite(counts).all():
        raise ValueError("a confusion matrix needs at least one class and finite counts >= 0")
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)

    side = max(4.5, 0.55 * size + 2.5)
    figure = Figure(figsize=(side + 1.2, side), dpi=DPI)
    canvas = FigureCanvasAgg(figure)
    axes = figure.subplots()
    image = axes.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
    if size <= MAX_ANNOTATED_CLASSES:
        fontsize = max(5.0, min(9.0, 80.0 / size))
        integral = bool(np.all(counts == np.round(counts)))
        for row in range(size):
            for column in range(size):
                count = counts[row, column]
                text = f"{count:.0f}" if integral else f"{count:.3g}"
                axes.text(
                    column,
                    row,
                    f"{text}\n{fractions[row, column]:.1%}",
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="white" if fractions[row, column] > 0.5 else "black",
                )
    axes.set_xticks(
        range(size), labels=list(names), rotation=45, ha="right", rotation_mode="anchor"
    )
    axes.set_yticks(range(size), labels=list(names))
    total = counts.sum()
    accuracy = np.trace(counts) / total if total > 0 else 0.0
    axes.set_xlabel(f"predicted class (accuracy {accuracy:.1%} of {total:.0f})")
    axes.set_ylabel("true class")
    axes.set_title(title or "confusion matrix")
    figure.tight_layout()
    canvas.draw()
    return Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")


def plot_changes(
    changes: Mapping[str, Mapping[str, float | None]],
    out: Path,
    tolerance: float | None = None,
) -> Path:
    """Draw relative changes against baselines into the PNG ``out``: a group of bars per label
    (each task's main value, then Δm), a bar per run in each, in percent, positive is better;
    the gate's ``-tolerance`` as a dashed line. ``changes`` is ``run -> {label: fraction}``
    (None: not finite, left out), with ``Δm`` among the labels. Returns ``out``."""
    if not changes:
        raise ValueError("no relative changes to plot: compare runs with baselines")
    labels = list(dict.fromkeys(label for values in changes.values() for label in values))
    labels.sort(key=lambda label: label == "Δm")  # last, also where runs have other tasks
    width = 0.8 / len(changes)
    figure = _figure(max(5.0, 1.6 * len(labels) + 2.0), 4.2)
    axes = figure.subplots()
    for index, (run, values) in enumerate(changes.items()):
        places = [
            (position + (index - (len(changes) - 1) / 2) * width, 100 * value)
            for position, label in enumerate(labels)
            if (value := values.get(label)) is not None
        ]
        xs, ys = zip(*places, strict=True) if places else ((), ())
        bars = axes.bar(xs, ys, width, color=colormaps["tab10"](index % 10), label=run)
        axes.bar_label(bars, labels=[f"{y:+.1f} %" for y in ys], fontsize=7, padding=2)
    axes.axhline(0, color="black", linewidth=0.8)
    if tolerance is not None:
        axes.axhline(
            -100 * tolerance,
            color="firebrick",
            linestyle="--",
            linewidth=1,
            label=f"gate: -{100 * tolerance:.2f} %",
        )
    axes.set_xticks(range(len(labels)), labels=labels)
    axes.set_ylabel("relative change, % (+ is better)")
    axes.set_title("each task's main value against its baseline, and Δm")
    axes.margins(y=0.15)
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    return _save_png(figure, out)


def _figure(width: float, height: float) -> Figure:
    """A figure of ``width x height`` inches drawn by its own Agg canvas (no pyplot)."""
    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _save_png(figure: Figure, out: Path) -> Path:
    """Lay ``figure`` out and write it as the PNG ``out`` (its folder made); returns ``out``."""
    figure.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, format="png", dpi=DPI)
    return out
