"""A short 3-task training run on a few synthetic faces (22 updates: 10 in stage 1, then 2
stage-2 epochs of 2 rounds), shared by the trainer's tests."""

from __future__ import annotations

from pathlib import Path

from ifan.manifest import load_manifest
from ifan.plugins import PluginRegistry
from ifan.runs.checkpoint import Checkpoint
from ifan.training.trainer import Trainer
from ifan_tasks.synthetic.writer import write_datasets

TASKS = ("parsing", "landmarks", "emotion")
COUNTS = {
    "parsing": {"train": 8, "val": 2, "test": 2},
    "landmarks": {"train": 12, "val": 2, "test": 2},
    "emotion": {"train": 20, "val": 4, "test": 4},
}
SMALL = [
    "model.iterations=1",
    "train.pretrain_epochs=1",
    "train.finetune_epochs=2",
    "train.finetune_rounds=2",
    "tasks.parsing.batch_size=4",
    "tasks.landmarks.batch_size=4",
    "tasks.emotion.batch_size=4",
]
STAGE_1 = 10
"""Updates of stage 1: 8 // 4 + 12 // 4 + 20 // 4."""
EPOCH = 6
"""Updates of a stage-2 epoch: 2 rounds of 3 tasks."""


def write_faces(folder: Path) -> Path:
    """The synthetic datasets in ``folder``; their manifest."""
    write_datasets(folder, seed=0, size=32, counts=COUNTS)
    return folder / "manifest.toml"


def trainer(
    faces: Path,
    run: Path,
    *extra: str,
    checkpoint: Checkpoint | None = None,
    init_from: Checkpoint | None = None,
    registry: PluginRegistry | None = None,
) -> Trainer:
    """A trainer of the short run with ``extra`` overrides, without progress bars (plugins from
    ``registry`` when given)."""
    manifest = load_manifest(faces, [*SMALL, *extra], registry)
    return Trainer(manifest, run, checkpoint, progress_bars=False, init_from=init_from)
