"""Fixtures of the network tests; the toy tasks live in network_toys.py."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def images() -> torch.Tensor:
    torch.manual_seed(1)
    return torch.rand(2, 3, 64, 64)
