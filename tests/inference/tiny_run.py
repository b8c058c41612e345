"""A run folder of an untrained network beside synthetic datasets of a few faces per split, as
the trainer would leave it but made without it: what the tests of ``ifan eval`` and ``ifan
predict`` load."""

from __future__ import annotations

from pathlib import Path

import torch

from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.runs.checkpoint import save_checkpoint
from ifan.runs.layout import checkpoint_path
from ifan.runs.meta import run_meta
from ifan_tasks.synthetic.writer import TASKS, write_datasets

COUNTS = {task: {"train": 4, "val": 3, "test": 4} for task in TASKS}


def write_data(folder: Path) -> Path:
    """Synthetic 32 x 32 faces of every built-in task, and their manifest, in ``folder``."""
    write_datasets(folder, seed=0, size=32, counts=COUNTS)
    return folder


def untrained_run(data: Path, folder: Path, manifest_name: str = "manifest.toml") -> Path:
    """``folder`` as a run with one checkpoint of the untrained network of ``data``'s manifest
    (one iteration)."""
    manifest = load_manifest(data / manifest_name, ["model.iterations=1"])
    torch.manual_seed(0)
    model = build_model(manifest)
    meta = run_meta(manifest, {"step": 1})
    save_checkpoint(checkpoint_path(folder, 1), model.state_dict(), None, meta)
    return folder
