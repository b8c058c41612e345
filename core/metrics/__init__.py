"""Reusable :class:`ifan.metric.Metric` bases for task plugins."""
