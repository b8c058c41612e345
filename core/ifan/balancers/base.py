"""What a loss balancer is: the class every balancer, built in or from a plugin, subclasses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from pydantic import BaseModel, ConfigDict
from torch import Tensor, nn


class BalancerOptions(BaseModel):
    """Base of every balancer's options (the keys of ``[train.balancer]`` beside ``name``):
    unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Balancer(ABC):
    """Weighs each task's loss in stage 2 (batch-wise alternating fine-tuning).

    The trainer makes one balancer per run with each task's ``loss_weight`` (``weights``), the
    options validated from the manifest's ``[train.balancer]`` and the training device. Each
    stage-2 update trains one task: the trainer asks :meth:`weigh` for the loss to minimise,
    back-propagates it, shows the balancer the shared backbone's gradients
    (:meth:`after_backward`) and steps the optimizer, which also trains :meth:`parameters`; at
    the end of every stage-2 epoch it gives :meth:`end_epoch` each task's mean loss. Stage 1
    (each task pre-trained alone) multiplies each loss by its ``loss_weight`` whatever the
    balancer. Whatever a balancer learns or remembers goes into every checkpoint through
    :meth:`state` (JSON data) and comes back through :meth:`load_state`, so that a resumed run
    weighs exactly as an uninterrupted one.
    """

    name: ClassVar[str]
    """How a manifest chooses it: ``[train.balancer] name = "..."``; a lower-case identifier."""
    description: ClassVar[str] = ""
    Options: ClassVar[type[BalancerOptions]] = BalancerOptions

    def __init__(
        self,
        weights: Mapping[str, float],
        options: BalancerOptions | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.base = dict(weights)
        """Each task's ``loss_weight``, in the manifest's order of the tasks."""
        self.options = options if options is not None else self.Options()
        self.device = torch.device(device)

    @property
    def tasks(self) -> list[str]:
        return list(self.base)

    @abstractmethod
    def weigh(self, task: str, loss: Tensor) -> Tensor:
        """The scalar to minimise for one update of ``task`` whose loss (summed over the
        interaction iterations) is ``loss``."""

    @abstractmethod
    def weights(self) -> dict[str, float]:
        """The factor each task's loss is multiplied by now, for the logs."""

    def parameters(self) -> Sequence[nn.Parameter]:
        """Parameters the run's optimizer trains with the network (none by default)."""
        return ()

    def after_backward(self, task: str, gradients: Sequence[Tensor]) -> None:  # noqa: B027
        """Called after each stage-2 update's backward pass with the gradients of the shared
        backbone's parameters (not the tasks' own batch-norm copies), before the optimizer
        steps; ``gradients`` are those of :meth:`weigh`'s result."""

    def end_epoch(self, losses: Mapping[str, float]) -> None:  # noqa: B027
        """Called at the end of every stage-2 epoch with each task's mean loss over it (the same
        number on every process of a distributed run)."""

    def state(self) -> dict[str, Any]:
        """What :meth:`load_state` needs to continue exactly: JSON data (numbers, strings,
        lists, dicts); a learned parameter's value as a Python float is exact."""
        return {}

    def load_state(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Continue from what :meth:`state` returned in a checkpoint."""
