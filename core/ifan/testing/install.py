"""A plugin distribution installed the way users install it, for its own tests: ``pip install``
into a folder of its own, and Python run with only that folder on ``PYTHONPATH``, so the test
sees what an installed plugin gives ifan (its entry points, its package data) and the project's
environment stays untouched."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

LEFT_BEHIND = ("build", "*.egg-info", "runs")
"""What a plugin's folder may hold that is not part of the distribution."""


def install_plugin(project: Path, root: Path) -> Path:
    """Install the distribution in ``project`` (a folder with a pyproject.toml) into
    ``root/site`` and return that folder; it is built from a copy in ``root/source``, so building
    leaves nothing in the project."""
    source = root / "source"
    shutil.copytree(project, source, ignore=shutil.ignore_patterns(*LEFT_BEHIND))
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"),
            *("--target", str(root / "site"), str(source)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return root / "site"


def run_python(
    *args: str, cwd: Path, pythonpath: Path | None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` in ``cwd`` with only ``pythonpath`` on ``PYTHONPATH`` (none for None) and
    no plugin allow-list (``IFAN_PLUGINS``), its output captured as text."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "IFAN_PLUGINS"}}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
