"""Tiny datasets in the real formats, written by the tests themselves (never the real data):
UTKFace-named face crops, an MTFL list file with its photos, LFW-style person folders."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

GOOD_UTKFACE = {
    "1_0_2_20161219154354285.jpg.chip.jpg": ("male", "asian"),
    "26_1_3_20170104222823975.jpg.chip.jpg": ("female", "indian"),
    "39_0_0_20170104204347174.jpg.chip.jpg": ("male", "white"),
    "100_1_1_20170110183726390.jpg.chip.jpg": ("female", "black"),
    "45_0_4_20170117191418684.jpg.chip.jpg": ("male", "others"),
}
"""Good UTKFace names and the gender and race they say."""
MALFORMED_UTKFACE = {
    "61_3_20170109150557335.jpg.chip.jpg": "got 3 fields",
    "14_0_0_2017011022340900.jpg.chip.jpg": "datetime must be 17 digits",
}
"""The shapes of the two malformed names of the real crop_part1: a field missing, and a datetime
one digit short."""
PEOPLE = {"Ada_Lovelace": 4, "Alan_Turing": 3, "Grace_Hopper": 5}
"""LFW-style people and how many photos each has."""


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


def write_people(folder: Path, people: dict[str, int] | None = None) -> Path:
    """A folder of ``<Person>/<Person>_NNNN.jpg`` photos, LFW's layout."""
    for index, (person, count) in enumerate((people or PEOPLE).items()):
        for number in range(1, count + 1):
            shade = (50 * index + 9 * number) % 256
            write_face(folder / person / f"{person}_{number:04d}.jpg", size=24, shade=shade)
    return folder


def write_mtfl(folder: Path, genders: tuple[int, ...] = (1, 2, 2)) -> Path:
    """An MTFL ``training.txt`` (CRLF lines, backslash paths, a leading space) whose faces have
    the MTFL gender codes ``genders`` (1 male, 2 female), and their 40 x 40 photos."""
    lines = []
    for index, gender in enumerate(genders):
        write_face(folder / "lfw_5590" / f"face_{index}.jpg", size=40, shade=60 * index)
        points = "12 28 20 14 26 14 14 20 28 28"  # x1..x5 y1..y5, inside the photo
        lines.append(f" lfw_5590\\face_{index}.jpg {points} {gender} 2 2 3")
    (folder / "training.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return folder / "training.txt"
