"""``ifan predict --table``: every face predicted, one row each, as a CSV file for a spreadsheet
or pandas, as py-feat users get a data frame.

A row holds the photo's (or the video frame's) own fields (``image`` or ``video``, ``frame``,
``time``, ``width``, ``height``, ``detector``, ``note``), the face's number in it (``face``, from
1), and the face's JSON flattened: ``box.x0`` .. ``box.y1``, ``score``, ``crop.*``, then each
task's fields under its name (``landmarks.points.nose.x``, ``emotion.probabilities.happy``,
``parsing.fractions.skin``). Nested objects are joined by dots; a list of two numbers is a point
(``.x``, ``.y``), of four a box (``.x0``, ``.y0``, ``.x1``, ``.y1``), other short lists of
numbers are numbered from 0; long lists and lists of anything else (a mask's run-length code,
class names) are left to the JSON files.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

NAMED = {2: ("x", "y"), 4: ("x0", "y0", "x1", "y1")}
"""Names of the places of a list of numbers by its length: ifan's points and boxes."""
MAX_LISTED = 16
"""The longest list of numbers spread over columns."""


def flatten(value: Any, prefix: str, row: dict[str, Any]) -> None:
    """Add ``value``'s scalars to ``row`` under ``prefix``, by the rules of the module's doc."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else str(key), row)
    elif isinstance(value, (list, tuple)):
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if value and numbers and len(value) <= MAX_LISTED:
            for name, item in zip(NAMED.get(len(value), range(len(value))), value, strict=False):
                row[f"{prefix}.{name}"] = item
    else:
        row[prefix] = value


def face_rows(record: Mapping[str, Any], **source: Any) -> list[dict[str, Any]]:
    """One row per face of a photo's JSON (or a video's JSON line), ``source``'s fields first
    (e.g. ``video=path``)."""
    shared = {**source}
    for key, value in record.items():
        if key != "faces" and not isinstance(value, (Mapping, list)):
            shared[key] = value
    rows = []
    for number, face in enumerate(record.get("faces", []), 1):
        row = {**shared, "face": number}
        flatten({k: v for k, v in face.items() if k != "tasks"}, "", row)
        flatten(face.get("tasks", {}), "", row)
        rows.append(row)
    return rows


def write_table(rows: Iterable[Mapping[str, Any]], path: Path) -> int:
    """Write ``rows`` as CSV to ``path`` (its columns every row's keys, in the order first met;
    a missing value is an empty cell); return how many rows were written."""
    rows = list(rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
