"""Reading a manifest file (TOML or safe YAML) into plain data, remembering where each key is.

Manifests are data, never code: TOML has no way to run anything, and YAML is read with a loader
that refuses every tag that would construct an object. Nor can a small file become a huge one: a
YAML document whose aliases would expand it beyond :data:`MAX_YAML_VALUES` values (a "billion
laughs"), or that contains itself through an alias, is refused, and so is nesting too deep to
read.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

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
    try:
        if kind == "toml":
            return _read_toml(path, text)
        return _read_yaml(path, text)
    except RecursionError:
        raise ManifestError(
            str(path), ["values are nested too deeply to read (tables or lists within lists)"]
        ) from None


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


MAX_YAML_VALUES = 100_000
"""The most values a YAML manifest may expand to through its anchors and aliases. A manifest is a
few hundred values; a "billion laughs" document (aliases of aliases) is billions. A document that
holds more values than this without the help of aliases is not limited."""

_YAML = "tag:yaml.org,2002:"
_OBJECT_TAGS = frozenset(
    f"{_YAML}{name}" for name in ("binary", "set", "omap", "pairs", "timestamp")
)
"""Tags the safe loader would still turn into Python objects (bytes, set, pairs, datetime)."""


class _StrictSafeLoader(yaml.SafeLoader):
    """SafeLoader for plain data: strings, numbers, booleans, null, lists and mappings.

    It refuses duplicate keys, which YAML would silently overwrite, and keys that are lists or
    mappings; refuses !!binary, !!set, !!omap, !!pairs and !!timestamp, like every tag that
    constructs an object (an unquoted date stays a string); and reads merge keys (``<<: *base``).
    """

    yaml_constructors: ClassVar[dict[Any, Any]] = {
        tag: constructor
        for tag, constructor in yaml.SafeLoader.yaml_constructors.items()
        if tag not in _OBJECT_TAGS
    }
    # A class attribute, as in PyYAML (shared by every loader on purpose), left unannotated:
    # types-PyYAML declares it an instance attribute, which ClassVar would contradict.
    yaml_implicit_resolvers = {  # noqa: RUF012
        first: [(tag, pattern) for tag, pattern in resolvers if tag not in _OBJECT_TAGS]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _construct_mapping(loader: _StrictSafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == f"{_YAML}merge":
            continue  # merged keys may be overridden; SafeLoader flattens them below
        key = loader.construct_object(key_node)  # a tag that would construct an object fails here
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key is a list or a mapping; keys must be plain", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictSafeLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_expansion(path: Path, root: yaml.Node) -> None:
    """Refuse a document that contains itself through an alias, or that its aliases expand beyond
    :data:`MAX_YAML_VALUES` values; the composed nodes are walked once (an alias is the node it
    names, so its size is counted, not expanded)."""
    sizes: dict[int, int] = {}
    ancestors: set[int] = set()
    too_big: yaml.Node | None = None
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            ancestors.discard(id(node))
            children = _children(node)
            sizes[id(node)] = size = 1 + sum(sizes[id(child)] for child in children)
            if too_big is None and size > MAX_YAML_VALUES:
                too_big = node  # the first value, bottom up, that is too big
            continue
        if id(node) in sizes:
            continue
        if id(node) in ancestors:
            raise ManifestError(
                str(path),
                [
                    f"{path}:{node.start_mark.line + 1}: this value contains itself through an "
                    "alias; manifests are plain data, without cycles"
                ],
            )
        ancestors.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    expanded = sizes[id(root)]
    if too_big is not None and expanded > len(sizes):
        raise ManifestError(
            str(path),
            [
                f"{path}:{too_big.start_mark.line + 1}: this value expands to "
                f"{sizes[id(too_big)]} values through aliases (the whole document to {expanded}); "
                f"a manifest may expand to at most {MAX_YAML_VALUES} values"
            ],
        )


def _read_yaml(path: Path, text: str) -> Document:
    try:
        loader = _StrictSafeLoader(text)  # reads the text at once: a control character fails
    except yaml.YAMLError as exc:
        raise ManifestError(str(path), [f"invalid YAML: {exc}"]) from None
    try:
        node = loader.get_single_node()
        lines: dict[Key, int] = {}
        if node is not None:
            _check_expansion(path, node)
            _yaml_key_lines(node, (), lines)
        data = loader.construct_document(node) if node is not None else None
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
    finally:
        loader.dispose()
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
    return Document(path, data, lines)


def _yaml_key_lines(node: yaml.Node, prefix: Key, lines: dict[Key, int]) -> None:
    stack = [(node, prefix)]
    while stack:
        node, prefix = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = (*prefix, str(key_node.value))
                lines.setdefault(key, key_node.start_mark.line + 1)
                stack.append((value_node, key))
