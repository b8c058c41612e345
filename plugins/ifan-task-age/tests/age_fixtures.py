"""Tiny datasets in the age formats, written by the tests themselves (never the real data)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

GOOD_UTKFACE = {
    "1_0_2_20161219154354285.jpg.chip.jpg": 1.0,
    "26_1_3_20170104222823975.jpg.chip.jpg": 26.0,
    "39_0_0_20170104204347174.jpg.chip.jpg": 39.0,
    "100_1_0_20170110183726390.jpg.chip.jpg": 100.0,
}
MALFORMED_UTKFACE = {
    "61_3_20170109150557335.jpg.chip.jpg": "got 3 fields",
    "14_0_0_2017011022340900.jpg.chip.jpg": "datetime must be 17 digits",
}
"""The shapes of the two malformed names of the real crop_part1: a field missing, and a datetime
one digit short."""


def write_face(path: Path, size: int = 20, shade: int = 128) -> Path:
    """A small RGB image at ``path`` (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (shade, 255 - shade, shade // 2)).save(path)
    return path


def write_utkface(folder: Path, names: dict[str, object] | None = None) -> Path:
    """A UTKFace folder of the good names (and any others given) with small faces."""
    for index, name in enumerate(names if names is not None else GOOD_UTKFACE):
        write_face(folder / name, shade=(40 * index) % 256)
    return folder
