"""Reading a manifest file (TOML or safe YAML) into plain data, remembering where each key is.

Manifests are data, never code: TOML has no way to run anything, and YAML is read with a loader
that refuses every tag that would construct an object.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ifan.errors import ManifestError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Key = tuple[str, ...]

SUFFIXES = {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}


@dataclass
class Document:
    """A manifest's data, its file, and the line of each key path (when known)."""

    source: Path
    data: dict[str, Any]
    lines: dict[Key, int] = field(default_factory=dict)

    def where(self, key: Key) -> str:
        """``file:line`` of the closest known key on ``key``'s path, or just the file."""
        for end in range(len(key), 0, -1):
            line = self.lines.get(key[:end])
            if line is not None:
                return f"{self.source}:{line}"
        return str(self.source)


def read_document(path: Path) -> Document:
    """Parse a manifest file; a ManifestError names the file, the line and what is wrong."""
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ManifestError(
            str(path), [f"unsupported manifest extension {path.suffix!r}: use .toml, .yaml or .yml"]
        )
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(str(path), ["file not found"]) from None
    except UnicodeDecodeError as exc:
        raise ManifestError(str(path), [f"not UTF-8 text (byte {exc.start})"]) from None
    except OSError as exc:
        raise ManifestError(str(path), [f"cannot read: {exc.strerror}"]) from None
    if kind == "toml":
        return _read_toml(path, text)
    return _read_yaml(path, text)


def _read_toml(path: Path, text: str) -> Document:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(str(path), [f"invalid TOML: {exc}"]) from None
    return Document(path, data, _toml_key_lines(text))


_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def _split_dotted(text: str) -> Key:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def _toml_key_lines(text: str) -> dict[Key, int]:
    """Line numbers of table headers and ``key =`` lines (enough for error messages)."""
    lines: dict[Key, int] = {}
    table: Key = ()
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _TABLE.match(line):
            table = _split_dotted(match.group(1))
            for end in range(1, len(table) + 1):  # [tasks.x.data] also locates tasks.x
                lines.setdefault(table[:end], number)
        elif match := _KEY.match(line):
            lines.setdefault(table + _split_dotted(match.group(1)), number)
    return lines


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader that also refuses duplicate keys, which YAML would silently overwrite."""


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _read_yaml(path: Path, text: str) -> Document:
    try:
        node = yaml.compose(text, Loader=_StrictSafeLoader)
        data = yaml.load(text, Loader=_StrictSafeLoader)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}: " if mark else ""
        problem = exc.problem or str(exc)
        if "could not determine a constructor" in problem:
            problem = (
                f"{problem}; manifests are plain data, and YAML tags that construct "
                "objects are refused"
            )
        raise ManifestError(str(path), [f"{where}{problem}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}: " if mark else ""
        raise ManifestError(str(path), [f"{where}invalid YAML: {exc.problem}"]) from None
    except yaml.YAMLError as exc:
        raise ManifestError(str(path), [f"invalid YAML: {exc}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ManifestError(
            str(path),
            [
                f"the top level is a {type(data).__name__}; expected a mapping with model, train "
                "and tasks"
            ],
        )
    lines: dict[Key, int] = {}
    if node is not None:
        _yaml_key_lines(node, (), lines)
    return Document(path, data, lines)


def _yaml_key_lines(node: yaml.Node, prefix: Key, lines: dict[Key, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*prefix, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _yaml_key_lines(value_node, key, lines)
