"""The metric of a value task: mean absolute and root mean squared error over a whole split."""

from __future__ import annotations

from typing import Any

import torch

from ifan.metrics.base import Metric


class ValueMetric(Metric):
    """Values: ``mae`` (main, lower is better) and ``rmse``, in the value's own unit (``unit``,
    shown beside them by ``ifan eval``; none: fractions, shown in percent).

    ``update`` takes predictions ``B x 1`` (or ``B``) and a target whose ``key`` holds the true
    values ``B``. The state is sums and a count, which add up over batches and processes.
    """

    main = "mae"
    higher_is_better = False

    def __init__(self, key: str = "value", unit: str = ""):
        self.key = key
        self.units = {"mae": unit, "rmse": unit} if unit else {}
        super().__init__()

    def initial_state(self) -> dict[str, torch.Tensor]:
        return {key: torch.zeros((), dtype=torch.float64) for key in ("abs", "squared", "count")}

    def update(self, prediction: torch.Tensor, target: dict[str, Any]) -> None:
        truth = torch.as_tensor(target[self.key]).double().cpu().reshape(-1)
        error = prediction.detach().double().cpu().reshape(len(truth), -1)[:, 0] - truth
        self.state["abs"] += error.abs().sum()
        self.state["squared"] += error.square().sum()
        self.state["count"] += error.numel()

    def compute(self) -> dict[str, float]:
        count = self.state["count"].clamp(min=1)
        return {
            "mae": float(self.state["abs"] / count),
            "rmse": float((self.state["squared"] / count).sqrt()),
        }
