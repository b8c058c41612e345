"""Building blocks for task decoders and re-encoders, shared by built-in and plugin tasks.

Decoders: :class:`MLPHead` (a vector from a tap: global pooling or flattening, then an MLP) and
:class:`PixelClassifier` (per-pixel classes, upsampled to the input size). Re-encoders (paper
§4.1.2): :class:`ConvPoolPyramid` (alternating convolution and max pooling over a prediction map,
one output per feedback level) and :class:`FCTileEncoder` (fully connected layers on a prediction
vector, tiled to every level; logits go through :class:`Probabilities` first). Helpers:
:func:`point_heatmaps` (differentiable disks around points) and :func:`resize_maps`.

Every block takes ``norm``, the ``BuildContext.norm`` factory, so its batch norm is per task when
the model's is.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ifan.contract import FeatureSpec

NormFn = Callable[[int], nn.Module]


def conv_norm_relu(in_channels: int, out_channels: int, norm: NormFn, kernel: int = 3) -> nn.Module:
    """Conv (stride 1, same padding, no bias) -> batch norm -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        norm(out_channels),
        nn.ReLU(inplace=True),
    )


class MLPHead(nn.Module):
    """A vector prediction ``B x out`` from a tap ``B x C x H x W``.

    ``pool="avg"``: global average pooling, for what does not depend on position (classes).
    ``pool="flatten"``: a 1x1 conv to ``reduce`` channels then flattening, which keeps where things
    are (coordinate regression). Then Linear -> norm -> ReLU -> Linear, and ``activation``.
    """

    def __init__(
        self,
        tap: FeatureSpec,
        out_features: int,
        hidden: int,
        norm: NormFn,
        pool: Literal["avg", "flatten"] = "avg",
        reduce: int = 32,
        activation: Literal["none", "sigmoid"] = "none",
    ):
        super().__init__()
        if pool == "avg":
            self.pool: nn.Module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            in_features = tap.channels
        else:
            self.pool = nn.Sequential(conv_norm_relu(tap.channels, reduce, norm, 1), nn.Flatten())
            in_features = reduce * tap.height * tap.width
        self.mlp = nn.Sequential(
            nn.Linear(in_features, hidden, bias=False),
            norm(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, out_features),
        )
        self.activation = activation

    def forward(self, features: Tensor) -> Tensor:
        out = self.mlp(self.pool(features))
        return torch.sigmoid(out) if self.activation == "sigmoid" else out


class PixelClassifier(nn.Module):
    """Per-pixel logits ``B x classes x S x S`` from a tap, bilinearly upsampled to ``size`` S."""

    def __init__(self, tap: FeatureSpec, classes: int, hidden: int, norm: NormFn, size: int):
        super().__init__()
        self.body = conv_norm_relu(tap.channels, hidden, norm)
        self.classify = nn.Conv2d(hidden, classes, 1)
        self.size = size

    def forward(self, features: Tensor) -> Tensor:
        logits = self.classify(self.body(features))
        if logits.shape[-2:] != (self.size, self.size):
            logits = F.interpolate(
                logits, size=(self.size, self.size), mode="bilinear", align_corners=False
            )
        return logits


class ConvPoolPyramid(nn.Module):
    """Alternating conv and max-pool layers: a map ``B x in x H x W`` -> one map per level.

    Stage ``i`` max-pools the previous stage's output to level ``i``'s size (a 2x2 max pool between
    neighbouring levels), applies conv -> norm -> ReLU at ``width`` channels, and a 1x1 conv gives
    ``levels[i].channels``. Levels go from the largest to the smallest size.
    """

    def __init__(
        self, in_channels: int, levels: Sequence[FeatureSpec], norm: NormFn, width: int = 16
    ):
        super().__init__()
        self.sizes = [(level.height, level.width) for level in levels]
        self.stages = nn.ModuleList(
            conv_norm_relu(in_channels if i == 0 else width, width, norm)
            for i in range(len(levels))
        )
        self.heads = nn.ModuleList(nn.Conv2d(width, level.channels, 1) for level in levels)

    def forward(self, maps: Tensor) -> list[Tensor]:
        outputs = []
        x = maps
        for size, stage, head in zip(self.sizes, self.stages, self.heads, strict=True):
            if x.shape[-2:] != size:
                x = F.adaptive_max_pool2d(x, size)
            x = stage(x)
            outputs.append(head(x))
        return outputs


class Probabilities(nn.Module):
    """The softmax of the first ``outputs`` columns of a prediction ``B x N`` (``N >= outputs``):
    the probabilities of a decoder's logits, which may be followed by other columns (an
    embedding). With ``N == outputs`` it is ``nn.Softmax(dim=1)``; it has no parameters."""

    def __init__(self, outputs: int):
        super().__init__()
        self.outputs = outputs

    def forward(self, prediction: Tensor) -> Tensor:
        return prediction[:, : self.outputs].softmax(dim=1)

    def extra_repr(self) -> str:
        return f"outputs={self.outputs}"


class FCTileEncoder(nn.Module):
    """Fully connected layers on a vector ``B x in``, tiled to every level's spatial size."""

    def __init__(self, in_features: int, levels: Sequence[FeatureSpec], hidden: int = 64):
        super().__init__()
        self.sizes = [(level.height, level.width) for level in levels]
        self.mlp = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
        )
        self.heads = nn.ModuleList(nn.Linear(hidden, level.channels) for level in levels)

    def forward(self, vector: Tensor) -> list[Tensor]:
        hidden = self.mlp(vector)
        return [
            head(hidden)[:, :, None, None].expand(-1, -1, *size)
            for size, head in zip(self.sizes, self.heads, strict=True)
        ]


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
    return F.interpolate(maps, size=(height, width), mode="bilinear", align_corners=False)


class PointHeatmaps(nn.Module):
    """:func:`point_heatmaps` as a module: points ``B x K x 2`` -> disks ``B x K x H x W``."""

    def __init__(self, height: int, width: int, radius: float, softness: float = 1.0):
        super().__init__()
        self.height, self.width, self.radius, self.softness = height, width, radius, softness

    def forward(self, points: Tensor) -> Tensor:
        return point_heatmaps(points, self.height, self.width, self.radius, self.softness)

    def extra_repr(self) -> str:
        return f"size={self.height}x{self.width}, radius={self.radius:g}"
