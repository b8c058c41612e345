"""Mask samples: a photo and its class-index labels (one class per pixel) made into the network's
crop and targets, for face parsing and every other mask task.

The photo is cropped by the model's crop rule (:mod:`ifan.data.crop`; the face chosen is the
largest the detector finds, as such datasets are photos of one face) and resized to ``S x S``; the
labels get the same box, resized with nearest neighbour and padded with 255 (ignore). Scored
splits also keep the labels of the crop at the photo's own resolution (``original``, the box's
side in pixels) because the paper scores parsing there, after resizing the prediction back
bilinearly (§4.1.2); :func:`collate_masks` keeps those as a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import torch
from PIL import Image
from torch.utils.data import default_collate

from ifan.contract import OpenContext
from ifan.data.augment import IGNORE
from ifan.data.dataset import RecordDataset, face_dataset
from ifan.data.errors import DatasetError
from ifan.data.face_boxes import FaceHint
from ifan.data.hints import photo_hint
from ifan.data.images import Box, crop_square, image_size, open_image, to_tensor

SizeMismatch = Literal["error", "resize"]
"""What to do with a label image whose shape differs from its photo's: report it, or resize it."""
R = TypeVar("R")


@dataclass
class LabelledPhoto:
    """A photo (RGB), its file and its ``H x W`` class indices of the same size."""

    path: Path
    photo: Image.Image
    labels: np.ndarray


def mask_sample(
    photo: Image.Image, labels: np.ndarray, box: Box, size: int, scored: bool
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(image, {"mask"})`` of the ``box`` crop of an RGB photo and its ``H x W`` class indices,
    with ``"original"`` (the crop's labels at the photo's resolution) when ``scored``."""
    image = to_tensor(crop_square(photo, box, size))
    label_image = Image.fromarray(labels.astype(np.uint8), mode="L")
    nearest = Image.Resampling.NEAREST
    mask = crop_square(label_image, box, size, nearest, fill=IGNORE)
    target = {"mask": torch.from_numpy(np.asarray(mask, dtype=np.int64).copy())}
    if scored:
        original = crop_square(label_image, box, box.side, nearest, fill=IGNORE)
        target["original"] = torch.from_numpy(np.asarray(original, dtype=np.int64).copy())
    return image, target


def _hint(path: Callable[[R], Path], record: R) -> FaceHint:
    return photo_hint(path(record))


def _load(read: Callable[[R], LabelledPhoto], record: R, box: Box, size: int, scored: bool):
    labelled = read(record)
    return mask_sample(labelled.photo, labelled.labels, box, size, scored)


def mask_dataset(
    records: Sequence[R],
    path: Callable[[R], Path],
    read: Callable[[R], LabelledPhoto],
    ctx: OpenContext,
    scored: bool,
) -> RecordDataset:
    """A split of photos of one face with masks, whose record ``r`` has its photo at ``path(r)``
    and is read by ``read(r)`` (both picklable), each face cropped by the crop rule (the largest
    detected face); ``scored`` keeps the labels for the paper's scoring (not needed to train)."""
    load = partial(_load, read, size=ctx.input_size, scored=scored)
    return face_dataset(records, partial(_hint, path), load, ctx)


def _same_shape(labels: tuple[int, int], photo: tuple[int, int]) -> bool:
    """Equal sizes, or the same aspect scaled (CelebAMask-HQ's 512 px masks of 1024 px photos)."""
    (width, height), (photo_width, photo_height) = labels, photo
    return labels == photo or abs(width * photo_height - height * photo_width) <= (
        0.01 * width * photo_height
    )


def _size_error(
    label_path: Path, labels: tuple[int, int], photo_path: Path, photo: tuple[int, int]
):
    return DatasetError(
        f"{label_path}: label image is {labels[0]}x{labels[1]} but its photo {photo_path} is "
        f'{photo[0]}x{photo[1]}; fix the file, or set size_mismatch = "resize" in the '
        "task's data table to resize such labels to their photos (nearest neighbour)"
    )


def check_label_size(label_path: Path, photo_path: Path, policy: SizeMismatch) -> None:
    """Compare a label image with its photo from their headers (when a split is opened, so that
    a mismatch is a bad sample found up front); an error under policy ``error``."""
    photo = image_size(photo_path)
    labels = image_size(label_path)
    if policy == "error" and not _same_shape(labels, photo):
        raise _size_error(label_path, labels, photo_path, photo)


def fit_labels(
    labels: np.ndarray, photo: Image.Image, label_path: Path, photo_path: Path, policy: SizeMismatch
) -> np.ndarray:
    """Labels that can be scored against ``photo``: the same size, or the same shape scaled;
    else resized (policy ``resize``) or an error naming both files."""
    height, width = labels.shape
    if _same_shape((width, height), photo.size):
        return labels
    if policy == "resize":
        resized = Image.fromarray(labels.astype(np.uint8), mode="L").resize(
            photo.size, Image.Resampling.NEAREST
        )
        return np.asarray(resized, dtype=np.uint8)
    raise _size_error(label_path, (width, height), photo_path, photo.size)


def read_index_mask(path: Path, num_classes: int) -> np.ndarray:
    """A single-channel PNG of class indices (255 = ignore), checked against ``num_classes``."""
    image = open_image(path)
    if image.mode not in ("L", "P", "I", "I;16"):
        raise DatasetError(
            f"{path}: expected a single-channel mask of class indices (mode L or P), got mode "
            f"{image.mode}; colour-coded labels need a format that maps colours (e.g. fasseg)"
        )
    labels = np.asarray(image)
    bad = (labels >= num_classes) & (labels != IGNORE)
    if bad.any():
        raise DatasetError(
            f"{path}: value {int(labels[bad][0])} is not a class index (0 to {num_classes - 1}) "
            f"or {IGNORE} (ignore); check the class list in the manifest"
        )
    return labels.astype(np.uint8)


def collate_masks(samples: Sequence[tuple[torch.Tensor, dict[str, Any]]]) -> tuple[Any, Any]:
    """Batch mask samples: images and masks stacked, original-size labels (when the split keeps
    them) as a list (a task's ``collate``)."""
    rest = [
        (image, {k: v for k, v in target.items() if k != "original"}) for image, target in samples
    ]
    images, targets = default_collate(rest)
    if all("original" in target for _, target in samples):
        targets["original"] = [target["original"] for _, target in samples]
    return images, targets
