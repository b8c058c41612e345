"""Tiny datasets in the real formats, written by the tests themselves (never the real data):
UTKFace-named face crops, an MTFL list file with its photos, LFW-style person folders."""

from __future__ import annotations

from pathlib import Path

from ifan.testing.datasets import UTKFACE_MALFORMED, write_face
from ifan.testing.datasets import write_people as write_person_folders
from ifan.testing.datasets import write_utkface as write_faces

GOOD_UTKFACE = {
    "1_0_2_20161219154354285.jpg.chip.jpg": ("male", "asian"),
    "26_1_3_20170104222823975.jpg.chip.jpg": ("female", "indian"),
    "39_0_0_20170104204347174.jpg.chip.jpg": ("male", "white"),
    "100_1_1_20170110183726390.jpg.chip.jpg": ("female", "black"),
    "45_0_4_20170117191418684.jpg.chip.jpg": ("male", "others"),
}
"""Good UTKFace names and the gender and race they say."""
MALFORMED_UTKFACE = UTKFACE_MALFORMED
PEOPLE = {"Ada_Lovelace": 4, "Alan_Turing": 3, "Grace_Hopper": 5}
"""LFW-style people and how many photos each has."""


def write_utkface(folder: Path, names: dict[str, object] | None = None) -> Path:
    """A UTKFace folder of the good names (or the ones given) with small faces."""
    return write_faces(folder, names if names is not None else GOOD_UTKFACE)


def write_people(folder: Path, people: dict[str, int] | None = None) -> Path:
    """A folder of ``<Person>/<Person>_NNNN.jpg`` photos, LFW's layout."""
    return write_person_folders(folder, people or PEOPLE)


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
