"""Bilinear upsampling whose backward stays on PyTorch's fast CPU path.

The decoders' up path enlarges a channels-last map and concatenates it with a skip. The
concatenation's backward hands the upsampling a slice of its gradient, which is contiguous in
neither layout, and ``upsample_bilinear2d_backward`` then takes a generic path: 41 ms against
7 ms for a batch of 64 maps of 32 x 32 x 32 on one CPU thread, about a tenth of a recipe update
(``bench/results/updates.md``). :func:`upsample_bilinear` gives that gradient the forward's
channels-last layout first; the values are those of ``F.interpolate``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


class _ChannelsLastGradient(torch.autograd.Function):
    """The identity, whose gradient is made channels-last contiguous on its way back."""

    @staticmethod
    def forward(ctx: object, maps: Tensor) -> Tensor:
        return maps.view_as(maps)

    @staticmethod
    def backward(ctx: object, gradient: Tensor) -> Tensor:
        return gradient.contiguous(memory_format=torch.channels_last)


def upsample_bilinear(maps: Tensor, size: tuple[int, int]) -> Tensor:
    """``F.interpolate(maps, size, mode="bilinear", align_corners=False)``; in training, when
    ``maps`` is channels-last, its gradient reaches the interpolation channels-last too."""
    out = F.interpolate(maps, size=size, mode="bilinear", align_corners=False)
    if (
        out.requires_grad
        and torch.is_grad_enabled()
        and out.is_contiguous(memory_format=torch.channels_last)
        and not torch.jit.is_tracing()
        and not torch.compiler.is_compiling()
    ):
        return _ChannelsLastGradient.apply(out)
    return out
