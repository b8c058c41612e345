"""Reader of Helen as relabelled by Smith et al. 2013 (``SmithCVPR2013_dataset``).

Layout: a root holding ``images/<name>.jpg``, ``labels/<name>/<name>_lbl00.png`` to
``_lbl10.png`` (one grey map per class, in the order of the task's classes: background, skin,
left/right eyebrow, left/right eye, nose, upper lip, inner mouth, lower lip, hair) and the list
files ``exemplars.txt`` (train), ``tuning.txt`` (val) and ``testing.txt`` (test).

A list line is ``index , name`` as in Smith's files (e.g. ``1 , 100032540_1``) or just ``name``.
A pixel's class is the map with the highest value there (ties go to the lower index, so a pixel
no map claims is background).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from pathlib import Path

import numpy as np

from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.dataset import RecordDataset
from ifan.data.errors import DatasetError
from ifan.data.images import find_image, load_rgb, open_image
from ifan.data.lists import Line, read_lines
from ifan.data.masks import (
    LabelledPhoto,
    SizeMismatch,
    check_label_size,
    fit_labels,
    mask_dataset,
)

HELEN_MAPS = 11


@dataclass(frozen=True)
class HelenRecord:
    name: str
    image: Path
    labels: Path
    """The folder of the per-class maps."""


def read_helen_list(path: Path, bad: BadSamples, policy: SizeMismatch) -> list[HelenRecord]:
    """The records of a Helen list file (images and label folders beside it); each bad line goes
    to ``bad``."""
    return bad.keep_each(
        read_lines(path, "Helen list file", bad),
        lambda line: _record(line, policy),
        f"{path}: the list names no usable images",
    )


def _record(line: Line, policy: SizeMismatch) -> HelenRecord:
    root = line.path.parent
    fields = [field.strip() for field in line.text.split(",")]
    if len(fields) == 2 and fields[0].isdigit() and fields[1]:
        name = fields[1]
    elif len(fields) == 1 and " " not in fields[0]:
        name = fields[0]
    else:
        raise line.error(f"expected 'index , name' or 'name', got {line.text!r}")
    image = find_image(root / "images", name)
    if image is None:
        raise line.error(f"no image {name}.jpg (or .png) in {root / 'images'}")
    record = HelenRecord(name, image, root / "labels" / name)
    first_map = record.labels / f"{name}_lbl00.png"
    if not first_map.is_file():
        raise line.error(f"no label maps for {name}: {first_map} not found")
    line.within(lambda: check_label_size(first_map, image, policy))
    return record


def read_helen_labels(record: HelenRecord) -> np.ndarray:
    """The ``H x W`` class indices of one face from its 11 per-class maps."""
    maps: list[np.ndarray] = []
    for index in range(HELEN_MAPS):
        path = record.labels / f"{record.name}_lbl{index:02d}.png"
        array = np.asarray(open_image(path).convert("L"))
        if maps and array.shape != maps[0].shape:
            raise DatasetError(
                f"{path}: map is {array.shape[1]}x{array.shape[0]} but "
                f"{record.name}_lbl00.png is {maps[0].shape[1]}x{maps[0].shape[0]}; "
                "all maps of a face must have the same size"
            )
        maps.append(array)
    return np.stack(maps).argmax(axis=0).astype(np.uint8)


def read_helen(record: HelenRecord, policy: SizeMismatch) -> LabelledPhoto:
    """One Helen photo and its class indices."""
    photo = load_rgb(record.image)
    labels = read_helen_labels(record)
    labels = fit_labels(
        labels, photo, record.labels / f"{record.name}_lbl00.png", record.image, policy
    )
    return LabelledPhoto(record.image, photo, labels)


def open_helen(path: Path, ctx: OpenContext, policy: SizeMismatch, scored: bool) -> RecordDataset:
    """The Helen split listed in ``path``."""
    records = read_helen_list(path, ctx.bad, policy)
    return mask_dataset(
        records, attrgetter("image"), partial(read_helen, policy=policy), ctx, scored
    )
