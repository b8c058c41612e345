"""The face hints of the usual annotations (see :class:`~ifan.data.face_boxes.FaceHint`): a photo
of one face, and a face marked by points."""

from __future__ import annotations

from pathlib import Path

import torch

from ifan.data.face_boxes import FaceHint
from ifan.data.images import Box, image_size


def photo_hint(path: Path, where: str | None = None) -> FaceHint:
    """A photo of one face (a dataset of face photos or crops): the largest face the detector
    finds; the whole photo is the reference for the fallback. The size comes from the header
    alone, so a photo broken inside is found, with its file, when it is loaded."""
    width, height = image_size(path, where or "")
    return FaceHint(path, (0, 0, width, height), None, where or str(path))


def points_hint(
    image: Path, points: torch.Tensor, where: str, fixed: Box | None = None
) -> FaceHint:
    """A face marked by points (``K x 2`` pixels of ``image``): the detected face that holds
    their centre; their bounds are the reference. ``fixed`` is a crop the reader chose itself
    (e.g. a square around the points), which no detection changes."""
    points = points.float()
    low, high = points.min(dim=0).values, points.max(dim=0).values
    reference = (float(low[0]), float(low[1]), float(high[0]), float(high[1]))
    anchor = (float(points[:, 0].mean()), float(points[:, 1].mean()))
    return FaceHint(image, reference, anchor, where, fixed)
