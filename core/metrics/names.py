"""Metric value names: short snake_case keys that become ``<task>.<name>``."""

from __future__ import annotations

import re


def value_name(name: str) -> str:
    """A class, group or point name as a snake_case value name (``Mouth-All`` -> ``mouth_all``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
