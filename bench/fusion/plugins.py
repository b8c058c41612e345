"""The tasks' plugins (``plugins/ifan-task-age``, ``plugins/ifan-task-people``), installed into
a folder of their own, never into the project's environment: every ``ifan`` command of the
benchmark runs with that folder on ``PYTHONPATH``, where ifan finds their entry points."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from bench.lib.paths import ROOT, shown_path

SITE = ROOT / "build" / "bench-fusion" / "site"
PLUGINS = ("ifan-task-age", "ifan-task-people")


def plugin_digest() -> str:
    """A hash of the plugins' sources (pyproject.toml and src/): what the installed copy in
    ``SITE`` must have been made from."""
    digest = hashlib.sha256()
    for plugin in PLUGINS:
        folder = ROOT / "plugins" / plugin
        files = [folder / "pyproject.toml", *sorted((folder / "src").rglob("*.py"))]
        for path in files:
            digest.update(f"{path.relative_to(ROOT)}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def install_plugins(site: Path) -> None:
    """Install the plugins into ``site`` (``pip install --no-deps --target``), unless the copy
    there was made from the same sources: the project's environment never sees them."""
    stamp = site / "ifan-bench-plugins.sha256"
    wanted = plugin_digest()
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    print(f"installing {', '.join(PLUGINS)} into {shown_path(site)}", flush=True)
    if site.exists():
        shutil.rmtree(site)
    site.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
               "--no-build-isolation", "--target", str(site),
               *(str(ROOT / "plugins" / p) for p in PLUGINS)]  # fmt: skip
    if subprocess.call(command) != 0:
        raise SystemExit(f"installing the plugins failed: {shlex.join(command)}")
    stamp.write_text(wanted + "\n")


def plugin_versions(site: Path) -> dict[str, str]:
    """The plugins' versions as installed in ``site``."""
    from importlib.metadata import distributions

    found = {d.metadata["Name"]: d.version for d in distributions(path=[str(site)])}
    return {name: found[name] for name in PLUGINS if name in found}
