"""The ``ifan`` commands of the experiment benchmarks (reproduce, fusion, balancers): each run in
a folder of its own under ``--work``, resumable, with the settings it was trained with beside it
so that a run of other settings never stands for another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def load_json(path: Path, default: Any = None) -> Any:
    """The JSON in ``path``; ``default`` when there is no such file (a step not done yet)."""
    return json.loads(path.read_text()) if path.exists() else default


def ifan_environment(threads: int, pythonpath: Path | None = None) -> dict[str, str]:
    """The environment of an ``ifan`` command: no progress bars, ``threads`` OpenMP threads (0:
    torch's default), and ``pythonpath`` first on PYTHONPATH."""
    env = {**os.environ, "TQDM_DISABLE": "1"}
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(pythonpath), env.get("PYTHONPATH")) if p
        )
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run_ifan(
    arguments: list[str],
    env: dict[str, str],
    log: Path,
    shown: str | None = None,
    cwd: Path | None = None,
) -> float:
    """Run ``ifan ARGUMENTS`` with its output appended to ``log`` under a ``$ SHOWN`` line (by
    default the command itself); the seconds it took. Stops the benchmark when it fails."""
    shown = shown or f"ifan {' '.join(arguments)}"
    start = time.perf_counter()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(f"$ {shown}\n")
        out.flush()
        code = subprocess.call(
            [sys.executable, "-m", "ifan", *arguments],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
        )  # fmt: skip
    if code != 0:
        raise SystemExit(f"`{shown}` failed (exit {code}); see {log}")
    return time.perf_counter() - start


def has_checkpoints(run: Path) -> bool:
    """Whether a stopped training left checkpoints in its run folder: it resumes from them."""
    folder = run / "checkpoints"
    return folder.is_dir() and any(folder.iterdir())


def trained_as(folder: Path, expected: dict[str, Any]) -> bool:
    """Whether ``folder`` holds no run yet or one trained with ``expected`` (its
    ``recipe.json``): a run of other settings, or one made before settings were recorded, must
    not stand for this one."""
    recorded = folder / "recipe.json"
    if recorded.exists():
        return json.loads(recorded.read_text()) == expected
    return not (folder / "run").exists()
