"""A confusion-matrix metric base: additive counts from which F-scores and accuracies follow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ifan.metrics.base import Metric


class ConfusionMetric(Metric):
    """Counts ``confusion[truth, predicted]`` over a split; truths outside ``[0, classes)`` (e.g.
    255, "ignore") are not counted. Subclasses turn predictions into class indices in ``update``
    and name the values in ``compute``."""

    def __init__(self, class_names: Sequence[str]):
        self.class_names = tuple(class_names)
        self.num_classes = len(self.class_names)
        super().__init__()

    def initial_state(self) -> dict[str, torch.Tensor]:
        return {"confusion": torch.zeros(self.num_classes, self.num_classes, dtype=torch.int64)}

    def add(self, truth: torch.Tensor, predicted: torch.Tensor) -> None:
        """Count pairs of class indices of the same shape."""
        truth = truth.reshape(-1).long().cpu()
        predicted = predicted.reshape(-1).long().cpu()
        valid = (truth >= 0) & (truth < self.num_classes)
        pairs = truth[valid] * self.num_classes + predicted[valid]
        counts = torch.bincount(pairs, minlength=self.num_classes**2)
        self.state["confusion"] += counts.reshape(self.num_classes, self.num_classes)

    def pictures(self) -> dict[str, Any]:
        """``confusion``: the matrix drawn with counts and row-normalised colours."""
        from ifan.plots import plot_confusion

        return {"confusion": plot_confusion(self.confusion, self.class_names)}

    @property
    def confusion(self) -> torch.Tensor:
        """The ``classes x classes`` counts, rows the truth and columns the prediction."""
        return self.state["confusion"]

    def f_score(self, classes: Sequence[int]) -> float:
        """F-score of ``classes`` merged into one class (a prediction of any of them for a truth
        of any of them is a hit); 0 when the classes occur neither in truth nor in prediction."""
        index = torch.as_tensor(list(classes), dtype=torch.long)
        confusion = self.confusion.double()
        hits = confusion[index][:, index].sum()
        truths = confusion[index].sum()
        predictions = confusion[:, index].sum()
        total = truths + predictions
        return float(2 * hits / total) if total > 0 else 0.0

    def accuracy(self) -> float:
        """Fraction of counted items predicted right; 0 when nothing was counted."""
        total = self.confusion.sum()
        return float(self.confusion.diagonal().sum().double() / total) if total > 0 else 0.0

    def balanced_accuracy(self) -> float:
        """The classes' accuracies (:meth:`class_accuracies`) averaged over the classes that
        occur, so that a rare class counts as much as a common one; 0 when nothing was counted."""
        present = [a for a in self.class_accuracies() if a is not None]
        return sum(present) / len(present) if present else 0.0

    def class_accuracies(self) -> list[float | None]:
        """Per class, the fraction of its items predicted right (recall); None when it has none."""
        rows = self.confusion.sum(dim=1)
        return [
            float(self.confusion[i, i].double() / rows[i]) if rows[i] > 0 else None
            for i in range(self.num_classes)
        ]
