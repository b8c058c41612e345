"""The confusion metric (ifan.metrics.confusion): counts with an ignored label, F-scores of merged
classes, merging partial counts, and its picture."""

from __future__ import annotations

import pytest
import torch

from ifan.metrics.confusion import ConfusionMetric


class _Counts(ConfusionMetric):
    def update(self, prediction, target):
        self.add(target, prediction)

    def compute(self):
        return {}


def test_confusion_f_score_merged_and_ignore():
    metric = _Counts("abc")
    metric.add(torch.tensor([0, 1, 2, 2, 255]), torch.tensor([0, 2, 2, 1, 0]))
    assert metric.confusion.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert metric.f_score([2]) == pytest.approx(2 * 1 / (2 + 2))
    assert metric.f_score([1, 2]) == pytest.approx(1.0)
    assert metric.accuracy() == pytest.approx(2 / 4)
    assert metric.class_accuracies() == [1.0, 0.0, 0.5]


def test_confusion_merge_equals_one_pass():
    truth, predicted = torch.tensor([0, 1, 1, 2, 0, 2]), torch.tensor([0, 1, 0, 2, 2, 2])
    whole, first, second = _Counts("abc"), _Counts("abc"), _Counts("abc")
    whole.update(predicted, truth)
    first.update(predicted[:3], truth[:3])
    second.update(predicted[3:], truth[3:])
    first.merge(second)
    assert torch.equal(first.confusion, whole.confusion)


def test_confusion_picture_is_drawn_from_the_counts():
    metric = _Counts(["cat", "dog"])
    metric.add(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]))
    picture = metric.pictures()["confusion"]
    assert picture.mode == "RGB" and min(picture.size) > 100
    assert len(picture.getcolors(1 << 20)) > 20  # cells, text and a colour bar, not a blank image
