"""Faces labelled with a class: one photo per record, the target ``{"label": class index}``, and
the reader of a folder with one sub-folder per class (FER2013's emotions, LFW's people).

A record is ``(image path, class index)``. Its face is cropped by the model's crop rule like every
other face (a photo of one face: the largest face the detector finds; the whole photo is the
reference of the fallback), so a reader only lists the records and hands them to
:func:`open_class_records`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import partial
from pathlib import Path

import torch

from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.dataset import RecordDataset, face_dataset
from ifan.data.errors import DatasetError
from ifan.data.face_boxes import FaceHint
from ifan.data.hints import photo_hint
from ifan.data.images import IMAGE_SUFFIXES, Box, crop_square, image_size, load_rgb, to_tensor

ClassRecord = tuple[Path, int]
"""One face: its photo and its class index."""
NAMES_SHOWN = 10
"""How many class names an error lists before it says how many there are in all."""


def class_sample(
    record: ClassRecord, box: Box, size: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The face's ``box`` crop at ``size x size`` (grey photos made RGB) and its target
    ``{"label": class index}``."""
    path, label = record
    image = to_tensor(crop_square(load_rgb(path), box, size))
    return image, {"label": torch.tensor(label, dtype=torch.int64)}


def class_hint(record: ClassRecord) -> FaceHint:
    """A photo of one face: the largest face in it; the whole photo is the reference."""
    return photo_hint(record[0])


def open_class_records(records: Sequence[ClassRecord], ctx: OpenContext) -> RecordDataset:
    """The split of ``records``, each face cropped by the crop rule when it is read."""
    return face_dataset(records, class_hint, partial(class_sample, size=ctx.input_size), ctx)


def folder_images(folder: Path) -> list[Path]:
    """The images under ``folder`` (searched recursively), in order; hidden files left out."""
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]


def readable(path: Path) -> Path:
    """``path``, after checking that its image header can be read (a DatasetError if not)."""
    image_size(path)
    return path


def shown_names(names: Sequence[str]) -> str:
    """``a, b, c``; past :data:`NAMES_SHOWN` names, the first of them and how many in all."""
    if len(names) <= NAMES_SHOWN:
        return ", ".join(names)
    return f"{', '.join(names[:NAMES_SHOWN])}, ... ({len(names)} in all)"


def read_class_folders(
    path: Path,
    classes: Sequence[str],
    bad: BadSamples,
    rename: Mapping[str, str] | None = None,
    leave_out: Collection[str] = (),
    option: str = "classes",
) -> list[ClassRecord]:
    """``(image, class index)`` for every image in the class sub-folders of ``path``: a folder is
    named after its class, or ``rename`` maps its name to the class; the folders of
    ``leave_out`` are not read, their images counted in ``bad.left_out``. An image whose header
    cannot be read goes to ``bad``. ``option`` is the data table's key that lists the classes,
    which the error about a folder of no class names (and ``rename`` when the table has one)."""
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder; a folder split holds one sub-folder per class")
    ways = f"in the data table list it in {option}"
    if rename is not None:
        ways += ', map it to a class with rename = {{ {name} = "<class>" }}'
    ways += ' or skip it with leave_out = ["{name}"]'
    rename = rename or {}
    index = {name: i for i, name in enumerate(classes)}
    records: list[ClassRecord] = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if folder.name in leave_out:
            bad.leave_out(folder.name, len(folder_images(folder)))
            continue
        name = rename.get(folder.name, folder.name)
        if name not in index:
            raise DatasetError(
                f"{folder}: folder {folder.name!r} is not a class ({shown_names(classes)}); "
                f"rename or remove it, or {ways.format(name=folder.name)}"
            )
        label = index[name]
        records += [(p, label) for p in bad.keep_each(folder_images(folder), readable)]
    if not records:
        raise DatasetError(f"{path}: no usable images in class folders ({shown_names(classes)})")
    return records


def open_class_folders(
    path: Path,
    classes: Sequence[str],
    ctx: OpenContext,
    rename: Mapping[str, str] | None = None,
    leave_out: Collection[str] = (),
) -> RecordDataset:
    """The split of the class folders at ``path`` (see :func:`read_class_folders`)."""
    return open_class_records(read_class_folders(path, classes, ctx.bad, rename, leave_out), ctx)
