"""Pieces shared by the subcommands: plugin loading, manifest arguments, printed and written
results."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ifan.manifest import Manifest, load_manifest
from ifan.plugins import PluginRegistry, load_registry

if TYPE_CHECKING:
    from ifan.inference import Predictor


def registry_from_args(args: argparse.Namespace, report: bool = True) -> PluginRegistry:
    """Load plugins, strictly when ``--strict`` was given (else as ``IFAN_STRICT_PLUGINS`` says);
    each broken plugin is a warning on standard error unless ``report`` is False (the commands
    that list them, :func:`print_skipped`)."""
    registry = load_registry(strict=True if args.strict else None)
    if report:
        for broken in registry.broken:
            print(f"warning: skipped broken plugin {broken.describe()}", file=sys.stderr)
    return registry


def add_manifest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifest", metavar="MANIFEST", help="a .toml or .yaml manifest")
    add_set_argument(parser)
    add_tasks_argument(parser)


def add_tasks_argument(
    parser: argparse.ArgumentParser,
    help: str = "only these tasks of the manifest (a single-task baseline, a 2-task model)",
) -> None:
    """``--tasks A,B``: only those tasks, in ``args.only``."""
    parser.add_argument("--tasks", dest="only", type=_names, metavar="NAME[,NAME...]", help=help)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def add_set_argument(
    parser: argparse.ArgumentParser,
    help: str = "override a manifest value, e.g. --set model.iterations=0 (repeatable)",
) -> None:
    """``--set KEY.PATH=VALUE`` (repeatable), collected in ``args.overrides``."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help=help,
    )


def manifest_from_args(args: argparse.Namespace, registry: PluginRegistry) -> Manifest:
    """The validated manifest; missing data paths are reported on stderr."""
    manifest = load_manifest(args.manifest, args.overrides, registry, getattr(args, "only", None))
    for warning in manifest.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return manifest


def print_skipped(registry: PluginRegistry) -> None:
    """The sections of ``ifan tasks`` / ``ifan plugins`` listing the plugins skipped, if any: the
    broken ones, and those the ``IFAN_PLUGINS`` allow-list left out."""
    if registry.broken:
        print("\nbroken plugins (skipped; use --strict to make this an error):")
        for broken in registry.broken:
            print(f"  {broken.describe()}")
    note = registry.allow_list_note()
    if note:
        print(f"\n{note[0]}")
        for line in note[1:]:
            print(f"  {line}")


def warn_if_bf16_is_emulated(predictor: Predictor) -> None:
    """Say on stderr when ``--bf16`` runs on a device without native bfloat16 (an AVX2-only
    CPU), where autocast is several times slower than float32."""
    from ifan.network.precision import bf16_support

    if predictor.bf16 and bf16_support(predictor.device) is None:
        kind = predictor.device.type.upper()
        print(
            f"warning: --bf16 on this {kind}, which has no native bfloat16 (AVX512-BF16, AMX): "
            "emulated, several times slower than float32; leave --bf16 out",
            file=sys.stderr,
        )


def checkpoint_label(predictor: Predictor) -> str:
    """The checkpoint a command loaded, with the update it was written after when known."""
    step = predictor.meta.get("progress", {}).get("step")
    at = f" (step {step})" if step is not None else ""
    return f"{predictor.checkpoint}{at}"


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON in ``path`` (its folder made), and a line saying so. Non-ASCII
    text is escaped, so that any file name (even one that is not UTF-8) can be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
