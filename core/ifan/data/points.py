"""Faces marked by points: the record a reader keeps of each, its check against the photo, and its
crop with the points in crop coordinates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ifan.data.errors import DatasetError
from ifan.data.face_boxes import FaceHint
from ifan.data.hints import points_hint
from ifan.data.images import Box, crop_square, image_size, load_rgb, to_tensor


@dataclass(frozen=True)
class FacePoints:
    """One annotated face: its photo, its points ``K x 2`` (x, y) in the photo's pixels, where the
    annotation is (file and line, for errors) and integer attributes (e.g. MTFL's codes)."""

    image: Path
    points: tuple[tuple[float, float], ...]
    where: str
    attributes: dict[str, int] = field(default_factory=dict)

    def tensor(self) -> torch.Tensor:
        """The points as a float ``K x 2`` tensor of pixels."""
        return torch.tensor(self.points, dtype=torch.float32)

    def hint(self, fixed: Box | None = None) -> FaceHint:
        """What the crop rule needs of this face (:func:`ifan.data.hints.points_hint`)."""
        return points_hint(self.image, self.tensor(), self.where, fixed)


def check_points(face: FacePoints) -> FacePoints:
    """``face`` after checking that its photo's header can be read and its points are finite and
    inside the photo (pixel centres at integers, so it spans -0.5 to width - 0.5); a
    :class:`DatasetError` naming the annotation otherwise."""
    points = torch.tensor(face.points, dtype=torch.float64)
    if not torch.isfinite(points).all():
        raise DatasetError(f"{face.where}: a coordinate is not a finite number")
    width, height = image_size(face.image, face.where)
    low = points.min(dim=0).values
    high = points.max(dim=0).values
    if low.min() < -0.5 or high[0] > width - 0.5 or high[1] > height - 0.5:
        raise DatasetError(
            f"{face.where}: points outside the {width}x{height} image {face.image} (x from "
            f"{float(low[0]):g} to {float(high[0]):g}, y from {float(low[1]):g} to "
            f"{float(high[1]):g}); check the annotation and its 0- or 1-based coordinates"
        )
    return face


def crop_points(face: FacePoints, box: Box, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``box`` crop of the face's photo as an image tensor ``3 x size x size`` and its points
    in [0, 1] crop coordinates (``K x 2``), ready for a target."""
    image = to_tensor(crop_square(load_rgb(face.image), box, size))
    return image, box.to_crop(face.tensor())
