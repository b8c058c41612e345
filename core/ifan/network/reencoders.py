"""Task re-encoders (the paper's θ_e^t, §4.1.2): a task's prediction -> features at every
feedback level of the backbone, which the task integrator fuses.

:class:`ConvPoolPyramid` alternates convolution and max pooling over a prediction map, one output
a level (parsing's class maps; landmarks' heatmaps, drawn by
:class:`ifan.network.maps.PointHeatmaps`); :class:`FCTileEncoder` puts a prediction vector
through fully connected layers and tiles it to every level (classes go through
:class:`Probabilities` first)."""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from ifan.contract import FeatureSpec
from ifan.network.layers import NormFn, conv_norm_relu


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
