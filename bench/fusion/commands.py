"""The ``ifan`` commands of the fusion benchmark, as it runs them and as a reader reruns them from
the repository root: each model's ``ifan train`` (``examples/fusion.toml`` changed by ``--tasks``
and ``--set`` only) and each matrix's ``ifan probe``."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

from bench.fusion.design import (
    MANIFEST,
    TASKS,
    TEST_PER_PERSON,
    VAL_FRACTION,
    VAL_PER_PERSON,
    Model,
    Scale,
)
from bench.fusion.plugins import SITE
from bench.lib.paths import ROOT, shown_path


def shown_command(arguments: list[str]) -> str:
    """An ``ifan`` command as a reader runs it from the repository root, the plugins' folder on
    ``PYTHONPATH``."""
    inside = str(ROOT) + os.sep
    words = ["ifan", *(a.replace(inside, "") for a in arguments)]
    return f"PYTHONPATH={shown_path(SITE)} {shlex.join(words)}"


def recipe(model: Model, scale: Scale, carving: str) -> dict[str, Any]:
    """What a model is trained with, but for the data's paths (which may move): its tasks, its
    ``--set`` values and the UTKFace carving's digest. Recorded as ``recipe.json``."""
    settings = [*scale.schedule, *model.settings]
    for task in model.tasks:
        if scale.train_samples is not None:
            settings.append(f"tasks.{task}.data.train_samples={scale.train_samples}")
        if task == "identity":
            for key, default in (("val_per_person", VAL_PER_PERSON),
                                 ("test_per_person", TEST_PER_PERSON)):  # fmt: skip
                if getattr(scale, key) != default:
                    settings.append(f"tasks.identity.data.{key}={getattr(scale, key)}")
        elif scale.val_fraction != VAL_FRACTION:
            settings.append(f"tasks.{task}.data.val_fraction={scale.val_fraction:g}")
    return {"tasks": list(model.tasks), "settings": settings, "utkface": carving}


def data_settings(model: Model, data: Path, utkface: dict[str, Path]) -> list[str]:
    """The ``--set`` values pointing the model's tasks at the data: LFW as it is, UTKFace's
    carved folders."""
    out = []
    for task in model.tasks:
        if task == "identity":
            lfw = (data / "lfw").resolve()
            keys = ("people", "train", "val", "test")
            out += [f"tasks.identity.data.{key}={lfw}" for key in keys]
        else:
            out += [f"tasks.{task}.data.{split}={utkface[split].resolve()}"
                    for split in ("train", "test")]  # fmt: skip
    return out


def train_command(model: Model, expected: dict[str, Any], paths: list[str], out: Path) -> list:
    """The ``ifan`` arguments that train ``model`` into ``out``."""
    settings = [f"--set={s}" for s in [*expected["settings"], *paths]]
    return ["train", str(MANIFEST), "--tasks", ",".join(model.tasks), *settings, "--out", str(out),
            "--quiet"]  # fmt: skip


def probe_command(kind: str, work: Path, head: str, epochs: int, out: Path) -> list[str]:
    """The ``ifan probe`` arguments of one matrix: every task of its models as a source, and as
    a target with its own run."""
    runs = {task: work / (f"single-{task}" if kind == "single" else "integrated") / "run"
            for task in TASKS}  # fmt: skip
    command = ["probe"]
    for task in TASKS:
        command += ["--target", f"{runs[task]}:{task}"]
    for task in TASKS:
        command += ["--source", f"{runs[task]}:{task}"]
    return [*command, "--head", head, "--epochs", str(epochs), "--seed", "0",
            "--cache", str(work / "features" / kind), "--json", str(out)]  # fmt: skip


def threads_option(threads: int) -> list[str]:
    """``--threads N`` for an ``ifan`` command (nothing for 0: torch's default)."""
    return ["--threads", str(threads)] if threads else []
