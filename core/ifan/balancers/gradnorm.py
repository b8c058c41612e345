"""GradNorm (Chen, Badrinarayanan, Lee and Rabinovich, "GradNorm: Gradient Normalization for
Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018), for alternating training.

GradNorm wants each task's weighted gradient on the shared layers, ``w_t G_t``, to be the mean
of them times ``r_t ** alpha``, where ``G_t`` is the norm of the gradient of task t's unweighted
loss and ``r_t`` its relative inverse training rate: its loss now over its loss at the start,
divided by the mean of that over the tasks. A task that trains more slowly gets larger gradients.
The paper moves the weights towards this by gradient descent on ``sum_t |w_t G_t - mean x
r_t ** alpha|`` in every update, which needs every task's gradient at the same weights: alternating
training has one task's in each update. So here the weights are that objective's solution,
``w_t = K (r_t ** alpha / G_t) / sum_i (r_i ** alpha / G_i)`` (they sum to K, the number of
tasks), from:

- ``G_t``: an exponential moving average of the norm of task t's gradient on the shared backbone
  (its tasks' own batch-norm copies left out), measured in each of task t's updates;
- ``r_t``: from each task's mean loss over the last stage-2 epoch against its first stage-2
  epoch (1 until two epochs have ended), the same numbers on every process.

Until every task has had an update, every weight is 1. The averages and epoch losses travel in
every checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from pydantic import Field
from torch import Tensor

from ifan.balancers.base import Balancer, BalancerOptions


class GradNormOptions(BalancerOptions):
    alpha: float = Field(
        default=1.5,
        ge=0,
        le=10,
        description="how strongly a slower task's gradients are raised (0: every task's "
        "gradient norm made equal; the paper's 1.5)",
    )
    smoothing: float = Field(
        default=0.9,
        ge=0,
        lt=1,
        description="the moving average's factor for each task's gradient norm (0: the last "
        "update's alone)",
    )


class GradNorm(Balancer):
    """``loss_weight x w_t x loss``, ``w_t`` updated after every stage-2 update."""

    name = "gradnorm"
    description = "gradient norms balanced on the shared backbone (Chen et al. 2018), closed form"
    Options = GradNormOptions
    options: GradNormOptions

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.norms: dict[str, float] = {}
        """The moving average of each task's unweighted gradient norm, once measured."""
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        """Each task's mean loss over the first and the last stage-2 epoch."""
        self.factors = dict.fromkeys(self.tasks, 1.0)
        self.applied: dict[str, float] = {}
        """The weight :meth:`weigh` gave each task's last update."""

    def weigh(self, task: str, loss: Tensor) -> Tensor:
        self.applied[task] = self.base[task] * self.factors[task]
        return loss * self.applied[task]

    def weights(self) -> dict[str, float]:
        return {task: self.base[task] * factor for task, factor in self.factors.items()}

    def after_backward(self, task: str, gradients: Sequence[Tensor]) -> None:
        applied = self.applied.get(task, 0.0)
        if applied <= 0 or not gradients:
            return  # a task weighted 0 has no gradient to measure
        norm = float(torch.nn.utils.get_total_norm(list(gradients))) / applied
        if not math.isfinite(norm):
            return
        if task in self.norms:
            keep = self.options.smoothing
            norm = keep * self.norms[task] + (1 - keep) * norm
        self.norms[task] = norm
        self._update()

    def end_epoch(self, losses: Mapping[str, float]) -> None:
        for task, loss in losses.items():
            self.first.setdefault(task, float(loss))
            self.last[task] = float(loss)
        self._update()

    def _update(self) -> None:
        """The weights from the norms and rates measured so far; unchanged while a task has no
        norm yet, or a number is not finite and positive."""
        if len(self.norms) < len(self.tasks) or not all(n > 0 for n in self.norms.values()):
            return
        rates = self._rates()
        targets = {t: rates[t] ** self.options.alpha / self.norms[t] for t in self.tasks}
        total = math.fsum(targets.values())
        if not (math.isfinite(total) and total > 0):
            return
        self.factors = {t: len(self.tasks) * value / total for t, value in targets.items()}

    def _rates(self) -> dict[str, float]:
        """``r_t``: each task's last epoch loss over its first, over the mean of that (1 before
        two epochs, or when a loss is not positive)."""
        ratios = {t: self.last[t] / self.first[t] for t in self.first if self.first[t] > 0}
        if len(ratios) < len(self.tasks) or not all(map(math.isfinite, ratios.values())):
            return dict.fromkeys(self.tasks, 1.0)
        mean = math.fsum(ratios.values()) / len(ratios)
        if mean <= 0:
            return dict.fromkeys(self.tasks, 1.0)
        return {t: ratio / mean for t, ratio in ratios.items()}

    def state(self) -> dict[str, Any]:
        return {
            "norms": self.norms,
            "first": self.first,
            "last": self.last,
            "factors": self.factors,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.norms = {t: float(v) for t, v in state["norms"].items()}
        self.first = {t: float(v) for t, v in state["first"].items()}
        self.last = {t: float(v) for t, v in state["last"].items()}
        self.factors = {t: float(v) for t, v in state["factors"].items()}
