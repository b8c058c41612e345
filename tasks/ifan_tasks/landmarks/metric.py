"""The landmark metric: the points metric normalised by the inter-ocular distance (the paper's
Table 1 and Fig. 5)."""

from __future__ import annotations

from ifan.contract import LabelSchema
from ifan.metrics.points import PointsMetric


class LandmarksMetric(PointsMetric):
    """:class:`~ifan.metrics.points.PointsMetric` with each error divided by the face's
    inter-ocular distance (between the eye centres), the target's ``iod``."""

    def __init__(self, labels: LabelSchema, threshold: float):
        super().__init__(labels, threshold, scale="iod")
