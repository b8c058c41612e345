"""Loss balancers: how each task's loss is weighed in stage 2, one method a module (like LibMTL's
``weighting/``). A manifest chooses one with ``[train.balancer] name = "..."`` (default
``"fixed"``); plugins add others through the ``ifan_balancers`` hook (:mod:`ifan.hookspecs`).
docs/training.md says which method makes sense in which stage, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch

from ifan.balancers.base import Balancer, BalancerOptions
from ifan.balancers.dwa import DynamicWeightAverage
from ifan.balancers.fixed import FixedWeights
from ifan.balancers.gradnorm import GradNorm
from ifan.balancers.uncertainty import UncertaintyWeighting
from ifan.plugins import PluginRegistry
from ifan.provided import Catalogue, Provided, catalogue

BUILT_IN: tuple[type[Balancer], ...] = (
    FixedWeights,
    UncertaintyWeighting,
    DynamicWeightAverage,
    GradNorm,
)
DEFAULT = FixedWeights.name


def balancers(registry: PluginRegistry | None) -> Catalogue[Balancer]:
    """The built-in balancers and those the loaded plugins provide, by name."""
    return catalogue(registry, "ifan_balancers", Balancer, BUILT_IN, "loss balancer")


@dataclass(frozen=True)
class ChosenBalancer:
    """The balancer a manifest chose, with its options validated."""

    provided: Provided[Balancer] = field(default_factory=lambda: Provided(DEFAULT, FixedWeights))
    options: BalancerOptions = field(default_factory=BalancerOptions)

    def make(self, weights: Mapping[str, float], device: torch.device) -> Balancer:
        """A new balancer for a run whose tasks have these ``loss_weight`` values."""
        return self.provided.cls(weights, self.options, device)


__all__ = [
    "BUILT_IN",
    "DEFAULT",
    "Balancer",
    "BalancerOptions",
    "ChosenBalancer",
    "DynamicWeightAverage",
    "FixedWeights",
    "GradNorm",
    "UncertaintyWeighting",
    "balancers",
]
