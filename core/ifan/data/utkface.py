"""UTKFace (Zhang, Song and Qi 2017): face crops whose labels are in their file names,
``<age>_<gender>_<race>_<datetime>.jpg`` (``crop_part1`` adds ``.chip.jpg``); and a dataset
format that reads its gender or race as a task's class.

Gender is 0 male, 1 female; race 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others. A name that does
not follow the layout (the original release has two: a field missing, a datetime one digit
short) is a bad sample, reported with its file and the field that is wrong, never a crash. The
age task (``ifan-task-age``) and the gender and race tasks (``ifan-task-people``) read it here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ifan.contract import DatasetFormat, FormatOptions, LabelSchema, OpenContext, Split
from ifan.data.bad_samples import BadSamples
from ifan.data.classes import ClassRecord, open_class_records
from ifan.data.dataset import RecordDataset
from ifan.data.errors import DatasetError
from ifan.data.images import IMAGE_SUFFIXES, image_size

R = TypeVar("R")

UTKFACE_LAYOUT = "<age>_<gender>_<race>_<datetime>.jpg"
UTKFACE_FIELDS = (
    ("age", re.compile(r"\d{1,3}"), "a whole number of years"),
    ("gender", re.compile(r"[01]"), "0 (male) or 1 (female)"),
    ("race", re.compile(r"[0-4]"), "0 to 4"),
    ("datetime", re.compile(r"\d{17}"), "17 digits, yyyymmddHHMMSSfff"),
)
"""The fields of a UTKFace name, what each must match and how to say it in an error."""
UTKFACE_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female"),
    "race": ("white", "black", "asian", "indian", "others"),
}
"""The classes of the name's class fields, in the order of UTKFace's codes (code = index). The
genders are MTFL's too (:data:`ifan.data.mtfl.MTFL_ATTRIBUTES`), in the same order."""


@dataclass(frozen=True)
class UtkFaceName:
    """The labels of one UTKFace file name."""

    age: int
    """Years."""
    gender: int
    """0 male, 1 female."""
    race: int
    """0 White, 1 Black, 2 Asian, 3 Indian, 4 Others."""
    datetime: str
    """When the photo was collected, ``yyyymmddHHMMSSfff``."""


def parse_utkface_name(path: Path) -> UtkFaceName:
    """The labels in a UTKFace file name; a :class:`DatasetError` naming the file and the field
    that does not match ``<age>_<gender>_<race>_<datetime>``."""
    stem = path.name.split(".", 1)[0]
    fields = stem.split("_")
    expected = f"expected {UTKFACE_LAYOUT}"
    if len(fields) != len(UTKFACE_FIELDS):
        raise DatasetError(
            f"{path}: malformed UTKFace name, {expected} ({len(UTKFACE_FIELDS)} fields), got "
            f"{len(fields)} field{'s' if len(fields) != 1 else ''} in {stem!r}"
        )
    for value, (name, pattern, meaning) in zip(fields, UTKFACE_FIELDS, strict=True):
        if not pattern.fullmatch(value):
            raise DatasetError(
                f"{path}: malformed UTKFace name, {expected}: {name} must be {meaning}, got "
                f"{value!r}"
            )
    return UtkFaceName(int(fields[0]), int(fields[1]), int(fields[2]), fields[3])


def utkface_images(folder: Path) -> list[Path]:
    """The images of a UTKFace folder (searched recursively, so a folder of its parts works
    too), in order; hidden files left out. A :class:`DatasetError` when it is not a folder."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder; a utkface split is a folder of UTKFace images")
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
    )


def read_utkface(folder: Path, bad: BadSamples, make: Callable[[Path, UtkFaceName], R]) -> list[R]:
    """``make(path, labels)`` for every face of a UTKFace folder; a malformed name, a label
    ``make`` refuses (a :class:`DatasetError`) or an unreadable image header goes to ``bad``."""
    return bad.keep_each(
        utkface_images(folder),
        lambda path: _record(path, make),
        f"{folder}: no usable UTKFace images (named {UTKFACE_LAYOUT})",
    )


def _record(path: Path, make: Callable[[Path, UtkFaceName], R]) -> R:
    record = make(path, parse_utkface_name(path))
    image_size(path)
    return record


def utkface_labels(attribute: str) -> LabelSchema:
    """The class schema of a UTKFace class field, ``gender`` or ``race`` (a task's ``labels``)."""
    return LabelSchema(kind="class", names=UTKFACE_ATTRIBUTES[attribute])


class UtkFaceAttributeFormat(DatasetFormat[FormatOptions]):
    """The format ``utkface`` of a class task on the gender or race in UTKFace's names. Each
    face is cropped by the crop rule (a face crop: the largest face found, else the whole photo);
    the target is ``{"label": code}``. A race task sets ``labels = utkface_labels("race")`` and
    ``formats = (UtkFaceAttributeFormat("race"),)``."""

    name = "utkface"
    split_paths = f"a folder of UTKFace images named {UTKFACE_LAYOUT} (searched recursively)"

    def __init__(self, attribute: str):
        if attribute not in UTKFACE_ATTRIBUTES:
            raise ValueError(
                f"UTKFace names have no class {attribute!r}; they have "
                f"{', '.join(UTKFACE_ATTRIBUTES)}"
            )
        self.attribute = attribute
        self.description = f"UTKFace: the {attribute} in the file names"

    def labels(self, options: FormatOptions) -> LabelSchema:
        return utkface_labels(self.attribute)

    def open(
        self, path: Path, split: Split, options: FormatOptions, ctx: OpenContext
    ) -> RecordDataset:
        return open_class_records(read_utkface(path, ctx.bad, self._record), ctx)

    def _record(self, path: Path, name: UtkFaceName) -> ClassRecord:
        return path, getattr(name, self.attribute)
