"""The paper's backbone: a fully convolutional DenseNet (Jégou et al. 2017), as in §4.1.2.

Down stage: a 7x7 conv, then 5 dense blocks (3 pre-activation BN-ReLU-Conv3x3 layers, growth 12)
at input/1 .. input/16, each followed by 2x2 average pooling; ``downL`` is block L's output
(``down5`` the last pooled map, input/32). Up stage: 5 dense blocks (3 layers, growth 12) at
input/32 .. input/2; after each, a sub-pixel layer (conv3x3 to 4x channels + PixelShuffle, Shi et
al. 2016) doubles the resolution and a conv3x3 fuses the result with the down-path skip at the new
resolution (FC-DenseNet's skip connections), giving ``up4`` .. ``up0``. As in FC-DenseNet, an up
block passes on only its new features. Every conv is 3x3 stride 1 except the first 7x7 one.

The paper: "In both stages, we use 5 dense blocks with 3 layers in each block and a growth rate
of 12."
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ifan.network.backbones.base import Backbone, Injector
from ifan.network.layers import NormFn
from ifan.network.taps import DEPTH


class DenseLayer(nn.Sequential):
    """Pre-activation BN -> ReLU -> Conv3x3 producing ``growth`` new channels."""

    def __init__(self, in_channels: int, growth: int, norm: NormFn):
        super().__init__(
            norm(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, growth, 3, padding=1, bias=False),
        )


class DenseBlock(nn.Module):
    """``layers`` dense layers, each reading the concatenation of the input and all before it."""

    def __init__(self, in_channels: int, growth: int, layers: int, norm: NormFn):
        super().__init__()
        self.layers = nn.ModuleList(
            DenseLayer(in_channels + i * growth, growth, norm) for i in range(layers)
        )
        self.out_channels = in_channels + layers * growth
        self.new_channels = layers * growth

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(input and new features concatenated, the new features only)."""
        new: list[Tensor] = []
        for layer in self.layers:
            new.append(layer(torch.cat([x, *new], 1)))
        fresh = torch.cat(new, 1)
        return torch.cat([x, fresh], 1), fresh


class SubPixelUp(nn.Module):
    """BN-ReLU-Conv3x3 to 4x channels and PixelShuffle(2), then BN-ReLU-Conv3x3 with the skip."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int, norm: NormFn):
        super().__init__()
        self.subpixel = nn.Sequential(
            norm(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, 4 * out_channels, 3, padding=1, bias=False),
            nn.PixelShuffle(2),
        )
        self.fuse = DenseLayer(out_channels + skip_channels, out_channels, norm)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        return self.fuse(torch.cat([self.subpixel(x), skip], 1))


class FCDenseNet(Backbone):
    """Fully convolutional DenseNet with taps ``down0`` .. ``down5`` and ``up4`` .. ``up0``."""

    name = "fc-densenet"

    def __init__(
        self,
        input_size: int,
        norm: NormFn,
        stem_channels: int = 48,
        growth_down: int = 12,
        growth_up: int = 12,
        layers: int = 3,
    ):
        super().__init__()
        if input_size % 2**DEPTH:
            raise ValueError(f"input size {input_size} is not a multiple of {2**DEPTH}")
        self.input_size = input_size
        self.stem = nn.Conv2d(3, stem_channels, 7, padding=3, bias=False)
        self.pool = nn.AvgPool2d(2)
        self.down = nn.ModuleList()
        channels = stem_channels
        self._down_channels = []
        for _ in range(DEPTH):
            block = DenseBlock(channels, growth_down, layers, norm)
            self.down.append(block)
            channels = block.out_channels
            self._down_channels.append(channels)
        self._down_channels.append(channels)  # down5: the last block's output, pooled
        up_width = layers * growth_up
        self.up_blocks = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for level in range(DEPTH, 0, -1):  # up blocks at down5's size .. down1's size
            block_in = self._down_channels[DEPTH] if level == DEPTH else up_width
            block = DenseBlock(block_in, growth_up, layers, norm)
            self.up_blocks.append(block)
            skip = self._down_channels[level - 1]
            self.upsample.append(SubPixelUp(block.new_channels, skip, up_width, norm))
        self._up_channels = [up_width] * DEPTH

    def down_channels(self) -> list[int]:
        return list(self._down_channels)

    def up_channels(self) -> list[int]:
        return list(self._up_channels)

    def forward(
        self, images: Tensor, inject: Injector | None = None, up_to: int | None = 0
    ) -> dict[str, Tensor]:
        taps: dict[str, Tensor] = {}
        x = self.stem(images)
        for level, block in enumerate(self.down):
            x, _ = block(x)
            if inject is not None:
                x = inject(level, x)
            taps[f"down{level}"] = x
            x = self.pool(x)
        if inject is not None:
            x = inject(DEPTH, x)
        taps[f"down{DEPTH}"] = x
        if up_to is None:
            return taps
        for i, level in enumerate(range(DEPTH, up_to, -1)):
            _, fresh = self.up_blocks[i](x)
            x = self.upsample[i](fresh, taps[f"down{level - 1}"])
            taps[f"up{level - 1}"] = x
        return taps
