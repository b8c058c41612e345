"""Readers of the age formats: UTKFace (labels in the file names, parsed by
:mod:`ifan.data.utkface`) and CSV lines ``image,age``.

Records are parsed when a split is opened (a malformed name or line fails then, not mid-epoch)
and each face is loaded on demand, cropped by the model's crop rule like every other task's faces
(the largest face the detector finds; UTKFace's photos are face crops, so the fallback is the
whole photo) and resized to ``S x S``. The target is ``{"age": years}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from ifan.contract import OpenContext
from ifan.data import utkface
from ifan.data.bad_samples import BadSamples
from ifan.data.dataset import RecordDataset, face_dataset
from ifan.data.errors import DatasetError
from ifan.data.face_boxes import FaceHint
from ifan.data.hints import photo_hint
from ifan.data.images import Box, crop_square, image_size, load_rgb, to_tensor
from ifan.data.lists import Line, read_csv_lines

MAX_LABEL_AGE = 120
"""Ages above this (or below 0) are taken for annotation errors and reported as bad samples."""


@dataclass(frozen=True)
class AgeRecord:
    """One face: its image and its age in years."""

    image: Path
    age: float


def load_face(
    record: AgeRecord, box: Box, size: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The face's ``box`` crop at ``size x size`` and its target ``{"age": years}``."""
    photo = load_rgb(record.image)
    image = to_tensor(crop_square(photo, box, size))
    return image, {"age": torch.tensor(record.age, dtype=torch.float32)}


def face_hint(record: AgeRecord) -> FaceHint:
    """A face photo: its largest face, the whole photo the reference."""
    return photo_hint(record.image)


def checked_age(age: float, where: str) -> float:
    """``age`` when it is a plausible age in years, else a :class:`DatasetError` at ``where``."""
    if not 0 <= age <= MAX_LABEL_AGE:
        raise DatasetError(f"{where}: age {age:g} is outside 0 to {MAX_LABEL_AGE} years")
    return age


def utkface_age(path: Path) -> float:
    """The age in a UTKFace file name; a :class:`DatasetError` naming the file and the field
    that does not match ``<age>_<gender>_<race>_<datetime>``, or the age out of range."""
    return checked_age(float(utkface.parse_utkface_name(path).age), str(path))


def read_utkface(folder: Path, bad: BadSamples) -> list[AgeRecord]:
    """Every face of a UTKFace folder (searched recursively, so a folder holding its parts works
    too); a malformed name, an implausible age or an unreadable image header goes to ``bad``."""
    return utkface.read_utkface(folder, bad, _utkface_record)


def _utkface_record(path: Path, name: utkface.UtkFaceName) -> AgeRecord:
    return AgeRecord(path, checked_age(float(name.age), str(path)))


def read_age_csv(path: Path, bad: BadSamples) -> list[AgeRecord]:
    """Every face of a CSV file of ``image,age`` lines, image paths relative to the file's folder;
    a first line whose second field is not a number is a header. Each bad line goes to ``bad``."""
    return bad.keep_each(
        read_csv_lines(path, "age CSV file"),
        _csv_record,
        f"{path}: the CSV file has no usable faces (lines image,age)",
    )


def _csv_record(line: Line) -> AgeRecord:
    fields = line.csv_fields()
    if len(fields) != 2:
        raise line.error(f"expected 2 fields, image,age; got {len(fields)}")
    where = f"{line.path}:{line.number}"
    age = checked_age(line.floats(fields[1:], "the age")[0], where)
    image = line.path.parent / fields[0]
    image_size(image, where)
    return AgeRecord(image, age)


def open_records(records: list[AgeRecord], ctx: OpenContext) -> RecordDataset[AgeRecord]:
    """The dataset of ``records``, each face loaded at ``ctx.input_size`` when it is read."""
    return face_dataset(records, face_hint, partial(load_face, size=ctx.input_size), ctx)
