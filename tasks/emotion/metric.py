"""The emotion metric: accuracy, mean per-class accuracy and the confusion matrix."""

from __future__ import annotations

from typing import Any

import torch

from ifan.contract import LabelSchema
from ifan.metrics.confusion import ConfusionMetric
from ifan.metrics.names import value_name


class EmotionMetric(ConfusionMetric):
    """Values (fractions): ``accuracy`` (main), ``mean_accuracy`` (per-class accuracy averaged over
    the classes that occur) and ``accuracy_<class>`` (0 for a class with no samples). The
    confusion matrix (rows truth, columns prediction) is the state, ``metric.confusion``.

    ``update`` takes logits ``B x C`` and ``{"label": B}``.
    """

    main = "accuracy"
    higher_is_better = True

    def __init__(self, labels: LabelSchema):
        self.names = [value_name(name) for name in labels.names]
        super().__init__(labels.names)

    def update(self, prediction: torch.Tensor, target: dict[str, Any]) -> None:
        self.add(target["label"], prediction.detach().argmax(dim=-1))

    def compute(self) -> dict[str, float]:
        per_class = self.class_accuracies()
        present = [a for a in per_class if a is not None]
        values = {
            "accuracy": self.accuracy(),
            "mean_accuracy": sum(present) / len(present) if present else 0.0,
        }
        for name, value in zip(self.names, per_class, strict=True):
            values[f"accuracy_{name}"] = value if value is not None else 0.0
        return values
