"""Tiny datasets in real formats for plugin tests to write (never real data): face photos,
UTKFace-named crops, and LFW-style folders of people, so that two plugins reading the same
format test against the same files."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from PIL import Image

UTKFACE_MALFORMED = {
    "61_3_20170109150557335.jpg.chip.jpg": "got 3 fields",
    "14_0_0_2017011022340900.jpg.chip.jpg": "datetime must be 17 digits",
}
"""The shapes of the two malformed names of the real UTKFace ``crop_part1`` (a field missing, a
datetime one digit short), each with the words its error gives."""


def write_face(path: Path, size: int = 20, shade: int = 128) -> Path:
    """A small RGB photo at ``path`` (folders made as needed), its colour set by ``shade``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), (shade, 255 - shade, shade // 2)).save(path)
    return path


def write_utkface(folder: Path, names: Iterable[str]) -> Path:
    """A UTKFace folder: a small face under each of ``names`` (``age_gender_race_datetime
    .jpg.chip.jpg``), each a different shade."""
    for index, name in enumerate(names):
        write_face(folder / name, shade=(40 * index) % 256)
    return folder


def write_people(folder: Path, people: Mapping[str, int]) -> Path:
    """LFW's layout: ``<Person>/<Person>_NNNN.jpg``, ``people[person]`` photos each."""
    for index, (person, count) in enumerate(people.items()):
        for number in range(1, count + 1):
            shade = (50 * index + 9 * number) % 256
            write_face(folder / person / f"{person}_{number:04d}.jpg", size=24, shade=shade)
    return folder
