"""The metric of a class task: accuracy, balanced accuracy and accuracy per class, from a
confusion matrix over the whole split."""

from __future__ import annotations

from typing import Any

import torch

from ifan.contract import LabelSchema
from ifan.metrics.base import Cell
from ifan.metrics.confusion import ConfusionMetric
from ifan.metrics.names import ALL, per_label, value_name

MAINS = ("accuracy", "mean_accuracy")


class ClassMetric(ConfusionMetric):
    """Values (fractions): ``accuracy``, ``mean_accuracy`` (the balanced accuracy: each class's
    accuracy averaged over the classes that occur, so a rare class weighs as much as a common
    one) and ``accuracy_<class>`` (0 for a class with no samples). The state is the confusion
    matrix (rows truth, columns prediction), drawn by ``pictures()``.

    ``update`` takes logits ``B x C`` and ``{"label": B}`` class indices. ``main`` is the value
    the curves draw and ``ifan compare`` compares: ``accuracy``, or ``mean_accuracy`` when the
    classes are imbalanced.
    """

    higher_is_better = True

    def __init__(self, labels: LabelSchema, main: str = "accuracy"):
        if main not in MAINS:
            raise ValueError(f"main must be one of {', '.join(MAINS)}, not {main!r}")
        self.main = main
        self.names = [value_name(name) for name in labels.names]
        super().__init__(labels.names)

    def update(self, prediction: torch.Tensor, target: dict[str, Any]) -> None:
        logits = prediction.detach()[..., : self.num_classes]  # any columns after them left out
        self.add(target["label"], logits.argmax(dim=-1))

    def compute(self) -> dict[str, float]:
        values = {"accuracy": self.accuracy(), "mean_accuracy": self.balanced_accuracy()}
        for name, value in zip(self.names, self.class_accuracies(), strict=True):
            values[f"accuracy_{name}"] = value if value is not None else 0.0
        return values

    def layout(self) -> dict[str, Cell]:
        """A row of accuracies by class, ``accuracy`` itself under ``all``, and a row for
        ``mean_accuracy``."""
        cells = {key: (key, ALL) for key in MAINS}
        return {**cells, **per_label("accuracy", self.names)}
