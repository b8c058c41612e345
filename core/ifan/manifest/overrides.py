"""``--set key.path=value`` overrides, applied to a manifest's data before validation."""

from __future__ import annotations

import copy
import sys
from typing import Any

from ifan.errors import ManifestError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def parse_value(text: str) -> Any:
    """A TOML value (``3``, ``1e-4``, ``true``, ``"x"``, ``[1, 2]``), or the text as a string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_override(text: str) -> tuple[tuple[str, ...], Any]:
    """``"model.iterations=3"`` -> ``(("model", "iterations"), 3)``."""
    key, sep, value = text.partition("=")
    parts = tuple(part.strip() for part in key.strip().split("."))
    if not sep or not all(parts):
        raise ManifestError(
            "--set", [f"{text!r}: expected KEY.PATH=VALUE, for example model.iterations=2"]
        )
    return parts, parse_value(value.strip())


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``data`` with every override set; tables on the way are created as needed."""
    result = copy.deepcopy(data)
    for text in overrides:
        key, value = parse_override(text)
        table = result
        for depth, part in enumerate(key[:-1]):
            child = table.setdefault(part, {})
            if not isinstance(child, dict):
                path = ".".join(key[: depth + 1])
                raise ManifestError(
                    "--set",
                    [
                        f"{text!r}: {path} is a {type(child).__name__}, not a table, so it has no "
                        f"key {key[depth + 1]!r}"
                    ],
                )
            table = child
        table[key[-1]] = value
    return result
