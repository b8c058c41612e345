"""Reading text list files (one record a line) with line numbers kept for error messages."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ifan.data.errors import DatasetError

if TYPE_CHECKING:
    from ifan.data.bad_samples import BadSamples

R = TypeVar("R")


@dataclass(frozen=True)
class Line:
    """One non-blank line of a list file, stripped, with where it came from."""

    path: Path
    number: int
    text: str

    @property
    def where(self) -> str:
        """``file:line``, as error messages start."""
        return f"{self.path}:{self.number}"

    def error(self, message: str) -> DatasetError:
        """A :class:`DatasetError` that points at this line."""
        return DatasetError(f"{self.where}: {message}")

    def within(self, make: Callable[[], R]) -> R:
        """``make()``; a :class:`DatasetError` it raises (say, about the image the line names)
        is raised again pointing at this line too, unless it already does."""
        try:
            return make()
        except DatasetError as error:
            if str(error).startswith(f"{self.where}:"):
                raise
            raise self.error(str(error)) from None

    def file(self, name: str, what: str = "image") -> Path:
        """The file ``name`` (a field of this line) is, relative to the list file's folder; a
        :class:`DatasetError` pointing at this line when there is none (contract 1.3)."""
        path = self.path.parent / name
        if not path.is_file():
            raise self.error(f"{what} {path} not found")
        return path

    def csv_fields(self) -> list[str]:
        """The line's comma-separated fields (CSV quoting honoured), stripped."""
        try:
            row = next(csv.reader([self.text]))
        except csv.Error as exc:
            raise self.error(f"malformed CSV line ({exc})") from None
        return [field.strip() for field in row]

    def floats(self, fields: list[str], what: str, finite: bool = True) -> list[float]:
        """``fields`` as numbers; an error naming this line and ``what`` when one is not (or,
        with ``finite``, when one is NaN or infinite)."""
        try:
            values = [float(field) for field in fields]
        except ValueError:
            raise self.error(f"expected {what} as numbers, got {' '.join(fields)!r}") from None
        if finite:
            for field, value in zip(fields, values, strict=True):
                if not math.isfinite(value):
                    raise self.error(f"{what}: {field!r} is not a finite number")
        return values


def undecodable(text: str) -> str | None:
    """Why ``text`` (decoded with ``errors="surrogateescape"``) is not UTF-8, or None when it is:
    the first byte that is not, and its column."""
    for column, char in enumerate(text, start=1):
        if "\udc80" <= char <= "\udcff":
            return (
                f"not UTF-8 text (byte 0x{ord(char) - 0xDC00:02x} at column {column}); "
                "save the file as UTF-8"
            )
    return None


def read_lines(path: Path, what: str, bad: BadSamples | None = None) -> list[Line]:
    """The non-blank lines of ``path`` (any line ending, UTF-8 with or without BOM), stripped.

    Lines starting with ``#`` are comments. ``what`` says what the file is, for the error when it
    cannot be read. A line that is not UTF-8 is a bad sample: reported to ``bad`` (raised when
    there is none) and left out.
    """
    try:
        text = path.read_text(encoding="utf-8-sig", errors="surrogateescape")
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: {what} not found; check the split path in the manifest"
        ) from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read {what}: {exc}") from None
    lines = []
    # Only CR, LF and CRLF end a line (as in editors and the csv module), so numbers agree.
    rows = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, raw in enumerate(rows, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        line = Line(path, number, stripped)
        reason = undecodable(stripped)
        if reason is None:
            lines.append(line)
        elif bad is None:
            raise line.error(reason)
        else:
            bad.report(line.error(reason))
    return lines


def read_csv_lines(
    path: Path, what: str, bad: BadSamples | None = None, header: Sequence[str] | None = None
) -> list[Line]:
    """The records of a CSV file (see :func:`read_lines`). Its first line names the columns and
    is dropped when it is ``header`` (contract 1.3: for records whose columns are not numbers)
    or, without ``header``, when its second field is missing or not a number."""
    lines = read_lines(path, what, bad)
    if lines and _is_header(lines[0], header):
        lines = lines[1:]
    return lines


def _is_header(line: Line, header: Sequence[str] | None) -> bool:
    try:
        fields = line.csv_fields()
    except DatasetError:
        return False  # a malformed record, reported as such when it is read
    if header is not None:
        return fields == list(header)
    if len(fields) < 2:
        return True
    try:
        float(fields[1])
    except ValueError:
        return True
    return False
