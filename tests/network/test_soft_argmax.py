"""The heat-map point decoder: soft-argmax places and the decoder built from a manifest option."""

from __future__ import annotations

import pytest
import torch

from ifan.contract import FeatureSpec
from ifan.network.decoders import SoftArgmaxPoints, soft_argmax


def test_a_peaked_map_gives_its_cell_centre():
    logits = torch.full((1, 2, 8, 16), -50.0)
    logits[0, 0, 3, 5] = 50.0  # row 3, column 5
    logits[0, 1, 7, 0] = 50.0
    points = soft_argmax(logits)
    assert points.shape == (1, 2, 2)
    assert points[0, 0].tolist() == pytest.approx([5.5 / 16, 3.5 / 8])
    assert points[0, 1].tolist() == pytest.approx([0.5 / 16, 7.5 / 8])


def test_places_between_cells_and_a_flat_map_in_the_middle():
    logits = torch.full((1, 2, 4, 4), -50.0)
    logits[0, 0, 1, 1] = logits[0, 0, 1, 2] = 10.0  # two equal cells: halfway between them
    logits[0, 1] = 0.0
    points = soft_argmax(logits)
    assert points[0, 0].tolist() == pytest.approx([0.5, 1.5 / 4])
    assert points[0, 1].tolist() == pytest.approx([0.5, 0.5])


def test_the_gradient_moves_the_place_towards_the_target():
    logits = torch.zeros(1, 1, 4, 4, requires_grad=True)
    loss = (soft_argmax(logits)[0, 0] - torch.tensor([1.0, 1.0])).square().sum()
    loss.backward()
    assert logits.grad is not None
    # Descending the gradient raises the bottom-right cell and lowers the top-left one.
    assert logits.grad[0, 0, 3, 3] < 0 < logits.grad[0, 0, 0, 0]


def test_the_decoder_gives_points_in_the_crop():
    torch.manual_seed(0)
    head = SoftArgmaxPoints(FeatureSpec(12, 8, 8), points=5, hidden=16, norm=torch.nn.BatchNorm2d)
    out = head(torch.randn(3, 12, 8, 8))
    assert out.shape == (3, 5, 2)
    assert bool(((out > 0) & (out < 1)).all())
