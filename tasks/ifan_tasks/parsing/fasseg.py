"""Reader of FASSEG (Khan et al. 2015, 2017): photos and colour-coded label images.

A split path is a photo folder (``V1/Train_RGB``, ``V3/Train_RGB``, ``.../Test_RGB``); its labels
are in the sibling folder named like it with ``Labels`` for ``RGB`` in any case (``Train_Labels``
in V1/V2, ``Train_labels`` in V3). Photos are found recursively (V3 has one folder per yaw) and
paired with the label of the same relative path and name, whatever the suffix (PNG or the
original BMP). Each label pixel takes the class of the nearest class colour, which absorbs the
blended colours along region edges.
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
from ifan.data.images import IMAGE_SUFFIXES, load_rgb, open_image
from ifan.data.masks import (
    LabelledPhoto,
    SizeMismatch,
    check_label_size,
    fit_labels,
    mask_dataset,
)
from ifan_tasks.parsing.classes import FASSEG_COLOURS

COLOURS = np.array(list(FASSEG_COLOURS.values()), dtype=np.int32)


@dataclass(frozen=True)
class FassegRecord:
    photo: Path
    label: Path


def label_folder(photos: Path) -> Path:
    """The label folder beside a photo folder: ``Train_RGB`` -> ``Train_Labels`` (any case)."""
    if "rgb" not in photos.name.lower():
        raise DatasetError(
            f"{photos}: expected a FASSEG photo folder such as Train_RGB (the labels are found in "
            "the sibling *_Labels folder)"
        )
    wanted = photos.name.lower().replace("rgb", "labels")
    siblings = [p for p in photos.parent.iterdir() if p.is_dir() and p.name.lower() == wanted]
    if not siblings:
        raise DatasetError(f"{photos}: no label folder {wanted!r} (any case) beside it")
    return siblings[0]


def _images(folder: Path) -> dict[Path, Path]:
    return {
        p.relative_to(folder).with_suffix(""): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    }


def read_fasseg_folder(photos: Path, bad: BadSamples, policy: SizeMismatch) -> list[FassegRecord]:
    """The photo/label pairs under a FASSEG photo folder; a photo without a label, or with one
    of another size, goes to ``bad``."""
    if not photos.is_dir():
        raise DatasetError(f"{photos}: not a folder; a fasseg split is a photo folder (Train_RGB)")
    labels_dir = label_folder(photos)
    labels = _images(labels_dir)
    return bad.keep_each(
        _images(photos).items(),
        lambda item: _pair(*item, labels, labels_dir, policy),
        f"{photos}: no usable images found",
    )


def _pair(
    key: Path, photo: Path, labels: dict[Path, Path], labels_dir: Path, policy: SizeMismatch
) -> FassegRecord:
    if key not in labels:
        raise DatasetError(f"{photo}: no label image {key} in {labels_dir}")
    check_label_size(labels[key], photo, policy)
    return FassegRecord(photo, labels[key])


def colours_to_classes(rgb: np.ndarray) -> np.ndarray:
    """``H x W x 3`` label colours -> ``H x W`` indices of the nearest class colour.

    Almost every pixel is exactly a class colour: those are looked up in the 6 sorted colour
    codes (a binary search); only the few blended edge pixels get the nearest colour by distance.
    """
    codes = rgb.reshape(-1, 3).astype(np.int32) @ _CODE_WEIGHTS
    at = np.searchsorted(_SORTED_CODES, codes).clip(0, len(_SORTED_CODES) - 1)
    classes = _SORTED_CLASSES[at]
    blended = np.flatnonzero(_SORTED_CODES[at] != codes)
    if blended.size:
        colours = rgb.reshape(-1, 3)[blended].astype(np.int32)
        distances = ((colours[:, None, :] - COLOURS[None]) ** 2).sum(axis=2)
        classes[blended] = distances.argmin(axis=1)
    return classes.reshape(rgb.shape[:2])


_CODE_WEIGHTS = np.array([1 << 16, 1 << 8, 1], dtype=np.int32)
_SORTED_CLASSES = np.argsort(COLOURS @ _CODE_WEIGHTS).astype(np.uint8)
_SORTED_CODES = (COLOURS @ _CODE_WEIGHTS)[_SORTED_CLASSES]


def read_fasseg(record: FassegRecord, policy: SizeMismatch) -> LabelledPhoto:
    """One FASSEG photo and its class indices."""
    photo = load_rgb(record.photo)
    labels = colours_to_classes(np.asarray(open_image(record.label).convert("RGB")))
    labels = fit_labels(labels, photo, record.label, record.photo, policy)
    return LabelledPhoto(record.photo, photo, labels)


def open_fasseg(path: Path, ctx: OpenContext, policy: SizeMismatch, scored: bool) -> RecordDataset:
    """The FASSEG split whose photos are in ``path``."""
    records = read_fasseg_folder(path, ctx.bad, policy)
    return mask_dataset(
        records, attrgetter("photo"), partial(read_fasseg, policy=policy), ctx, scored
    )
