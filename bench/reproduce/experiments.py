"""The experiments of the paper's tables, the runs they make at each seed, and what each run is
trained with: ``ifan train examples/real-3task.toml`` changed by ``--tasks`` and ``--set`` only,
so a reader can rerun any one of them by hand."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.lib.paths import ROOT
from bench.lib.realdata import real_data_settings

MANIFEST = ROOT / "examples" / "real-3task.toml"


@dataclass(frozen=True)
class Experiment:
    """One row of the paper's tables: which tasks, and what differs from the 3-task model."""

    name: str
    row: str
    """The paper's name for it."""
    tasks: tuple[str, ...]
    settings: tuple[str, ...] = ()
    scales: tuple[str, ...] = ("cpu", "gpu")
    seeded: bool = field(default=False, kw_only=True)
    """Run once per seed of ``--seeds`` (else once, with the first)."""


EXPERIMENTS = [
    Experiment("single-parsing", "Single Task", ("parsing",), ("model.iterations=0",),
               seeded=True),
    Experiment("single-landmarks", "Single Task", ("landmarks",), ("model.iterations=0",),
               seeded=True),
    Experiment("single-emotion", "Single Task", ("emotion",), ("model.iterations=0",),
               seeded=True),
    Experiment("2t-iter0", "iFAN 2T Iter0", ("parsing", "landmarks"), ("model.iterations=0",),
               ("gpu",)),
    Experiment("2t-iter1", "iFAN 2T Iter1", ("parsing", "landmarks"), ("model.iterations=1",),
               ("gpu",)),
    Experiment("2t-iter2", "iFAN 2T Iter2", ("parsing", "landmarks"), ("model.iterations=2",),
               ("gpu",)),
    Experiment("3t-iter0", "iFAN 3T Iter0", ("parsing", "landmarks", "emotion"),
               ("model.iterations=0",), seeded=True),
    Experiment("3t-iter1", "iFAN 3T Iter1", ("parsing", "landmarks", "emotion"),
               ("model.iterations=1",)),
    Experiment("3t-iter2", "iFAN 3T Iter2", ("parsing", "landmarks", "emotion"),
               ("model.iterations=2",), seeded=True),
    Experiment("3t-iter3", "iFAN 3T Iter3", ("parsing", "landmarks", "emotion"),
               ("model.iterations=3",), ("gpu",)),
    Experiment("3t-iter4", "iFAN 3T Iter4", ("parsing", "landmarks", "emotion"),
               ("model.iterations=4",), ("gpu",)),
    Experiment("3t-iter2-resize", "re-encoders replaced by resizing (§4.3.2)",
               ("parsing", "landmarks", "emotion"),
               ("model.iterations=2", "model.reencoder=resize")),
    Experiment("3t-iter2-shared-bn", "shared batch norm (§4.3.3)",
               ("parsing", "landmarks", "emotion"),
               ("model.iterations=2", "model.batchnorm=shared")),
]  # fmt: skip

# The cpu scale: a quarter of the paper's input side, 4,000 of MTFL's 9,000 training faces and
# 9,600 of FER2013's 25,838 (all 16 of FASSEG V2's), 3 pre-training epochs per task, 3 alternating
# epochs of 60 rounds, bfloat16 autocast where the CPU computes it ("auto": 2x faster steps on an
# AVX512-BF16 CPU, bench/results/performance.md; float32 where it would be emulated), and the
# recipe's crop, the detector's box (docs/recipe.md: at
# small inputs it scored better for landmarks and emotion). The gpu scale keeps the manifest's
# schedule, data and crop.
SCALES: dict[str, list[str]] = {
    "cpu": [
        "model.input_size=32",
        "model.crop.margin=0",
        "train.pretrain_epochs=3",
        "train.finetune_epochs=3",
        "train.finetune_rounds=60",
        "train.lr_finetune_end=1e-4",
        "train.bf16=auto",
        "tasks.landmarks.data.train_samples=4000",
        "tasks.emotion.data.train_samples=9600",
    ],
    "gpu": ["train.device=cuda", "train.workers=8"],
}


def common_settings(scale: str) -> list[str]:
    """The manifest and the ``--set`` values every experiment of ``scale`` shares."""
    return ["examples/real-3task.toml", *SCALES[scale]]


def folder_name(name: str, seed: int) -> str:
    """A run's folder in ``WORK/<scale>/``: the experiment's name for seed 0 (where the runs
    made before seeds are), ``<name>-seed<N>`` for another seed."""
    return name if seed == 0 else f"{name}-seed{seed}"


@dataclass(frozen=True)
class Run:
    """One training: an experiment at one seed."""

    exp: Experiment
    seed: int

    def folder(self, work: Path, scale: str) -> Path:
        """Where the run is trained and scored, under ``--work``."""
        return work / scale / folder_name(self.exp.name, self.seed)


def plan(experiments: list[Experiment], seeds: list[int]) -> list[Run]:
    """The runs of ``experiments``, every experiment at its first seed before any at the next,
    so that a run cut short has whole tables at one seed first."""
    runs = [Run(e, s) for e in experiments for s in (seeds if e.seeded else seeds[:1])]
    return sorted(runs, key=lambda r: seeds.index(r.seed))


def planned_seeds(runs: list[Run]) -> dict[str, list[int]]:
    """The seeds each experiment of ``runs`` is run with, by name."""
    out: dict[str, list[int]] = {}
    for run in runs:
        out.setdefault(run.exp.name, []).append(run.seed)
    return out


def recipe(run: Run, scale: str) -> dict[str, Any]:
    """What a run is trained with, but for the data paths (which may move): its tasks and
    ``--set`` values. Recorded in its folder as ``recipe.json``."""
    settings = [*SCALES[scale], *run.exp.settings, f"train.seed={run.seed}"]
    return {"tasks": list(run.exp.tasks), "settings": settings}


def train_command(run: Run, scale: str, data: Path, out: Path) -> list[str]:
    """The ``ifan`` arguments that train ``run`` into ``out`` on the datasets in ``data``."""
    settings = [f"--set={s}" for s in [*recipe(run, scale)["settings"], *real_data_settings(data)]]
    return ["train", str(MANIFEST), "--tasks", ",".join(run.exp.tasks), *settings, "--out",
            str(out), "--quiet"]  # fmt: skip
