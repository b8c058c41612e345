"""Named classes that plugins provide through a hook, beside the core's own: loss balancers
(``ifan_balancers``) and training loggers (``ifan_loggers``), chosen by name in a manifest.

Each hook returns classes, each a subclass of the hook's base class with a ``name`` (a lower-case
identifier). The core's own classes are always there and cannot be replaced, so installing a
package never changes what a manifest that names a built-in means. A class that is not a subclass
of the base, has no valid name, claims a built-in name or a name another plugin claims, and every
class of a hook that raises, is left out with a warning naming the plugin and the reason; the
other classes stay usable, and a manifest that chooses a left-out name gets an error with the
reason.
"""

from __future__ import annotations

import difflib
import inspect
import re
import warnings
from abc import ABCMeta
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, Protocol, TypeVar

from ifan.plugins import PluginRegistry

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
BUILT_IN = "ifan (built in)"


class Named(Protocol):
    """What every provided class has: the name a manifest chooses it by."""

    name: ClassVar[str]


NamedT = TypeVar("NamedT", bound=Named)
"""The base class of one kind (:class:`ifan.balancers.Balancer`), which a catalogue holds."""


@dataclass(frozen=True)
class Provided(Generic[NamedT]):
    """A named class and who provides it: :data:`BUILT_IN`, or a plugin's distribution,
    version and entry point."""

    name: str
    cls: type[NamedT]
    provider: str = BUILT_IN


@dataclass
class Catalogue(Generic[NamedT]):
    """The classes of one kind (``"loss balancer"``) that can be chosen by name, and why others
    were left out."""

    kind: str
    hook: str
    found: dict[str, Provided[NamedT]] = field(default_factory=dict)
    left_out: dict[str, list[str]] = field(default_factory=dict)
    """Reasons by the name claimed (``""`` when a class had no usable name)."""

    @property
    def names(self) -> list[str]:
        return sorted(self.found)

    def unknown_message(self, name: str) -> str:
        """Why ``name`` cannot be chosen: a left-out class's reason, or the installed names."""
        if name in self.left_out:
            return f"{self.kind} {name!r} cannot be used: {'; '.join(self.left_out[name])}"
        close = difflib.get_close_matches(name, self.names, n=2, cutoff=0.6)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        return (
            f"unknown {self.kind} {name!r} (installed: {', '.join(self.names)}); {hint}a plugin "
            f"provides others through the {self.hook} hook"
        )


def catalogue(
    registry: PluginRegistry | None,
    hook: str,
    base: type,
    built_in: Sequence[type[NamedT]],
    kind: str,
) -> Catalogue[NamedT]:
    """The built-in classes and those the loaded plugins return from ``hook`` (see the module
    docstring); each class left out is reported with a warning."""
    found = Catalogue(kind, hook, {cls.name: Provided(cls.name, cls) for cls in built_in})
    if registry is None or registry.manager is None:
        return found
    plugins = {p.plugin: f"{p.distribution} {p.version} ({p.plugin})" for p in registry.plugins}
    claims: dict[str, list[Provided[NamedT]]] = {}
    for impl in getattr(registry.manager.hook, hook).get_hookimpls():
        provider = plugins.get(impl.plugin_name, impl.plugin_name)
        try:
            classes = list(impl.function())
        except Exception as exc:  # a broken plugin must not take the others down
            _leave_out(found, "", f"{provider}: {hook}() raised {exc!r}")
            continue
        for cls in classes:
            problem = _problem(cls, base, kind)
            if problem:
                _leave_out(found, getattr(cls, "name", ""), f"{provider}: {hook}() {problem}")
            else:
                claims.setdefault(cls.name, []).append(Provided(cls.name, cls, provider))
    for name, providers in claims.items():
        who = " and ".join(p.provider for p in providers)
        if name in found.found:
            _leave_out(found, name, f"{who} claims the built-in name {name!r}; rename it")
        elif len(providers) > 1:
            _leave_out(found, name, f"{name!r} is claimed by {who}: uninstall one of them")
        else:
            found.found[name] = providers[0]
    return found


def _problem(cls: object, base: type, kind: str) -> str | None:
    """What is wrong with a class a hook returned, or None."""
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        return f"returned {cls!r}, which is not a subclass of {base.__module__}.{base.__name__}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return (
            f"returned the {kind} {cls.__qualname__} with name {name!r}: expected a lower-case "
            "identifier such as 'my-" + kind.split()[-1] + "'"
        )
    if isinstance(cls, ABCMeta) and inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        return f"returned {cls.__qualname__}, which does not implement {missing}"
    return None


def _leave_out(found: Catalogue, name: object, reason: str) -> None:
    key = name if isinstance(name, str) else ""
    found.left_out.setdefault(key, []).append(reason)
    warnings.warn(f"{reason}; left out", stacklevel=3)
