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
from pathlib import Path

from ifan.data.dataset import RecordDataset
from ifan.data.errors import DatasetError
from ifan.data.images import IMAGE_SUFFIXES, find_image, load_rgb
from ifan.data.lists import read_lines
from ifan_tasks.parsing.samples import (
    Sample,
    SizeMismatch,
    fit_labels,
    make_sample,
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


def _pair(photos: list[Path], masks: Path, where: Path) -> list[MaskRecord]:
    records = [MaskRecord(photo, masks / f"{photo.stem}.png") for photo in photos]
    missing = [r.mask.name for r in records if not r.mask.is_file()]
    if missing:
        raise DatasetError(
            f"{masks}: no mask for {len(missing)} photo(s), e.g. {', '.join(missing[:3])}; "
            "add the masks or remove the photos"
        )
    if not records:
        raise DatasetError(f"{where}: no photos found")
    return records


def read_mask_folder(path: Path) -> list[MaskRecord]:
    """Photo/mask pairs of a ``mask-folder`` split (``images/`` and ``masks/`` in ``path``)."""
    return _pair(_photos(path / "images"), path / "masks", path)


def read_celebamask(path: Path) -> list[MaskRecord]:
    """Photo/mask pairs of a CelebAMask-HQ split: the root folder, or a list file in the root."""
    if path.is_dir():
        return _pair(_photos(path / CELEBA_IMAGES), path / CELEBA_MASKS, path)
    images = path.parent / CELEBA_IMAGES
    photos = []
    for line in read_lines(path, "CelebAMask-HQ list file"):
        stem = (
            Path(line.text).stem if Path(line.text).suffix.lower() in IMAGE_SUFFIXES else line.text
        )
        photo = find_image(images, stem)
        if photo is None:
            raise line.error(f"no photo {stem!r} in {images}")
        photos.append(photo)
    return _pair(photos, path.parent / CELEBA_MASKS, path)


def load_masked(record: MaskRecord, size: int, num_classes: int, policy: SizeMismatch) -> Sample:
    """One photo with its index mask (see :func:`ifan_tasks.parsing.samples.make_sample`)."""
    photo = load_rgb(record.photo)
    labels = fit_labels(
        read_index_mask(record.mask, num_classes), photo, record.mask, record.photo, policy
    )
    return make_sample(photo, labels, size)


def open_masked(
    records: list[MaskRecord], size: int, num_classes: int, policy: SizeMismatch
) -> RecordDataset:
    """A dataset of photo/mask pairs."""
    load = partial(load_masked, size=size, num_classes=num_classes, policy=policy)
    return RecordDataset(records, load)
