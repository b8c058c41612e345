"""Predictions drawn as maps: points as differentiable disks (a landmark re-encoder's input, the
overlays' heatmaps) and class maps resized to a photo."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ifan.network.upsampling import upsample_bilinear


def point_heatmaps(
    points: Tensor, height: int, width: int, radius: float, softness: float = 1.0
) -> Tensor:
    """Disks of ``radius`` pixels around points ``B x K x 2`` (x, y in [0, 1]): ``B x K x H x W``.

    The disk edge is soft, ``sigmoid((radius - distance) / softness)`` with distances in pixels, so
    the maps are differentiable in the point coordinates.
    """
    ys = (torch.arange(height, device=points.device, dtype=points.dtype) + 0.5).view(1, 1, -1, 1)
    xs = (torch.arange(width, device=points.device, dtype=points.dtype) + 0.5).view(1, 1, 1, -1)
    px = points[..., 0, None, None] * width
    py = points[..., 1, None, None] * height
    distance = torch.sqrt((xs - px) ** 2 + (ys - py) ** 2 + 1e-6)
    return torch.sigmoid((radius - distance) / softness)


def resize_maps(maps: Tensor, height: int, width: int) -> Tensor:
    """Maps resized to ``height x width``: area averaging to shrink, bilinear to enlarge."""
    if maps.shape[-2:] == (height, width):
        return maps
    if height <= maps.shape[-2] and width <= maps.shape[-1]:
        return F.adaptive_avg_pool2d(maps, (height, width))
    return upsample_bilinear(maps, (height, width))


class PointHeatmaps(nn.Module):
    """:func:`point_heatmaps` as a module: points ``B x K x 2`` -> disks ``B x K x H x W``."""

    def __init__(self, height: int, width: int, radius: float, softness: float = 1.0):
        super().__init__()
        self.height, self.width, self.radius, self.softness = height, width, radius, softness

    def forward(self, points: Tensor) -> Tensor:
        return point_heatmaps(points, self.height, self.width, self.radius, self.softness)

    def extra_repr(self) -> str:
        return f"size={self.height}x{self.width}, radius={self.radius:g}"
