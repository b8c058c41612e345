"""Uncertainty weighting (Kendall, Gal and Cipolla, "Multi-Task Learning Using Uncertainty to
Weigh Losses", CVPR 2018): each task learns a log-variance ``s`` and minimises
``exp(-s) / 2 x loss + s / 2``, so a task whose loss stays large gets a smaller weight, and the
``s / 2`` term keeps the weights from vanishing. The form is LibMTL's, for every kind of task.

Each task's ``s`` is a parameter of its own, trained by the run's optimizer (without weight
decay) in the updates of its task only; its value travels in every checkpoint, and the
optimizer's state of it with the optimizer's, so a resumed run continues exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from pydantic import Field
from torch import Tensor, nn

from ifan.balancers.base import Balancer, BalancerOptions


class UncertaintyOptions(BalancerOptions):
    init: float = Field(
        default=0.0,
        ge=-10,
        le=10,
        description="each task's log-variance s at the start of stage 2 (0: weight 1/2)",
    )


class UncertaintyWeighting(Balancer):
    """``loss_weight x (exp(-s) / 2 x loss + s / 2)`` with a learned ``s`` per task."""

    name = "uncertainty"
    description = "learned log-variance per task (Kendall et al. 2018): exp(-s)/2 x loss + s/2"
    Options = UncertaintyOptions
    options: UncertaintyOptions

    def __init__(
        self,
        weights: Mapping[str, float],
        options: UncertaintyOptions | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        super().__init__(weights, options, device)
        self.log_variance = {
            task: nn.Parameter(torch.tensor(self.options.init, device=self.device))
            for task in self.tasks
        }

    def weigh(self, task: str, loss: Tensor) -> Tensor:
        s = self.log_variance[task]
        return self.base[task] * (0.5 * torch.exp(-s) * loss + 0.5 * s)

    def weights(self) -> dict[str, float]:
        return {
            task: self.base[task] * 0.5 * math.exp(-s.item())
            for task, s in self.log_variance.items()
        }

    def parameters(self) -> Sequence[nn.Parameter]:
        return list(self.log_variance.values())

    def state(self) -> dict[str, Any]:
        return {"log_variance": {task: s.item() for task, s in self.log_variance.items()}}

    def load_state(self, state: Mapping[str, Any]) -> None:
        with torch.no_grad():
            for task, value in state["log_variance"].items():
                self.log_variance[task].fill_(float(value))
