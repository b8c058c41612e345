"""Where bfloat16 autocast is slower than float32: grouped convolutions on CPU.

oneDNN's bfloat16 kernels for grouped (depthwise) convolutions, the bulk of MobileNet-style timm
encoders, are slower than its float32 ones on CPU: a ``mobilenetv3_small_100`` encoder's forward
and backward of 128 faces at 64 px took 0.21 s in bfloat16 against 0.09 s in float32, and 0.09 s
with only its grouped convolutions in float32 (bench/results/precision.md). So under CPU autocast
those layers run in float32 and everything else in bfloat16. On a GPU, and without autocast,
nothing changes.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CpuFloat32Conv2d(nn.Conv2d):
    """A convolution that leaves CPU bfloat16 autocast: float32 in, float32 out."""

    def forward(self, input: Tensor) -> Tensor:
        if input.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            with torch.autocast("cpu", enabled=False):
                return super().forward(input.float())
        return super().forward(input)


def grouped_convolutions_in_float32(module: nn.Module) -> int:
    """Turn every plain grouped ``nn.Conv2d`` of ``module`` into a :class:`CpuFloat32Conv2d` in
    place (same parameters, same state-dict names); how many were turned."""
    turned = 0
    for layer in module.modules():
        if type(layer) is nn.Conv2d and layer.groups > 1:
            layer.__class__ = CpuFloat32Conv2d
            turned += 1
    return turned
