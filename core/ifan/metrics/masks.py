"""The metric of a mask task: F-score per class and per merged group over a whole split (Smith et
al. 2013, the paper's Table 2 for face parsing), from one confusion matrix of pixels."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ifan.contract import LabelSchema
from ifan.metrics.base import Cell
from ifan.metrics.confusion import ConfusionMetric
from ifan.metrics.names import per_label, value_name

OVERALL = "overall"


class MaskMetric(ConfusionMetric):
    """Values (fractions in [0, 1]): ``f1_<class>`` for every class, ``f1_<group>`` for every merged
    group (its classes counted as one, so confusing the left and right eye is still a hit for
    ``f1_eyes``), and ``f1_overall`` (main): the ``overall`` group, or every class but
    ``background`` when the schema has no such group.

    ``update`` takes logits ``B x C x S x S`` and a target with ``mask`` (``B x S x S`` class
    indices, 255 for pixels not scored) and, optionally, ``original`` (a list of the crops' labels
    at the photo's resolution): each prediction is then resized bilinearly onto its original and
    scored there, as the paper does.
    """

    main = "f1_overall"
    higher_is_better = True

    def __init__(self, labels: LabelSchema):
        self.labels = labels
        super().__init__(labels.names)

    def update(self, prediction: torch.Tensor, target: dict[str, Any]) -> None:
        prediction = prediction.detach()
        originals = target.get("original")
        if originals is None:
            self.add(target["mask"], prediction.argmax(dim=1))
            return
        for logits, original in zip(prediction, originals, strict=True):
            height, width = original.shape
            scores = F.interpolate(
                logits[None].float(), size=(height, width), mode="bilinear", align_corners=False
            )[0]
            self.add(original, scores.argmax(dim=0))

    def compute(self) -> dict[str, float]:
        names = self.labels.names
        index = {name: i for i, name in enumerate(names)}
        values = {f"f1_{value_name(name)}": self.f_score([i]) for i, name in enumerate(names)}
        for group, members in self.labels.groups.items():
            values[f"f1_{value_name(group)}"] = self.f_score([index[m] for m in members])
        if f"f1_{OVERALL}" not in values:
            values[f"f1_{OVERALL}"] = self.f_score(
                [i for i, name in enumerate(names) if name != "background"]
            )
        return values

    def layout(self) -> dict[str, Cell]:
        """One row of F-scores, a column per class and group (``f1_overall`` without an
        ``overall`` group in a row of its own)."""
        return per_label("f1", [*self.labels.names, *self.labels.groups])
