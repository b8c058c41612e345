"""Metric value names: short snake_case keys that become ``<task>.<name>``."""

from __future__ import annotations

import re
from collections.abc import Iterable

ALL = "all"
"""The table column of values that belong to no single class or point (e.g. the mean NME)."""


def value_name(name: str) -> str:
    """A class, group or point name as a snake_case value name (``Mouth-All`` -> ``mouth_all``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def per_label(row: str, names: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The table cells of a value computed per class or point: ``{"<row>_<name>": (row, name)}``
    for every name as a value name (see :meth:`ifan.metrics.Metric.layout`)."""
    return {f"{row}_{value_name(name)}": (row, value_name(name)) for name in names}
