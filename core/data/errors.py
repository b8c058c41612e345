"""The error a dataset reader raises for a missing or malformed file."""

from __future__ import annotations

from ifan.errors import IfanError


class DatasetError(IfanError):
    """A dataset file is missing or malformed; the message names the file (and line) at fault,
    what was expected and what to do about it."""
