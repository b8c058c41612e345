"""Reading text list files (one record a line) with line numbers kept for error messages."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from ifan.data.errors import DatasetError


@dataclass(frozen=True)
class Line:
    """One non-blank line of a list file, stripped, with where it came from."""

    path: Path
    number: int
    text: str

    def error(self, message: str) -> DatasetError:
        """A :class:`DatasetError` that points at this line."""
        return DatasetError(f"{self.path}:{self.number}: {message}")

    def csv_fields(self) -> list[str]:
        """The line's comma-separated fields (CSV quoting honoured), stripped."""
        return [field.strip() for field in next(csv.reader([self.text]))]

    def floats(self, fields: list[str], what: str) -> list[float]:
        """``fields`` as numbers; an error naming this line and ``what`` when one is not."""
        try:
            return [float(field) for field in fields]
        except ValueError:
            raise self.error(f"expected {what} as numbers, got {' '.join(fields)!r}") from None


def read_lines(path: Path, what: str) -> list[Line]:
    """The non-blank lines of ``path`` (any line ending, UTF-8 with or without BOM), stripped.

    Lines starting with ``#`` are comments. ``what`` says what the file is, for the error when it
    cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: {what} not found; check the split path in the manifest"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read {what}: {exc}") from None
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            lines.append(Line(path, number, stripped))
    return lines


def read_csv_lines(path: Path, what: str) -> list[Line]:
    """The records of a CSV file (see :func:`read_lines`) whose second column is a number: a
    first line whose second field is missing or not a number names the columns and is dropped."""
    lines = read_lines(path, what)
    if lines and _is_header(lines[0]):
        lines = lines[1:]
    return lines


def _is_header(line: Line) -> bool:
    fields = line.csv_fields()
    if len(fields) < 2:
        return True
    try:
        float(fields[1])
    except ValueError:
        return True
    return False
