"""Dynamic weight average (Liu, Johns and Davison, "End-to-End Multi-Task Learning with
Attention", CVPR 2019, the MTAN paper): each task's weight follows how fast its loss fell over the
last two epochs, ``w_k = K exp(r_k / T) / sum_i exp(r_i / T)`` with ``r_k = L_k(e-1) / L_k(e-2)``
the ratio of task k's mean losses in the two stage-2 epochs before, K the number of tasks and T
the temperature. A task whose loss falls more slowly gets more weight; the weights sum to K. In
the first two stage-2 epochs, with no ratio yet, every weight is 1.

It needs each task's loss per epoch only, not every task's loss in the same update, so it fits
alternating training as it is. The last two epochs' losses travel in every checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pydantic import Field
from torch import Tensor

from ifan.balancers.base import Balancer, BalancerOptions


class DWAOptions(BalancerOptions):
    temperature: float = Field(
        default=2.0,
        gt=0,
        le=100,
        description="T: the larger, the closer the weights stay to 1 (the paper's 2)",
    )


class DynamicWeightAverage(Balancer):
    """``loss_weight x w_k x loss``, ``w_k`` set at each stage-2 epoch's end."""

    name = "dwa"
    description = "weights from the ratio of each task's last two epoch losses (Liu et al. 2019)"
    Options = DWAOptions
    options: DWAOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recent: dict[str, list[float]] = {task: [] for task in self.tasks}
        """Each task's mean loss in the last (up to) two stage-2 epochs, oldest first."""

    def weigh(self, task: str, loss: Tensor) -> Tensor:
        return loss * (self.base[task] * self._factors()[task])

    def weights(self) -> dict[str, float]:
        return {task: self.base[task] * factor for task, factor in self._factors().items()}

    def end_epoch(self, losses: Mapping[str, float]) -> None:
        for task, loss in losses.items():
            self.recent[task] = [*self.recent[task], float(loss)][-2:]

    def _factors(self) -> dict[str, float]:
        """Each task's DWA weight from the last two epochs' losses (1 before there are two)."""
        if any(len(values) < 2 for values in self.recent.values()):
            return dict.fromkeys(self.tasks, 1.0)
        ratios = {task: _ratio(*values) for task, values in self.recent.items()}
        top = max(ratios.values())  # shifting every r by it keeps exp from overflowing
        scaled = {t: math.exp((r - top) / self.options.temperature) for t, r in ratios.items()}
        total = math.fsum(scaled.values())
        return {task: len(self.tasks) * value / total for task, value in scaled.items()}

    def state(self) -> dict[str, Any]:
        return {"recent": self.recent}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.recent = {task: [float(v) for v in state["recent"][task]] for task in self.tasks}


def _ratio(before: float, last: float) -> float:
    """``last / before``; 1 when it is not a finite positive number (a loss of 0 the epoch
    before, which nothing can fall from)."""
    ratio = last / before if before > 0 else math.nan
    return ratio if math.isfinite(ratio) and ratio >= 0 else 1.0
