"""Task decoders (the paper's θ^t): a tap's features -> a task's prediction, for built-in and
plugin tasks alike.

:class:`MLPHead` makes a vector from a tap (global pooling or flattening, then an MLP; classes,
points, values), :class:`PixelClassifier` per-pixel classes upsampled to the input size
(segmentation), :class:`SoftArgmaxPoints` points as the expected places of per-point heat maps
(integral regression: Sun et al., ECCV 2018)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from ifan.contract import FeatureSpec
from ifan.network.layers import NormFn, conv_norm_relu
from ifan.network.upsampling import upsample_bilinear


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
            logits = upsample_bilinear(logits, (self.size, self.size))
        return logits


def soft_argmax(logits: Tensor) -> Tensor:
    """``B x K x H x W`` logits -> ``B x K x 2`` expected (x, y) in [0, 1] under each map's
    spatial softmax, a cell's place being its centre: differentiable, and finer than the grid."""
    batch, points, height, width = logits.shape
    weights = torch.softmax(logits.float().flatten(2), dim=-1).view(batch, points, height, width)
    xs = (torch.arange(width, device=logits.device, dtype=weights.dtype) + 0.5) / width
    ys = (torch.arange(height, device=logits.device, dtype=weights.dtype) + 0.5) / height
    x = (weights.sum(2) * xs).sum(-1)
    y = (weights.sum(3) * ys).sum(-1)
    return torch.stack((x, y), dim=-1)


class SoftArgmaxPoints(nn.Module):
    """``B x K x 2`` points in [0, 1] from a tap: conv3x3-norm-ReLU, one 1x1 map per point, then
    :func:`soft_argmax`. Every place of the tap scores every point with the same weights, so a
    point is found by what it looks like where it is, not by where it usually is (what a
    flattening regression learns); the finer the tap, the finer the places."""

    def __init__(self, tap: FeatureSpec, points: int, hidden: int, norm: NormFn):
        super().__init__()
        self.body = conv_norm_relu(tap.channels, hidden, norm)
        self.maps = nn.Conv2d(hidden, points, 1)

    def forward(self, features: Tensor) -> Tensor:
        return soft_argmax(self.maps(self.body(features)))
