"""The age metric against values computed by hand: MAE in years, CS(5), merging."""

from __future__ import annotations

import pytest
import torch

from ifan_task_age.bins import bin_centres
from ifan_task_age.metric import AgeMetric

CENTRES = bin_centres(116, 117)  # one bin a year: bin i is age i


def _logits(ages: list[int]) -> torch.Tensor:
    """Logits whose expected age is ``ages`` (all the mass on those bins)."""
    logits = torch.full((len(ages), len(CENTRES)), -1e4)
    logits[torch.arange(len(ages)), torch.tensor(ages)] = 0.0
    return logits


def _metric(predicted: list[int], true: list[float]) -> AgeMetric:
    metric = AgeMetric(CENTRES)
    metric.update(_logits(predicted), {"age": torch.tensor(true)})
    return metric


def test_mae_and_cs5_by_hand() -> None:
    # errors 2, 6, 0, 5 and 10.5 years: MAE 23.5 / 5; within 5 years (5 included): 3 of 5
    values = _metric([3, 10, 40, 25, 80], [1, 4, 40, 30, 90.5]).compute()
    assert values == pytest.approx({"mae": 4.7, "cs5": 0.6})
    assert AgeMetric.main == "mae" and AgeMetric.higher_is_better is False


def test_expected_value_between_bins() -> None:
    logits = torch.full((1, len(CENTRES)), -1e4)
    logits[0, [20, 30]] = 0.0  # half at 20, half at 30: 25 years
    metric = AgeMetric(CENTRES)
    metric.update(logits, {"age": torch.tensor([31.0])})
    assert metric.compute() == pytest.approx({"mae": 6.0, "cs5": 0.0})


def test_merge_equals_one_pass_over_all_faces() -> None:
    first = _metric([3, 10], [1, 4])
    second = _metric([40, 25, 80], [40, 30, 90.5])
    first.merge(second)
    assert first.compute() == pytest.approx(
        _metric([3, 10, 40, 25, 80], [1, 4, 40, 30, 90.5]).compute()
    )
    assert int(first.state["count"]) == 5 and int(first.state["within"]) == 3


def test_batches_add_up() -> None:
    metric = AgeMetric(CENTRES)
    for predicted, true in (([3], [1.0]), ([10, 40], [4.0, 40.0])):
        metric.update(_logits(predicted), {"age": torch.tensor(true)})
    assert metric.compute() == pytest.approx({"mae": 8 / 3, "cs5": 2 / 3})


def test_empty_metric_is_zero_not_nan() -> None:
    assert AgeMetric(CENTRES).compute() == {"mae": 0.0, "cs5": 0.0}
