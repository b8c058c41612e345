"""One points prediction as JSON, in crop coordinates or in the photo's pixels, and as dots on its
photo."""

from __future__ import annotations

from typing import Any

import torch
from PIL import Image

from ifan.contract import LabelSchema
from ifan.data.images import Box, letterbox
from ifan.visual import draw_points

PREDICTED = (255, 255, 255)
TRUTH = (255, 0, 0)
"""As the paper's Fig. 3: white dots are predicted, red ones the ground truth."""


def to_pixels(points: Any, size: tuple[int, int], box: Box | None = None) -> torch.Tensor:
    """``K x 2`` crop coordinates -> pixels of the image of ``size = (width, height)``, where the
    crop is ``box`` (default: the whole image letterboxed)."""
    points = torch.as_tensor(points).detach().float().cpu().reshape(-1, 2)
    return (box or letterbox(*size)).from_crop(points)


def points_json(
    points: Any, labels: LabelSchema, size: tuple[int, int] | None = None, box: Box | None = None
) -> dict[str, Any]:
    """``{"unit": "crop", "points": {name: [x, y]}}`` in [0, 1] of the crop, or with
    ``size = (width, height)``: ``{"unit": "pixels", "width", "height", "points"}`` in pixels
    of that image, where the crop is ``box`` (default: the whole photo letterboxed). A task's
    ``to_json(prediction, size=None, box=None)`` can return it as it is."""
    points = torch.as_tensor(points).detach().float().cpu().reshape(-1, 2)
    out: dict[str, Any] = {"unit": "crop"}
    if size is not None:
        points = to_pixels(points, size, box)
        out = {"unit": "pixels", "width": size[0], "height": size[1]}
    out["points"] = {name: p for name, p in zip(labels.names, points.tolist(), strict=True)}
    return out


def points_overlay(image: Image.Image, points: Any, target: Any = None) -> Image.Image:
    """Predicted points (white) and, when given, the target's ``points`` (red) drawn on a copy of
    ``image`` (the crop itself, or the photo letterboxed into it)."""
    out = image.convert("RGB")
    if target is not None:
        draw_points(out, to_pixels(target["points"], out.size).numpy(), TRUTH)
    draw_points(out, to_pixels(points, out.size).numpy(), PREDICTED)
    return out
