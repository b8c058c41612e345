"""Plugin discovery: entry points -> pluggy -> a registry of checked tasks.

Every plugin, the built-in tasks included, is found through the ``ifan`` entry-point group. A
plugin that fails to import, that pluggy rejects, whose hook raises, or that returns an invalid
task is recorded as *broken* with its distribution, version and the reason, and skipped: the other
plugins keep working. Strict loading (``--strict`` or ``IFAN_STRICT_PLUGINS=1``) turns any broken
plugin into an error instead. ``IFAN_PLUGINS`` (comma-separated distribution names) restricts
loading to an allow-list.
"""

from __future__ import annotations

import difflib
import os
import re
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata

import pluggy

from ifan import hookspecs
from ifan.contract import (
    TASK_NAME_PATTERN,
    Task,
)
from ifan.contract_checks import task_problems
from ifan.errors import PluginError, TaskConflictError

ALLOW_LIST_ENV = "IFAN_PLUGINS"
STRICT_ENV = "IFAN_STRICT_PLUGINS"
THIRD_PARTY_PREFIX = "ifan-task-"
"""Naming convention of task plugin distributions (``ifan new-task`` names its projects so)."""
FIND_A_PLUGIN = (
    "install the plugin that provides it, then check with `ifan tasks` (search PyPI for "
    "'ifan-task': https://pypi.org/search/?q=ifan-task; the plugins developed beside ifan are in "
    "the plugins/ folder of its repository; docs/plugins.md)"
)
"""Where to look for the plugin of an unknown task. No distribution name is guessed from the
task's: a package of that name on PyPI may not exist, or be anyone's."""


@dataclass(frozen=True)
class TaskEntry:
    """A task class and the distribution that provides it."""

    name: str
    cls: type[Task]
    distribution: str
    version: str
    plugin: str
    """The entry point that registered it, ``distribution:entry-point-name``."""


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin (or one task of it) that was skipped, and why."""

    plugin: str
    distribution: str
    version: str
    reason: str

    def describe(self) -> str:
        return f"{self.plugin} ({self.distribution} {self.version}): {self.reason}"


@dataclass(frozen=True)
class LoadedPlugin:
    """A plugin registered with pluggy, and the hooks it implements."""

    plugin: str
    distribution: str
    version: str
    hooks: tuple[str, ...]


@dataclass
class PluginRegistry:
    """The plugins loaded, the tasks found, the tasks claimed twice, and the broken plugins."""

    plugins: list[LoadedPlugin] = field(default_factory=list)
    tasks: dict[str, TaskEntry] = field(default_factory=dict)
    conflicts: dict[str, list[TaskEntry]] = field(default_factory=dict)
    broken: list[BrokenPlugin] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    """Distributions with ``ifan`` entry points that the ``IFAN_PLUGINS`` allow-list left out,
    each once."""
    allowed: frozenset[str] | None = None
    """The allow-list it was loaded with (normalised distribution names); None: every plugin."""
    manager: pluggy.PluginManager | None = None

    @property
    def names(self) -> list[str]:
        return sorted(self.tasks)

    def get(self, name: str) -> TaskEntry:
        """The task called ``name``; a PluginError that says what to do when there is none."""
        if name in self.tasks:
            return self.tasks[name]
        raise PluginError(self.missing_task_message(name))

    def missing_task_message(self, name: str) -> str:
        """Why ``name`` cannot be used: the closest installed names, the plugins skipped or left
        out that may provide it, or where to look for its plugin."""
        if name in self.conflicts:
            return conflict_message(name, self.conflicts[name])
        installed = ", ".join(self.names) or "none"
        close = difflib.get_close_matches(name, self.names, n=3, cutoff=0.6)
        hints = []
        if close:
            hints.append(f"did you mean {' or '.join(repr(c) for c in close)}?")
        elif not TASK_NAME_PATTERN.match(name):
            hints.append("task names are lower-case identifiers")
        elif not self.excluded:
            hints.append(f"no loaded plugin provides it: {FIND_A_PLUGIN}")
        hints += [
            f"a broken plugin may provide it: {b.describe()}"
            for b in self.broken
            if name in b.reason or name in b.plugin
        ]
        if self.excluded:
            hints.append(
                f"{ALLOW_LIST_ENV} leaves out {', '.join(sorted(self.excluded))}, which may "
                f"provide it: add it to {ALLOW_LIST_ENV}"
            )
        return f"unknown task {name!r} (loaded: {installed}); {'; '.join(hints)}"

    def allow_list_note(self) -> list[str]:
        """What the ``IFAN_PLUGINS`` allow-list left out and what to do about it, a heading and
        its details (none when it left out nothing and names only installed distributions): a
        task list cut short by a forgotten or misspelt allow-list is otherwise silent."""
        if self.allowed is None:
            return []
        setting = f"{ALLOW_LIST_ENV}={','.join(sorted(self.allowed))}"
        found = [p.distribution for p in self.plugins] + [b.distribution for b in self.broken]
        installed = sorted({normalize_distribution(dist) for dist in [*self.excluded, *found]})
        others = [dist for dist in installed if dist not in self.allowed]
        details = []
        for unknown in sorted(self.allowed.difference(installed)):
            close = difflib.get_close_matches(unknown, others, n=1, cutoff=0.6)
            guess = f" (did you mean {close[0]}?)" if close else ""
            details.append(f"{unknown} is no installed plugin distribution{guess}")
        if not self.excluded and not details:
            return []
        if not self.excluded:
            return [f"{setting} names distributions that are not installed", *details]
        left_out = ", ".join(sorted(self.excluded))
        every = "the installed plugins" if found else "every installed plugin:"
        unset = (
            f"unset {ALLOW_LIST_ENV} to load them all, or add the distributions to load to it "
            "(comma-separated)"
        )
        return [f"{setting} leaves out {every} {left_out}", unset, *details]


def conflict_message(name: str, entries: Sequence[TaskEntry]) -> str:
    who = " and ".join(f"{e.distribution} {e.version} ({e.plugin})" for e in entries)
    return (
        f"task {name!r} is provided by more than one plugin: {who}; uninstall one of them, or "
        f"leave one distribution out of {ALLOW_LIST_ENV}=<distribution,...>"
    )


def normalize_distribution(name: str) -> str:
    """PEP 503 normalisation, so ``ifan_task_age`` and ``IFAN-Task-Age`` name the same thing."""
    return re.sub(r"[-_.]+", "-", name).lower()


def allow_list_from_env() -> set[str] | None:
    raw = os.environ.get(ALLOW_LIST_ENV, "").strip()
    if not raw:
        return None
    return {normalize_distribution(part.strip()) for part in raw.split(",") if part.strip()}


def strict_from_env() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def _dedupe(entry_points: Iterable[metadata.EntryPoint]) -> list[metadata.EntryPoint]:
    """The same distribution can be visible twice on sys.path; keep each entry point once."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for ep in entry_points:
        dist = normalize_distribution(ep.dist.name) if ep.dist else ""
        key = (dist, ep.name, ep.value)
        if key not in seen:
            seen.add(key)
            unique.append(ep)
    return unique


def _describe_exception(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def load_registry(
    *,
    strict: bool | None = None,
    allow: set[str] | None = None,
    entry_points: Iterable[metadata.EntryPoint] | None = None,
) -> PluginRegistry:
    """Load every allowed plugin and check its tasks.

    ``strict`` and ``allow`` default to ``IFAN_STRICT_PLUGINS`` and ``IFAN_PLUGINS``.
    """
    strict = strict_from_env() if strict is None else strict
    allow = allow_list_from_env() if allow is None else allow
    if entry_points is None:
        entry_points = metadata.entry_points(group=hookspecs.ENTRY_POINT_GROUP)

    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    registry = PluginRegistry(manager=manager, allowed=None if allow is None else frozenset(allow))
    claims: dict[str, list[TaskEntry]] = {}

    for ep in _dedupe(entry_points):
        dist = ep.dist.name if ep.dist else "<unknown distribution>"
        version = ep.dist.version if ep.dist else "?"
        if allow is not None and normalize_distribution(dist) not in allow:
            if dist not in registry.excluded:  # once, however many entry points it has
                registry.excluded.append(dist)
            continue
        plugin_name = f"{dist}:{ep.name}"

        def broken(
            reason: str, plugin_name: str = plugin_name, dist: str = dist, version: str = version
        ) -> None:
            registry.broken.append(BrokenPlugin(plugin_name, dist, version, reason))

        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must never take the others down
            broken(f"failed to load {ep.value!r}: {_describe_exception(exc)}")
            continue
        try:
            manager.register(plugin, name=plugin_name)
            manager.check_pending()  # a @hookimpl whose name matches no hook (a typo)
        except Exception as exc:
            if manager.is_registered(plugin):
                manager.unregister(plugin)
            broken(f"{ep.value!r} is not a valid ifan plugin: {_describe_exception(exc)}")
            continue
        callers = manager.get_hookcallers(plugin) or []
        hooks = tuple(sorted(caller.name for caller in callers))
        if not hooks:
            manager.unregister(plugin)
            broken(
                f"{ep.value!r} implements no ifan hook: mark its functions with "
                "@ifan.hookimpl and name them after a hook, e.g. ifan_tasks"
            )
            continue
        registry.plugins.append(LoadedPlugin(plugin_name, dist, version, hooks))
        for impl in manager.hook.ifan_tasks.get_hookimpls():
            if impl.plugin_name != plugin_name:
                continue
            try:
                provided = impl.function()
            except Exception as exc:
                broken(f"ifan_tasks() raised {_describe_exception(exc)}")
                continue
            if not isinstance(provided, (list, tuple)):
                broken(
                    f"ifan_tasks() returned {type(provided).__name__}, expected a list of "
                    "Task classes"
                )
                continue
            for cls in dict.fromkeys(provided):  # the same class twice is one task
                problems = task_problems(cls)
                if problems:
                    broken("; ".join(problems))
                    continue
                entry = TaskEntry(cls.name, cls, dist, version, plugin_name)
                claims.setdefault(cls.name, []).append(entry)

    for name, entries in claims.items():
        if len(entries) == 1:
            registry.tasks[name] = entries[0]
        else:
            registry.conflicts[name] = sorted(entries, key=lambda e: e.distribution)

    if strict and (registry.broken or registry.conflicts):
        lines = [b.describe() for b in registry.broken]
        lines += [conflict_message(n, e) for n, e in registry.conflicts.items()]
        error = TaskConflictError if not registry.broken else PluginError
        raise error("strict plugin loading failed:\n" + "\n".join(f"  - {x}" for x in lines))
    return registry
