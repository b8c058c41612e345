"""Pieces shared by the subcommands: plugin loading, manifest arguments, plain-text tables."""

from __future__ import annotations

import argparse
import sys

from ifan.manifest import Manifest, load_manifest
from ifan.plugins import PluginRegistry, load_registry


def registry_from_args(args: argparse.Namespace) -> PluginRegistry:
    """Load plugins, strictly when ``--strict`` was given (else as ``IFAN_STRICT_PLUGINS`` says)."""
    return load_registry(strict=True if args.strict else None)


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
    """The validated manifest; broken plugins and missing data paths are reported on stderr."""
    report_broken(registry)
    manifest = load_manifest(args.manifest, args.overrides, registry, getattr(args, "only", None))
    for warning in manifest.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return manifest


def report_broken(registry: PluginRegistry) -> None:
    for broken in registry.broken:
        print(f"warning: skipped broken plugin {broken.describe()}", file=sys.stderr)


def print_broken(registry: PluginRegistry) -> None:
    """The section of ``ifan tasks`` / ``ifan plugins`` listing skipped plugins, if any."""
    if registry.broken:
        print("\nbroken plugins (skipped; use --strict to make this an error):")
        for broken in registry.broken:
            print(f"  {broken.describe()}")
