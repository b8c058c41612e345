"""The run folder's layout, in one place: every other module asks here where a run keeps what.

::

    checkpoints/step-00000123.safetensors   weights, optimizer and the run's metadata
    checkpoints/best.safetensors            the best by train.keep_best, when set
    metrics.jsonl                           every training loss and validation metric
    curves.png                              each task's main metric across both stages

The step checkpoints are numbered by the optimiser step; the newest that reads cleanly is the one
a resume, ``ifan eval`` and ``ifan predict`` take.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ifan.errors import IfanError
from ifan.runs.checkpoint import CheckpointError, read_header

CHECKPOINTS = "checkpoints"
"""The folder of the run's checkpoints."""
HISTORY = "metrics.jsonl"
"""The run's metrics log (:mod:`ifan.runs.history`)."""
CURVES = "curves.png"
"""The learning curves drawn from the history."""
BEST_NAME = "best.safetensors"
"""The best checkpoint's file in ``RUN_DIR/checkpoints``: not ``step-*``, so neither pruned nor
taken for the newest."""

_CHECKPOINT_NAME = re.compile(r"step-(\d{8,})\.safetensors")


def best_path(run_dir: Path) -> Path:
    """Where the run's best checkpoint lives."""
    return Path(run_dir) / CHECKPOINTS / BEST_NAME


def checkpoint_path(run_dir: Path, step: int) -> Path:
    """Where the checkpoint of ``step`` lives: ``RUN_DIR/checkpoints/step-00001234.safetensors``."""
    return Path(run_dir) / CHECKPOINTS / f"step-{step:08d}.safetensors"


def _checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """The run's checkpoint files by step, oldest first (temporary files excluded)."""
    folder = Path(run_dir) / CHECKPOINTS
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        match = _CHECKPOINT_NAME.fullmatch(p.name)
        if match and p.is_file():
            found.append((int(match.group(1)), p))
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> Path | None:
    """The newest checkpoint of the run whose header reads cleanly; None if there is none.

    A corrupt newest file (a disk failure after the atomic write) is skipped in favour of the
    one before it.
    """
    for _, p in reversed(_checkpoints(run_dir)):
        try:
            read_header(p)
        except CheckpointError:
            continue
        return p
    return None


def prune_checkpoints(run_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` (at least one) checkpoints; returns what was deleted.

    Temporary files left by a crashed process (another pid) are deleted too.
    """
    found = _checkpoints(run_dir)
    doomed = [p for _, p in found[: max(0, len(found) - max(1, keep))]]
    folder = Path(run_dir) / CHECKPOINTS
    if folder.is_dir():
        own = f".tmp-{os.getpid()}"
        doomed += [
            p
            for p in folder.iterdir()
            if p.name.startswith(".") and ".tmp-" in p.name and not p.name.endswith(own)
        ]
    for p in doomed:
        p.unlink(missing_ok=True)
    return doomed


def find_checkpoint(path: Path) -> Path:
    """``path`` itself when it is a checkpoint file, else the latest checkpoint of the run
    folder ``path``."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise IfanError(f"{path}: no such run folder or checkpoint file")
    latest = latest_checkpoint(path)
    if latest is None:
        raise IfanError(f"{path}: the run folder has no checkpoint yet (checkpoints/*.safetensors)")
    return latest
