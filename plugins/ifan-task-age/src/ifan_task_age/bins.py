"""Ages as a distribution over bins: the bin centres, the expected age and soft bin labels.

The decoder predicts logits over ``bins`` ages evenly spaced from 0 to ``max_age`` years (DEX,
Rothe et al. 2018); the predicted age is the expected value of their softmax, which is smooth and
not limited to the bin centres.
"""

from __future__ import annotations

import torch
from torch import Tensor


def bin_centres(max_age: float, bins: int) -> Tensor:
    """The ``bins`` ages (years) the decoder's logits stand for, 0 to ``max_age``."""
    return torch.linspace(0.0, max_age, bins)


def expected_age(logits: Tensor, centres: Tensor) -> Tensor:
    """Ages ``...`` (years) from logits ``... x K``: the expected value of their softmax."""
    probabilities = logits.float().softmax(dim=-1)
    return probabilities @ centres.to(probabilities.device)


def soft_labels(ages: Tensor, centres: Tensor, sigma: float) -> Tensor:
    """Target distributions ``B x K`` for ages ``B``: a Gaussian of ``sigma`` years around each
    age, over the bins, normalised to sum to 1 (label distribution learning, Gao et al. 2017).
    An age beyond the last bin puts its mass on the last bins."""
    centres = centres.to(ages.device)
    distance = (centres[None, :] - ages.float()[:, None]) / sigma
    return torch.softmax(-0.5 * distance**2, dim=-1)
