"""``train.keep_best`` and ``train.patience``: the best stage-2 validation so far, and how many
validations have passed without a better one.

Only stage-2 validations count: there every task is scored on the whole network (all interaction
iterations), the network the checkpoint holds; a stage-1 validation scores one task without
interaction while the other tasks' decoders may still be untrained. A value that is not finite
never counts as better. A tie is not better: the earlier checkpoint stays.

The state travels in every checkpoint's progress, so that a resumed run keeps the same best value
and continues counting towards ``patience`` where it stopped.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Best:
    """The best value of ``key`` (``"<task>.<metric>"``) so far and where it was reached."""

    key: str
    higher_is_better: bool
    value: float | None = None
    step: int | None = None
    epoch: int | None = None
    since: int = 0
    """Validations since the best one (0 right after an improvement)."""

    @property
    def task(self) -> str:
        return self.key.partition(".")[0]

    @property
    def metric(self) -> str:
        return self.key.partition(".")[2]

    def offer(self, value: float, step: int, epoch: int) -> bool:
        """Count a validation's ``value``; whether it is better than every one before it."""
        better = math.isfinite(value) and (
            self.value is None
            or (value > self.value if self.higher_is_better else value < self.value)
        )
        if better:
            self.value, self.step, self.epoch, self.since = value, step, epoch, 0
        else:
            self.since += 1
        return better

    def exhausted(self, patience: int | None) -> bool:
        """Whether ``patience`` validations in a row brought nothing better (never when None)."""
        return patience is not None and self.since >= patience

    def describe(self) -> str:
        """``landmarks.nme 0.0523 at update 120, stage-2 epoch 3``, for messages."""
        return f"{self.key} {self.value:.4g} at update {self.step}, stage-2 epoch {self.epoch}"

    def state(self) -> dict[str, Any]:
        """JSON data for the checkpoint's progress."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Best:
        """What :meth:`state` wrote."""
        return cls(**state)
