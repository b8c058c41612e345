"""``ifan new-task``: a new task plugin project, generated from the files in ``plugin-template/``
(every project's) and ``kinds/<kind>/`` (the task, its tests: one working example per kind of
label).

Each template file is written into the new project with its ``{{key}}`` placeholders replaced, in
its path and its text (see :func:`placeholders`), and its ``.tmpl`` suffix removed; the suffix
keeps the templates' Python files from being modules of ifan. The generated project installs with
pip and passes the conformance suite (:mod:`ifan.testing`) as it is.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import ifan
from ifan.contract import CONTRACT_VERSION, TASK_NAME_PATTERN
from ifan.errors import IfanError
from ifan.plugins import THIRD_PARTY_PREFIX

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:  # where Python 3.10 keeps it
        from importlib.abc import Traversable

TEMPLATE_SUFFIX = ".tmpl"
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Kind:
    """One kind of task ``ifan new-task --kind`` makes: what its example does (the README's
    words) and the data table of a manifest that uses it."""

    summary: str
    data: str


KINDS: dict[str, Kind] = {
    "class": Kind(
        "classifies each face, read from a CSV file of `image,label` lines (the label one of the "
        "classes the data table lists), with a softmax re-encoder, balanced accuracy and a "
        "confusion matrix",
        'format = "csv"\nclasses = ["no", "yes"]',
    ),
    "points": Kind(
        "finds three points on each face (`left`, `right`, `centre`; a flip swaps left and "
        "right), read from a CSV file of `image,x1,y1,x2,y2,x3,y3` lines in pixels",
        'format = "csv"',
    ),
    "mask": Kind(
        "gives each pixel of the face a class (`background`, `left`, `right`), read from a CSV "
        "file of `image,mask` lines (the mask a PNG of class indices, 255 for pixels not "
        "scored)",
        'format = "csv"',
    ),
    "value": Kind(
        "regresses one number per face, read from a CSV file of `image,value` lines",
        'format = "csv"',
    ),
}
"""The kinds of label a new task can start from, by the name ``--kind`` takes."""
DEFAULT_KIND = "value"


def placeholders(name: str, kind: str = DEFAULT_KIND) -> dict[str, str]:
    """The placeholder values for task ``name`` of ``kind``; an IfanError when it is not a valid
    task name or kind."""
    if not TASK_NAME_PATTERN.match(name):
        raise IfanError(
            f"{name!r} is not a valid task name: use a lower-case letter, then lower-case "
            "letters, digits or '_', 32 characters at most (e.g. 'smile' or 'head_pose')"
        )
    if kind not in KINDS:
        raise IfanError(f"no kind of task {kind!r}: choose one of {', '.join(KINDS)}")
    version = re.match(r"(\d+)\.(\d+)", ifan.__version__)
    return {
        "name": name,
        "kind": kind,
        "package": f"ifan_task_{name}",
        "distribution": THIRD_PARTY_PREFIX + name.replace("_", "-"),
        "cls": "".join(part.capitalize() for part in name.split("_")),
        "contract": CONTRACT_VERSION,
        "ifan_requirement": f"ifan>={version.group(0)}" if version else "ifan",
        "summary": KINDS[kind].summary,
        "data": KINDS[kind].data,
    }


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every ``{{key}}`` replaced by ``values[key]``."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{{key}}}}} has no value")
        return values[key]

    return PLACEHOLDER.sub(value, text)


def _templates(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    """Every template file under ``folder`` with its path relative to the template root."""
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from _templates(entry, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry


def new_task(name: str, parent: Path, kind: str = DEFAULT_KIND) -> Path:
    """Write the plugin project ``ifan-task-<name>``, a task of ``kind`` (see :data:`KINDS`),
    into the folder ``parent``; return its root.

    The project folder may exist only when it is empty, so nothing is ever overwritten.
    """
    values = placeholders(name, kind)
    root = parent / values["distribution"]
    if root.exists() and not root.is_dir():
        raise IfanError(f"{root} exists and is not a folder; choose another --dir")
    if root.is_dir() and any(root.iterdir()):
        raise IfanError(f"{root} already exists and is not empty; choose another --dir")
    templates = resources.files(__name__)
    for folder in (templates / "plugin-template", templates / "kinds" / kind):
        for relative, template in _templates(folder):
            target = root / render(relative, values).removesuffix(TEMPLATE_SUFFIX)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = render(template.read_text(encoding="utf-8"), values)
            target.write_text(text, encoding="utf-8")
    return root
