"""Fixed weights: each task's loss times its ``loss_weight``, the same in every update (the
default, and what stage 1 always does)."""

from __future__ import annotations

from torch import Tensor

from ifan.balancers.base import Balancer


class FixedWeights(Balancer):
    """``loss_weight x loss``: the weights do not change during training."""

    name = "fixed"
    description = "each task's loss times its loss_weight, the same in every update (default)"

    def weigh(self, task: str, loss: Tensor) -> Tensor:
        return loss * self.base[task]

    def weights(self) -> dict[str, float]:
        return dict(self.base)
