"""Landmark samples: a photo and its points in pixels made into the network's crop and targets.

Two crops (the format option ``crop``): ``image`` letterboxes the whole photo (padded to a centred
square, never cut; right for face crops such as MTFL's), ``points`` takes a square around the
annotated points, enlarged by ``margin`` of their extent on each side (300-W practice for faces in
large photos; it uses the ground truth, so test faces must be cropped the same way). The target
holds the points in [0, 1] crop coordinates and the inter-ocular distance (between the two eye
centres) in the same units, which normalises the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
from pydantic import Field

from ifan.contract import FormatOptions
from ifan.data.errors import DatasetError
from ifan.data.images import (
    box_around,
    crop_square,
    image_size,
    letterbox,
    load_rgb,
    to_tensor,
)

Crop = Literal["image", "points"]


class CropOptions(FormatOptions):
    """How a face is cropped (every landmark format has these)."""

    crop: Crop = Field(
        "image",
        description="'image': the whole photo, padded to a square; 'points': a square around the "
        "annotated points (uses the ground truth)",
    )
    margin: float = Field(
        0.15, ge=0, le=2, description="crop 'points': added on each side, times the points' extent"
    )


@dataclass(frozen=True)
class LandmarkRecord:
    """One annotated face: its photo, points ``K x 2`` in pixels and integer attributes."""

    image: Path
    points: tuple[tuple[float, float], ...]
    where: str
    """The annotation's file (and line), for errors."""
    attributes: dict[str, int] = field(default_factory=dict)


def eye_centres(points: torch.Tensor, eyes: Sequence[Sequence[int]]) -> torch.Tensor:
    """``2 x 2``: the mean of each eye's points (its centre, or the middle of its corners)."""
    return torch.stack([points[list(group)].mean(dim=0) for group in eyes])


def checked_record(record: LandmarkRecord, eyes: Sequence[Sequence[int]]) -> LandmarkRecord:
    """``record`` after checking that its image can be opened, its points are finite and inside
    the image (pixel centres at integers, so the image spans -0.5 to width - 0.5) and its eye
    centres are apart; a :class:`DatasetError` naming the annotation's line otherwise."""
    points = torch.tensor(record.points, dtype=torch.float64)
    if not torch.isfinite(points).all():
        raise DatasetError(f"{record.where}: a coordinate is not a finite number")
    width, height = image_size(record.image, record.where)
    low = points.min(dim=0).values
    high = points.max(dim=0).values
    if low.min() < -0.5 or high[0] > width - 0.5 or high[1] > height - 0.5:
        raise DatasetError(
            f"{record.where}: points outside the {width}x{height} image {record.image} (x from "
            f"{float(low[0]):g} to {float(high[0]):g}, y from {float(low[1]):g} to "
            f"{float(high[1]):g}); check the annotation and its 0- or 1-based coordinates"
        )
    centres = eye_centres(points, eyes)
    if float((centres[0] - centres[1]).norm()) <= 0:
        raise DatasetError(
            f"{record.where}: the two eye centres coincide, so the inter-ocular distance that "
            "normalises the error is 0; fix the points or the format's eyes option"
        )
    return record


def load_landmarks(
    record: LandmarkRecord, size: int, eyes: Sequence[Sequence[int]], crop: Crop, margin: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(image, {"points", "iod", attributes...})`` for one face."""
    photo = load_rgb(record.image)
    pixels = torch.tensor(record.points, dtype=torch.float32)
    box = letterbox(*photo.size) if crop == "image" else box_around(pixels, margin)
    points = box.to_crop(pixels)
    centres = eye_centres(points, eyes)
    target = {"points": points, "iod": (centres[0] - centres[1]).norm()}
    target.update({k: torch.tensor(v, dtype=torch.int64) for k, v in record.attributes.items()})
    return to_tensor(crop_square(photo, box, size)), target
