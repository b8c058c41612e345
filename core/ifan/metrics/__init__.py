"""Metrics: the :class:`Metric` base (additive state, merged across processes) and reusable
metrics for task plugins (classes, confusion matrices, masks, points, values)."""

from ifan.metrics.base import Cell, Metric

__all__ = ["Cell", "Metric"]
