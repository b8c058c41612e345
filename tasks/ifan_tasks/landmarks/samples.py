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
from typing import Literal

import torch
from pydantic import Field

from ifan.contract import FormatOptions
from ifan.data.errors import DatasetError
from ifan.data.face_boxes import FaceHint
from ifan.data.images import Box, box_around
from ifan.data.points import FacePoints, check_points, crop_points

Crop = Literal["face", "points"]


class CropOptions(FormatOptions):
    """How a face is cropped (every landmark format has these)."""

    crop: Crop = Field(
        default="face",
        description="'face': the model's crop rule ([model.crop], as in prediction); 'points': a "
        "square around the annotated points (uses the ground truth, flatters evaluation)",
    )
    margin: float = Field(
        default=0.15,
        ge=0,
        le=2,
        description="crop 'points': added on each side, times the points' extent",
    )


def eye_centres(points: torch.Tensor, eyes: Sequence[Sequence[int]]) -> torch.Tensor:
    """``2 x 2``: the mean of each eye's points (its centre, or the middle of its corners)."""
    return torch.stack([points[list(group)].mean(dim=0) for group in eyes])


def checked_record(record: FacePoints, eyes: Sequence[Sequence[int]]) -> FacePoints:
    """``record`` after checking its points against its photo
    (:func:`~ifan.data.points.check_points`) and that its eye centres are apart; a
    :class:`DatasetError` naming the annotation's line otherwise."""
    check_points(record)
    centres = eye_centres(torch.tensor(record.points, dtype=torch.float64), eyes)
    if float((centres[0] - centres[1]).norm()) <= 0:
        raise DatasetError(
            f"{record.where}: the two eye centres coincide, so the inter-ocular distance that "
            "normalises the error is 0; fix the points or the format's eyes option"
        )
    return record


def face_hint(record: FacePoints, crop: Crop, margin: float) -> FaceHint:
    """What the crop rule needs of one face: the points' bounds and centre (or, for the
    ``points`` crop, the square around them)."""
    fixed = box_around(record.tensor(), margin) if crop == "points" else None
    return record.hint(fixed)


def load_landmarks(
    record: FacePoints, box: Box, size: int, eyes: Sequence[Sequence[int]]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(image, {"points", "iod", attributes...})`` for one face cropped by ``box``."""
    image, points = crop_points(record, box, size)
    centres = eye_centres(points, eyes)
    target = {"points": points, "iod": (centres[0] - centres[1]).norm()}
    target.update({k: torch.tensor(v, dtype=torch.int64) for k, v in record.attributes.items()})
    return image, target
