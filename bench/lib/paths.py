"""Where the benchmarks read and write by default, wherever the checkout is."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root."""
RESULTS = ROOT / "bench" / "results"
"""The committed results: ``<name>.json`` and ``<name>.md`` of each benchmark."""
DATA = ROOT.parent / "shared" / "data"
"""The real datasets, laid out as ``../shared/data``."""


def shown_path(path: Path | str) -> str:
    """A path as a report shows it: relative to the repository root when inside it."""
    text = str(path)
    prefix = str(ROOT) + os.sep
    return text[len(prefix) :] if text.startswith(prefix) else text
