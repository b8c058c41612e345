"""What the fusion benchmark trains and probes: the tasks and their main metrics, the models, the
matrices, the scales, and the paper's claims it checks."""

from __future__ import annotations

from dataclasses import dataclass

from bench.lib.paths import ROOT

MANIFEST = ROOT / "examples" / "fusion.toml"
TASKS = ("identity", "age", "gender", "race")
MAIN = {"identity": "accuracy", "age": "mae", "gender": "accuracy", "race": "accuracy"}
"""Each task's main metric (its plugin's): a fraction, higher is better, but age's MAE in years."""
LOWER_IS_BETTER = {"mae"}
TEST_FRACTION = 0.15
"""The share of UTKFace's files carved out as its test split."""
VAL_FRACTION = 0.1
"""UTKFace's validation share of its training files (the manifest's)."""
VAL_PER_PERSON, TEST_PER_PERSON = 2, 3
"""LFW's photos held out of each person's for val and test (the manifest's)."""
OWN, FUSED = "own", "fused"
"""The probe rows of the target's own features and of all of them side by side."""


@dataclass(frozen=True)
class Model:
    """One training: which tasks, and what differs from the integrated model."""

    name: str
    tasks: tuple[str, ...]
    settings: tuple[str, ...] = ()


MODELS = (
    *(Model(f"single-{task}", (task,), ("model.iterations=0",)) for task in TASKS),
    Model("integrated", TASKS),
)
MATRICES = {"single": [f"single-{task}" for task in TASKS], "integrated": ["integrated"]}
"""Each matrix's source models: the four single-task models, or the integrated one."""


@dataclass(frozen=True)
class Scale:
    """How big the runs are: the schedule every model shares, and the faces."""

    schedule: tuple[str, ...]
    train_samples: int | None = None
    """Training faces a task (None: all)."""
    val_fraction: float = VAL_FRACTION
    """UTKFace's validation share, carved out of its training files."""
    val_per_person: int = VAL_PER_PERSON
    test_per_person: int = TEST_PER_PERSON
    test_files: int | None = None
    """UTKFace test files kept of the carved test split (None: all)."""
    probe_epochs: int = 30


# The full scale, sized from one-thread updates measured on this project's machine while two
# other trainings shared its 2 cores (see bench/fusion/__main__.py's docstring).
PRETRAIN, FINETUNE, ROUNDS = 8, 6, 300
SCALES = {
    "quick": Scale(
        ("train.pretrain_epochs=2", "train.finetune_epochs=2", "train.finetune_rounds=5"),
        train_samples=320,
        val_fraction=0.02,
        val_per_person=1,
        test_per_person=1,
        test_files=150,
        probe_epochs=5,
    ),
    "full": Scale(
        (f"train.pretrain_epochs={PRETRAIN}", f"train.finetune_epochs={FINETUNE}",
         f"train.finetune_rounds={ROUNDS}"),
    ),
}  # fmt: skip

# The paper's claims (its abstract and summary, ../shared/seeds/multitask-fusion-summary.txt):
# fusion's gain in accuracy per task, in % (it does not say whether relative or in points; its age
# task classifies age groups, ours regresses years, scored by MAE).
PAPER_FUSION_GAIN = {"identity": 7.2, "age": 20.1, "race": 21.0, "gender": 21.0}
PAPER_OVER = {"race", "gender"}
"""Tasks whose gain the paper gives as "over" its number."""
PAPER_CLAIMS = {
    "transfer": "features trained for one task can be used for other related tasks",
    "id-on-race": "features of a task with more classes (ID) used for race outperform race's own",
    "fusion": "fusion improves ID accuracy by 7.2 %, age by 20.1 %, race and gender by over 21 %",
}
