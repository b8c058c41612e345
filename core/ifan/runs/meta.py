"""What a run's checkpoints say about the run: the metadata :func:`run_meta` writes into every
checkpoint, and the manifest, plugins and progress read back from it.

A checkpoint's ``meta`` holds the manifest as data (``--set`` overrides applied) and the path it
was read from, so that a checkpoint alone rebuilds the network and finds the data; the plugin
(distribution and version) of every task; the trainer's progress; and, for a run started from
another run's weights, what it took from which checkpoint (``init_from``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ifan
from ifan.errors import IfanError
from ifan.manifest import Manifest, validate_document
from ifan.manifest.document import Document
from ifan.plugins import PluginRegistry
from ifan.runs.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from ifan.runs.layout import find_checkpoint


def run_meta(
    manifest: Manifest, progress: dict[str, Any], init_from: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The metadata a checkpoint of ``manifest``'s run carries; ``init_from``: where its weights
    started, for a run started from another run's (:mod:`ifan.training.init_from`)."""
    meta = {
        "ifan_version": ifan.__version__,
        "manifest": manifest.data,
        "manifest_path": str(manifest.source.resolve()),
        "plugins": {
            name: {"distribution": t.entry.distribution, "version": t.entry.version}
            for name, t in manifest.tasks.items()
        },
        "progress": progress,
    }
    if init_from is not None:
        meta["init_from"] = init_from
    return meta


def manifest_from_meta(
    meta: dict[str, Any],
    overrides: list[str] | None = None,
    registry: PluginRegistry | None = None,
    training: bool = True,
) -> Manifest:
    """The manifest a checkpoint was trained with (relative paths still resolve against the
    original manifest's folder), with ``overrides`` applied; an error names a missing plugin.
    ``training=False`` (evaluation, prediction) leaves the training's balancer and loggers
    unresolved, so their plugins need not be installed."""
    installed = None if registry is None else registry.tasks
    for name, plugin in meta.get("plugins", {}).items():
        if installed is not None and name not in installed:
            raise IfanError(
                f"the checkpoint was trained with task {name!r} from {plugin['distribution']} "
                f"{plugin['version']}, which is not installed: pip install {plugin['distribution']}"
            )
    document = Document(Path(meta["manifest_path"]), meta["manifest"])
    return validate_document(document, overrides or [], registry, training=training)


def check_run_meta(checkpoint: Checkpoint) -> None:
    """Raise CheckpointError unless ``checkpoint``'s meta has what :func:`run_meta` writes (a file
    from elsewhere, or edited, must fail with its name rather than deep in the code that reads
    it)."""
    meta = checkpoint.meta
    expected = {"manifest": dict, "manifest_path": str, "plugins": dict, "progress": dict}
    for key, kind in expected.items():
        if not isinstance(meta.get(key), kind):
            raise CheckpointError(
                f"checkpoint {checkpoint.path} was not written by `ifan train`: its metadata has "
                f"no {key} ({kind.__name__})"
            )
    for name, plugin in meta["plugins"].items():
        if not (
            isinstance(plugin, dict)
            and isinstance(plugin.get("distribution"), str)
            and isinstance(plugin.get("version"), str)
        ):
            raise CheckpointError(
                f"checkpoint {checkpoint.path} has unreadable metadata: plugins.{name} should "
                "name a distribution and a version"
            )
    step = meta["progress"].get("step")
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CheckpointError(
            f"checkpoint {checkpoint.path} has unreadable metadata: progress.step = {step!r}"
        )


def open_checkpoint(path: Path) -> Checkpoint:
    """The checkpoint of a run at ``path`` (a file or a run folder: its latest), checked to carry
    a run's metadata."""
    checkpoint = load_checkpoint(find_checkpoint(path))
    check_run_meta(checkpoint)
    return checkpoint
