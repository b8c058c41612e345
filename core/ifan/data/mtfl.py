"""MTFL list files (Zhang et al. 2014, ``training.txt`` and ``testing.txt``), and a dataset format
that reads one of their attribute columns as a task's class.

A line is ``path x1..x5 y1..y5 gender smile glasses pose``: left eye, right eye, nose tip, left
and right mouth corner in pixels, then the attributes as coded by MTFL (gender 1 male / 2 female;
smile and glasses 1 yes / 2 no; pose 1 left profile to 5 right profile), which a record keeps as
given. Lines end in CRLF and may start with spaces; paths are relative to the list file's
folder, with backslashes (training) or slashes (testing).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch

from ifan.contract import DatasetFormat, FormatOptions, LabelSchema, OpenContext, Split
from ifan.data.bad_samples import BadSamples
from ifan.data.dataset import RecordDataset, face_dataset
from ifan.data.images import Box, crop_square, load_rgb, to_tensor
from ifan.data.lists import Line, read_lines
from ifan.data.points import FacePoints, check_points

MTFL_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "gender": ("male", "female"),
    "smile": ("smiling", "not_smiling"),
    "glasses": ("glasses", "no_glasses"),
    "pose": ("left_profile", "left", "frontal", "right", "right_profile"),
}
"""Each attribute column's classes in the order of MTFL's codes: code ``c`` is class ``c - 1``.
The poses' left and right swap under a horizontal flip (their names say so)."""


def parse_mtfl_line(line: Line) -> FacePoints:
    """One MTFL line as a face (not yet checked against its photo); a DatasetError naming the
    line when a field is missing or an attribute code is out of its range."""
    fields = line.text.split()
    if len(fields) != 15:
        raise line.error(
            f"expected 15 fields (path, x1..x5, y1..y5, gender, smile, glasses, pose), "
            f"got {len(fields)}"
        )
    coords = line.floats(fields[1:11], "x1..x5 y1..y5")
    codes = line.floats(fields[11:], "gender smile glasses pose")
    attributes = {}
    for (name, classes), value in zip(MTFL_ATTRIBUTES.items(), codes, strict=True):
        if not value.is_integer() or not 1 <= value <= len(classes):
            raise line.error(f"{name} must be an integer from 1 to {len(classes)}, got {value:g}")
        attributes[name] = int(value)
    return FacePoints(
        image=line.path.parent / fields[0].replace("\\", "/"),
        points=tuple(zip(coords[:5], coords[5:], strict=True)),
        where=f"{line.path}:{line.number}",
        attributes=attributes,
    )


def read_mtfl(
    path: Path, bad: BadSamples, check: Callable[[FacePoints], FacePoints] = check_points
) -> list[FacePoints]:
    """Every face of an MTFL list file, each passed through ``check`` (by default: its photo can
    be read and its points are inside it); each bad line goes to ``bad``."""
    return bad.keep_each(
        read_lines(path, "MTFL list file", bad),
        lambda line: line.within(lambda: check(parse_mtfl_line(line))),
        f"{path}: the list file has no usable faces",
    )


def attribute_sample(
    face: FacePoints, box: Box, attribute: str, size: int
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The face's ``box`` crop at ``size x size`` and ``{"label": class index}`` of its
    ``attribute`` (MTFL's code minus 1)."""
    image = to_tensor(crop_square(load_rgb(face.image), box, size))
    return image, {"label": torch.tensor(face.attributes[attribute] - 1, dtype=torch.int64)}


class MtflAttributeFormat(DatasetFormat[FormatOptions]):
    """The format ``mtfl`` of a class task on one of MTFL's attribute columns: ``gender``,
    ``smile``, ``glasses`` or ``pose`` (their classes: :data:`MTFL_ATTRIBUTES`). Each face is
    cropped by the crop rule around its points; the target is ``{"label": class index}``. A task
    on the glasses column sets ``labels = mtfl_labels("glasses")`` and
    ``formats = (MtflAttributeFormat("glasses"),)``."""

    name = "mtfl"
    split_paths = "the list file (training.txt or testing.txt) beside the image folders"

    def __init__(self, attribute: str):
        if attribute not in MTFL_ATTRIBUTES:
            raise ValueError(
                f"MTFL has no attribute {attribute!r}; it has {', '.join(MTFL_ATTRIBUTES)}"
            )
        self.attribute = attribute
        self.description = f"MTFL: the {attribute} column of training.txt / testing.txt"

    def labels(self, options: FormatOptions) -> LabelSchema:
        return mtfl_labels(self.attribute)

    def open(
        self, path: Path, split: Split, options: FormatOptions, ctx: OpenContext
    ) -> RecordDataset:
        load = partial(attribute_sample, attribute=self.attribute, size=ctx.input_size)
        return face_dataset(read_mtfl(path, ctx.bad), FacePoints.hint, load, ctx)


def mtfl_labels(attribute: str) -> LabelSchema:
    """The class schema of an MTFL attribute column (a task's ``labels``)."""
    return LabelSchema(kind="class", names=MTFL_ATTRIBUTES[attribute])
