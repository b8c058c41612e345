"""Readers of photos paired with single-channel index masks: a generic folder and CelebAMask-HQ.

``mask-folder``: a split folder holding ``images/`` and ``masks/``; a photo's mask is the PNG of the
same name (any photo suffix) in ``masks/``.

``celebamask``: the CelebAMask-HQ root holding ``CelebA-HQ-img/<n>.jpg`` and the index masks made
by the dataset's ``g_mask.py`` in ``CelebAMask-HQ-mask/<n>.png`` (512 px for 1024 px photos; the
metric scores at the mask's size). A split is the root folder (every photo) or a list file in the
root with one photo name a line (``12``, ``12.jpg``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from pathlib import Path

from ifan.contract import OpenContext
from ifan.data.bad_samples import BadSamples
from ifan.data.dataset import RecordDataset
from ifan.data.errors import DatasetError
from ifan.data.images import IMAGE_SUFFIXES, find_image, load_rgb
from ifan.data.lists import Line, read_lines
from ifan.data.masks import (
    LabelledPhoto,
    SizeMismatch,
    check_label_size,
    fit_labels,
    mask_dataset,
    read_index_mask,
)

CELEBA_IMAGES = "CelebA-HQ-img"
CELEBA_MASKS = "CelebAMask-HQ-mask"


@dataclass(frozen=True)
class MaskRecord:
    photo: Path
    mask: Path


def _photos(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise DatasetError(f"{folder}: photo folder not found")
    return [p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]


def _pair(
    photos: list[Path], masks: Path, where: Path, bad: BadSamples, policy: SizeMismatch
) -> list[MaskRecord]:
    return bad.keep_each(
        photos,
        lambda photo: _record(photo, masks / f"{photo.stem}.png", policy),
        f"{where}: no usable photos found",
    )


def _record(photo: Path, mask: Path, policy: SizeMismatch) -> MaskRecord:
    if not mask.is_file():
        raise DatasetError(f"{photo}: no mask {mask.name} in {mask.parent}")
    check_label_size(mask, photo, policy)
    return MaskRecord(photo, mask)


def read_mask_folder(path: Path, bad: BadSamples, policy: SizeMismatch) -> list[MaskRecord]:
    """Photo/mask pairs of a ``mask-folder`` split (``images/`` and ``masks/`` in ``path``)."""
    return _pair(_photos(path / "images"), path / "masks", path, bad, policy)


def read_celebamask(path: Path, bad: BadSamples, policy: SizeMismatch) -> list[MaskRecord]:
    """Photo/mask pairs of a CelebAMask-HQ split: the root folder, or a list file in the root."""
    if path.is_dir():
        return _pair(_photos(path / CELEBA_IMAGES), path / CELEBA_MASKS, path, bad, policy)
    return bad.keep_each(
        read_lines(path, "CelebAMask-HQ list file", bad),
        lambda line: line.within(lambda: _listed_record(line, path.parent, policy)),
        f"{path}: the list names no usable photos",
    )


def _listed_record(line: Line, root: Path, policy: SizeMismatch) -> MaskRecord:
    images = root / CELEBA_IMAGES
    suffix = Path(line.text).suffix.lower()
    stem = Path(line.text).stem if suffix in IMAGE_SUFFIXES else line.text
    photo = find_image(images, stem)
    if photo is None:
        raise line.error(f"no photo {stem!r} in {images}")
    return _record(photo, root / CELEBA_MASKS / f"{photo.stem}.png", policy)


def read_masked(record: MaskRecord, num_classes: int, policy: SizeMismatch) -> LabelledPhoto:
    """One photo and its index mask."""
    photo = load_rgb(record.photo)
    labels = fit_labels(
        read_index_mask(record.mask, num_classes), photo, record.mask, record.photo, policy
    )
    return LabelledPhoto(record.photo, photo, labels)


def open_masked(
    records: list[MaskRecord],
    ctx: OpenContext,
    num_classes: int,
    policy: SizeMismatch,
    scored: bool,
) -> RecordDataset:
    """A dataset of photo/mask pairs."""
    read = partial(read_masked, num_classes=num_classes, policy=policy)
    return mask_dataset(records, attrgetter("photo"), read, ctx, scored)
