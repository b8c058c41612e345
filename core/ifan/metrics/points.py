"""The metric of a points task: normalised mean error and failure rate, per point and overall (the
paper's Table 1 and Fig. 5 for landmarks)."""

from __future__ import annotations

from typing import Any

import torch

from ifan.contract import LabelSchema
from ifan.metrics.base import Cell, Metric
from ifan.metrics.names import ALL, per_label, value_name

ROWS = ("nme", "failure_rate")


class PointsMetric(Metric):
    """A point's error is its distance to the truth divided by a length of its face: the
    target's ``scale`` (e.g. ``"iod"``, the inter-ocular distance, in the same units as the
    points) or, without one, the crop's side (the unit of crop coordinates). Values, as
    fractions: ``nme`` (main: the error averaged over points and faces), ``nme_<point>``,
    ``failure_rate`` (share of faces whose mean error is above ``threshold``) and
    ``failure_rate_<point>`` (share of faces where that point's error is above it).

    ``update`` takes points ``B x K x 2`` and a target with ``points`` ``B x K x 2`` (and
    ``scale`` ``B`` when given), all in the same units.
    """

    main = "nme"
    higher_is_better = False

    def __init__(self, labels: LabelSchema, threshold: float = 0.1, scale: str | None = None):
        self.names = [value_name(name) for name in labels.names]
        self.threshold = threshold
        self.scale = scale
        super().__init__()

    def initial_state(self) -> dict[str, torch.Tensor]:
        points = len(self.names)
        return {
            "error_sum": torch.zeros(points, dtype=torch.float64),
            "point_failures": torch.zeros(points, dtype=torch.float64),
            "face_failures": torch.zeros((), dtype=torch.float64),
            "faces": torch.zeros((), dtype=torch.float64),
        }

    def update(self, prediction: torch.Tensor, target: dict[str, Any]) -> None:
        prediction = prediction.detach().double().cpu()
        truth = target["points"].double().cpu()
        errors = (prediction - truth).norm(dim=-1)
        if self.scale is not None:
            errors = errors / target[self.scale].double().cpu().reshape(-1, 1)
        self.state["error_sum"] += errors.sum(dim=0)
        self.state["point_failures"] += (errors > self.threshold).sum(dim=0)
        self.state["face_failures"] += (errors.mean(dim=1) > self.threshold).sum()
        self.state["faces"] += errors.shape[0]

    def compute(self) -> dict[str, float]:
        faces = max(float(self.state["faces"]), 1.0)  # no faces: every sum is 0, and so every value
        per_point = (self.state["error_sum"] / faces).tolist()
        failures = (self.state["point_failures"] / faces).tolist()
        values = {
            "nme": sum(per_point) / len(per_point),
            "failure_rate": float(self.state["face_failures"]) / faces,
        }
        values.update({f"nme_{n}": v for n, v in zip(self.names, per_point, strict=True)})
        values.update({f"failure_rate_{n}": v for n, v in zip(self.names, failures, strict=True)})
        return values

    def layout(self) -> dict[str, Cell]:
        """A row per measure, a column per point, the overall value under ``all``."""
        cells = {row: (row, ALL) for row in ROWS}
        for row in ROWS:
            cells.update(per_label(row, self.names))
        return cells
