"""The age metric: mean absolute error (years) and the cumulative score CS(5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from ifan.metrics.base import Metric

from ifan_task_age.bins import expected_age

CS_YEARS = 5
"""CS(l), the cumulative score, is the fraction of faces whose error is at most l years."""


class AgeMetric(Metric):
    """Values: ``mae`` (main; the mean absolute error in years, lower is better) and ``cs5`` (the
    fraction of faces within 5 years, a number in [0, 1]).

    ``update`` takes logits ``B x K`` over the bins ``centres`` and ``{"age": B}`` in years. The
    state is sums and counts, so merged metrics give the values over all their faces.
    """

    main = "mae"
    higher_is_better = False
    units: Mapping[str, str] = {"mae": "years"}

    def __init__(self, centres: torch.Tensor):
        self.centres = centres
        super().__init__()

    def initial_state(self) -> dict[str, torch.Tensor]:
        return {
            "abs_error": torch.zeros((), dtype=torch.float64),
            "count": torch.zeros((), dtype=torch.int64),
            "within": torch.zeros((), dtype=torch.int64),
        }

    def update(self, prediction: torch.Tensor, target: dict[str, Any]) -> None:
        ages = expected_age(prediction.detach().cpu(), self.centres).double()
        error = (ages - torch.as_tensor(target["age"]).double().cpu()).abs()
        self.state["abs_error"] += error.sum()
        self.state["count"] += error.numel()
        self.state["within"] += (error <= CS_YEARS).sum()

    def compute(self) -> dict[str, float]:
        count = max(int(self.state["count"]), 1)
        return {
            "mae": float(self.state["abs_error"]) / count,
            f"cs{CS_YEARS}": int(self.state["within"]) / count,
        }
