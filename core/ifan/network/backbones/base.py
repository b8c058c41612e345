"""What every backbone provides: named taps and feedback points (see ``ifan.network.taps``)."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from ifan.contract import FeatureSpec
from ifan.network.taps import DEPTH

Injector = Callable[[int, Tensor], Tensor]
"""``inject(level, features) -> features``: the task integrator's feedback at a down level."""


class Backbone(nn.Module):
    """The shareable feature encoder f_S with an up path.

    ``forward(images, inject, up_to)`` returns a dict tap name -> features. The down-path features
    at level L (``downL``, resolution input / 2**L) are the feedback points: the backbone calls
    ``inject(L, features)`` on them as soon as they are computed and continues with the result, so
    the feedback reaches ``downL`` and everything computed from it (deeper levels, the up path).
    ``up_to`` is the finest up level to compute (``None``: skip the up path).
    """

    name: str
    input_size: int

    def down_channels(self) -> list[int]:
        """Channels of ``down0`` .. ``down5``."""
        raise NotImplementedError

    def up_channels(self) -> list[int]:
        """Channels of ``up0`` .. ``up4``."""
        raise NotImplementedError

    def tap_specs(self) -> dict[str, FeatureSpec]:
        """Every tap's shape at this backbone's input size, down path first."""
        down, up = self.down_channels(), self.up_channels()
        specs = {}
        for level in range(DEPTH + 1):
            size = self.input_size // 2**level
            specs[f"down{level}"] = FeatureSpec(down[level], size, size)
        for level in range(DEPTH - 1, -1, -1):
            size = self.input_size // 2**level
            specs[f"up{level}"] = FeatureSpec(up[level], size, size)
        return specs

    def feedback_specs(self) -> list[FeatureSpec]:
        """Shapes of the feedback points ``down0`` .. ``down5``."""
        specs = self.tap_specs()
        return [specs[f"down{level}"] for level in range(DEPTH + 1)]

    def forward(
        self, images: Tensor, inject: Injector | None = None, up_to: int | None = 0
    ) -> dict[str, Tensor]:
        raise NotImplementedError
