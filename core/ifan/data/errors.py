"""The error a dataset reader raises for a missing or malformed file."""

from __future__ import annotations

from ifan.errors import IfanError


class DatasetError(IfanError):
    """A dataset file is missing or malformed; the message names the file (and line) at fault,
    what was expected and what to do about it."""

    def __init__(self, message: str):
        super().__init__(printable(message))


def printable(text: str) -> str:
    """``text`` safe to print on any UTF-8 stream: the bytes of a file name that are not UTF-8
    (which Python keeps as lone surrogates) are shown as ``\\xff`` escapes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
