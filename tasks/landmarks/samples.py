"""Landmark samples: a photo and its points in pixels made into the network's crop and targets.

Two crops (the format option ``crop``): ``face``, the model's crop rule (:mod:`ifan.data.crop`:
the face detector's box enlarged by the rule's margin, the same crop evaluation and prediction
make), for which the face holding the points' centre is chosen; and ``points``, a square around
the annotated points enlarged by ``margin`` of their extent on each side (300-W practice). The
``points`` crop uses the answer to place the face, which prediction cannot: it flatters
evaluation, and a model trained on it meets faces framed differently in use. The target holds the
points in [0, 1] crop coordinates and the inter-ocular distance (between the two eye centres) in
the same units, which normalises the error.
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
from ifan.data.face_boxes import FaceHint
from ifan.data.images import Box, box_around, crop_square, image_size, load_rgb, to_tensor

Crop = Literal["face", "points"]


class CropOptions(FormatOptions):
    """How a face is cropped (every landmark format has these)."""

    crop: Crop = Field(
        "face",
        description="'face': the model's crop rule ([model.crop], as in prediction); 'points': a "
        "square around the annotated points (uses the ground truth, flatters evaluation)",
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


def face_hint(record: LandmarkRecord, crop: Crop, margin: float) -> FaceHint:
    """What the crop rule needs of one face: the points' bounds and centre (or, for the
    ``points`` crop, the square around them)."""
    pixels = torch.tensor(record.points, dtype=torch.float32)
    low, high = pixels.min(dim=0).values, pixels.max(dim=0).values
    fixed = box_around(pixels, margin) if crop == "points" else None
    reference = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    anchor = (float(pixels[:, 0].mean()), float(pixels[:, 1].mean()))
    return FaceHint(record.image, reference, anchor, record.where, fixed)


def load_landmarks(
    record: LandmarkRecord, box: Box, size: int, eyes: Sequence[Sequence[int]]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(image, {"points", "iod", attributes...})`` for one face cropped by ``box``."""
    photo = load_rgb(record.image)
    points = box.to_crop(torch.tensor(record.points, dtype=torch.float32))
    centres = eye_centres(points, eyes)
    target = {"points": points, "iod": (centres[0] - centres[1]).norm()}
    target.update({k: torch.tensor(v, dtype=torch.int64) for k, v in record.attributes.items()})
    return to_tensor(crop_square(photo, box, size)), target
