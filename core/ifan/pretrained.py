"""Pretrained models that plugins ship (the ``ifan_models`` hook, contract 1.2), found by name.

A model is a weights file written by ``ifan export RUN --weights FILE``: the network's weights and
the run's metadata (the manifest it was trained from, its crop rule, the plugins of its tasks),
so it loads like a run's checkpoint. Wherever a command takes a run folder or a checkpoint file
(``ifan predict``, ``ifan eval``, ``ifan export``, ``ifan.load``), an installed model's name works
too; a path that exists wins over a name.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifan.errors import IfanError
from ifan.plugins import PluginRegistry

MODEL_NAME = r"^[a-z][a-z0-9_.-]*$"


@dataclass(frozen=True)
class PretrainedModel:
    """What :func:`ifan.hookspecs.ifan_models` returns: a named model and its files."""

    name: str
    """How users call it (``ifan predict NAME photo.jpg``): lower case, digits, ``_ . -``."""
    weights: Path
    """The ``.safetensors`` file of ``ifan export RUN --weights FILE``."""
    card: Path
    """The model card (Markdown): data and licences, crop rule, measured numbers, limits."""
    manifest: Path | None = None
    """The manifest it was trained from, for retraining (the weights file holds it too)."""
    summary: str = ""
    """One line for ``ifan models``."""


@dataclass(frozen=True)
class ModelEntry:
    """An installed model and the distribution that ships it."""

    model: PretrainedModel
    distribution: str
    version: str


class ModelError(IfanError):
    """A model name that is not installed, claimed twice, or whose files are missing."""


def installed_models(registry: PluginRegistry) -> dict[str, ModelEntry]:
    """Every model the loaded plugins ship, by name. A plugin whose hook fails or returns
    something else is reported with a warning and left out; the others stay."""

    found: dict[str, ModelEntry] = {}
    if registry.manager is None:
        return found
    plugins = {p.plugin: p for p in registry.plugins}
    for impl in registry.manager.hook.ifan_models.get_hookimpls():
        plugin = plugins.get(impl.plugin_name)
        dist = plugin.distribution if plugin else impl.plugin_name
        version = plugin.version if plugin else "?"
        try:
            returned = impl.function()
            provided = list(returned) if isinstance(returned, Iterable) else None
        except Exception as exc:  # a broken plugin must not take the others down
            warnings.warn(f"{impl.plugin_name}: ifan_models() raised {exc!r}", stacklevel=2)
            continue
        if provided is None:
            warnings.warn(
                f"{impl.plugin_name}: ifan_models() returned {type(returned).__name__}, expected "
                "a list of ifan.pretrained.PretrainedModel",
                stacklevel=2,
            )
            continue
        for model in provided:
            if not isinstance(model, PretrainedModel) or not re.match(MODEL_NAME, model.name):
                warnings.warn(
                    f"{impl.plugin_name}: ifan_models() returned {model!r}; expected "
                    "ifan.pretrained.PretrainedModel with a lower-case name",
                    stacklevel=2,
                )
                continue
            if model.name in found:
                raise ModelError(
                    f"model {model.name!r} is shipped by {found[model.name].distribution} and "
                    f"{dist}: uninstall one of them"
                )
            found[model.name] = ModelEntry(model, dist, version)
    return found


def resolve_model(target: str | os.PathLike[str], registry: PluginRegistry) -> Path:
    """``target`` when it is a file or folder, else the weights of the installed model it names.

    An error says what exists: the installed models (and the closest name), or that the path
    is missing.
    """
    path = Path(target)
    if path.exists():
        return path
    models = installed_models(registry)
    name = os.fspath(target)
    if name in models:
        weights = models[name].model.weights
        if not weights.is_file():
            raise ModelError(
                f"model {name!r} of {models[name].distribution}: its weights file {weights} is "
                "missing; reinstall the distribution"
            )
        return weights
    close = difflib.get_close_matches(name, list(models), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    installed = ", ".join(sorted(models)) or "none"
    raise ModelError(
        f"{name}: no such run folder or checkpoint file, and no installed model of that name "
        f"(installed models: {installed}; `ifan models` lists them){hint}"
    )


WEIGHT_DTYPES = ("float32", "float16", "bfloat16")


def write_weights(
    source: str | Path,
    out: Path,
    registry: PluginRegistry,
    dtype: str = "float32",
    overrides: Sequence[str] = (),
) -> tuple[Path, int]:
    """Write the weights file of a model to ship: ``source``'s (a run folder's latest checkpoint,
    a checkpoint or a model name) network weights and run metadata, without the optimizer's
    state and the random generators' (two thirds of a checkpoint, and nothing a user needs).

    ``dtype`` stores the floating-point weights at half the size (``float16``: 11 bits of
    mantissa, plenty for inference); they load into the float32 network as they are.
    ``overrides`` (``--set``) change the manifest the file carries, e.g. ``model.test_flip=true``
    to make test-time flipping the model's default; one that changes the network's weights is
    refused. Returns the checkpoint it came from and its step.
    """
    import torch

    from ifan.manifest.overrides import apply_overrides
    from ifan.runs.checkpoint import save_checkpoint
    from ifan.runs.meta import open_checkpoint

    if dtype not in WEIGHT_DTYPES:
        raise ModelError(f"weights dtype {dtype!r}: expected one of {', '.join(WEIGHT_DTYPES)}")
    checkpoint = open_checkpoint(resolve_model(source, registry))
    step = checkpoint.meta["progress"]["step"]
    manifest = apply_overrides(checkpoint.meta["manifest"], list(overrides))
    meta = {**checkpoint.meta, "manifest": manifest, "progress": {"step": step}}
    if overrides:
        _check_same_network(meta, checkpoint.model, registry)
    target = getattr(torch, dtype)
    weights = {
        name: value.to(target) if value.is_floating_point() else value
        for name, value in checkpoint.model.items()
    }
    save_checkpoint(out, weights, None, meta)
    return checkpoint.path, step


def _check_same_network(
    meta: dict[str, Any], weights: dict[str, Any], registry: PluginRegistry
) -> None:
    """Raise ModelError unless the manifest of ``meta`` is valid and builds a network whose
    weights are ``weights`` (names and shapes): ``--set`` may change how a model runs, not what
    it is."""
    from ifan.network.summary import meta_model
    from ifan.runs.meta import manifest_from_meta

    manifest = manifest_from_meta(meta, registry=registry, training=False)
    built = meta_model(manifest).state_dict()
    shapes = {name: tuple(value.shape) for name, value in weights.items()}
    if {name: tuple(value.shape) for name, value in built.items()} != shapes:
        raise ModelError(
            "--set changes the network itself (its weights no longer fit): a shipped model's "
            "manifest may change only how it runs, e.g. model.test_flip or model.crop"
        )
