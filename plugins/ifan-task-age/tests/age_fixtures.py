"""Tiny datasets in the age formats, written by the tests themselves (never the real data), with
ifan.testing's writers."""

from __future__ import annotations

from pathlib import Path

from ifan.testing.datasets import UTKFACE_MALFORMED
from ifan.testing.datasets import write_utkface as write_faces

GOOD_UTKFACE = {
    "1_0_2_20161219154354285.jpg.chip.jpg": 1.0,
    "26_1_3_20170104222823975.jpg.chip.jpg": 26.0,
    "39_0_0_20170104204347174.jpg.chip.jpg": 39.0,
    "100_1_0_20170110183726390.jpg.chip.jpg": 100.0,
}
MALFORMED_UTKFACE = UTKFACE_MALFORMED


def write_utkface(folder: Path, names: dict[str, object] | None = None) -> Path:
    """A UTKFace folder of the good names (or the ones given) with small faces."""
    return write_faces(folder, names if names is not None else GOOD_UTKFACE)
