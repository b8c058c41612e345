"""Layers the decoders and re-encoders share: a convolution with its batch norm and ReLU.

``norm`` is the ``BuildContext.norm`` factory, so a block's batch norm is per task when the
model's is."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

NormFn = Callable[[int], nn.Module]


def conv_norm_relu(in_channels: int, out_channels: int, norm: NormFn, kernel: int = 3) -> nn.Module:
    """Conv (stride 1, same padding, no bias) -> batch norm -> ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        norm(out_channels),
        nn.ReLU(inplace=True),
    )
