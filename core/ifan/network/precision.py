"""Where bfloat16 autocast is slower than float32: grouped convolutions on CPU, and CPUs without
bfloat16 arithmetic.

oneDNN's bfloat16 kernels for grouped (depthwise) convolutions, the bulk of MobileNet-style timm
encoders, are slower than its float32 ones on CPU: a ``mobilenetv3_small_100`` encoder's forward
and backward of 128 faces at 64 px took 0.21 s in bfloat16 against 0.09 s in float32, and 0.09 s
with only its grouped convolutions in float32 (bench/results/precision.md). So under CPU autocast
those layers run in float32 and everything else in bfloat16. On a GPU, and without autocast,
nothing changes.

A CPU without bfloat16 arithmetic (no AVX512-BF16, no AMX: an AVX2-only AMD EPYC of this
project's kind) emulates it: there the recipe's stage-2 round took 40.5 s in bfloat16 autocast
against 6.2 s in float32 (bench/results/precision-avx2.md). ``train.bf16 = "auto"`` therefore asks
the device first (:func:`bf16_support`).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

Bf16Setting = bool | Literal["auto"]
"""``train.bf16``: always, never, or where the device computes bfloat16 natively."""


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


def _cpu_flag(name: str) -> bool:
    """One of torch's CPU capability probes (``torch.cpu._is_amx_tile_supported``...); False where
    this torch has none of that name."""
    probe: Callable[[], bool] | None = getattr(torch.cpu, name, None)
    return bool(probe()) if probe is not None else False


def bf16_support(device: torch.device) -> str | None:
    """What lets ``device`` compute bfloat16 natively ("AMX", "AVX512-BF16", "Arm BF16", "the
    GPU's bfloat16"), or None where bfloat16 would be emulated, slower than float32."""
    if device.type == "cuda":
        return "the GPU's bfloat16" if torch.cuda.is_bf16_supported() else None
    if device.type != "cpu":
        return None
    if _cpu_flag("_is_amx_tile_supported"):
        return "AMX"
    if _cpu_flag("_is_avx512_bf16_supported"):
        return "AVX512-BF16"
    if platform.machine().lower() in ("aarch64", "arm64"):
        return "Arm BF16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else None
    return None


def use_bf16(setting: Bf16Setting, device: torch.device) -> bool:
    """Whether to train in bfloat16 autocast on ``device``: ``setting`` itself, or for "auto"
    whether the device computes bfloat16 natively."""
    if setting == "auto":
        return bf16_support(device) is not None
    return bool(setting)


def precision_line(setting: Bf16Setting, device: torch.device) -> str:
    """The precision a run trains in and why, for its start: "bfloat16 autocast (AMX)", or a
    warning where ``bf16 = true`` asks for it on a device that would emulate it."""
    if setting is False:
        return "float32"
    support = bf16_support(device)
    if support is not None:
        return f"bfloat16 autocast ({support})"
    if setting == "auto":
        return (
            f"float32 (train.bf16 = auto: this {device.type.upper()} has no native bfloat16, "
            "where autocast is several times slower)"
        )
    return (
        f"bfloat16 autocast, emulated: this {device.type.upper()} has no native bfloat16, so "
        'the updates are several times slower than in float32 (train.bf16 = "auto" avoids it)'
    )
