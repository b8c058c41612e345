"""Stage 2's learning rate, update by update: from ``lr_finetune`` down to ``lr_finetune_end``.

Two shapes (``train.lr_decay``), both over stage 2's updates whatever its length:

- ``cosine`` (the default): half a cosine wave. Halfway through, the rate is still half of
  ``lr_finetune``, so a short stage 2 of a few epochs learns in most of its updates.
- ``exponential``: the same factor every update (update ``k`` of ``N`` at ``lr_finetune`` x
  (``lr_finetune_end`` / ``lr_finetune``)^(k / (N - 1))). Halfway, it is the geometric mean of the
  two (3e-5 between 1e-3 and 1e-6), so half of any stage 2 runs at rates that barely move the
  weights: fine over the paper's 200 epochs, nothing learned in a short run. Runs written before
  ``train.lr_decay`` existed decayed this way, and resume this way.

The rate of an update is a function of its index alone (a :class:`Decay`: the shape, the update
it starts at, its length and its two rates), so a checkpoint restores it from five numbers, and a
resume that changes stage 2's length re-plans the rest from the rate reached
(:meth:`Decay.replanned`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

Shape = Literal["cosine", "exponential"]
SHAPES: tuple[Shape, ...] = ("cosine", "exponential")


@dataclass(frozen=True)
class Decay:
    """The rates of stage-2 updates ``start`` to ``start + length - 1``: ``high`` at the first,
    ``low`` at the last, ``shape`` between; ``low`` after them."""

    shape: Shape
    start: int
    length: int
    high: float
    low: float

    def rate(self, update: int) -> float:
        """The learning rate of stage 2's update ``update`` (counted from 0)."""
        if update < self.start:
            raise ValueError(f"update {update} is before this decay's start ({self.start})")
        if self.length <= 1:
            return self.high if update == self.start else self.low
        t = min((update - self.start) / (self.length - 1), 1.0)
        if self.shape == "exponential":
            return self.high * (self.low / self.high) ** t
        return self.low + (self.high - self.low) * (1 + math.cos(math.pi * t)) / 2

    def replanned(self, done: int, total: int) -> Decay:
        """The rest of a stage 2 now ``total`` updates long, ``done`` of them made: from the rate
        update ``done`` would have had (never below ``low``) to ``low`` at the new end, in the
        same shape."""
        high = max(self.rate(done), self.low)
        return Decay(self.shape, done, max(total - done, 1), high, self.low)

    def state(self) -> dict[str, Any]:
        """Plain data for a checkpoint."""
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict[str, Any], total: int, low: float) -> tuple[Decay, int]:
        """The decay and the stage-2 updates done, from a checkpoint's ``progress["decay"]``:
        this module's :meth:`state` with ``done``, or the state of torch's ``ExponentialLR`` that
        runs before ``train.lr_decay`` saved (``total``: their stage 2's updates, ``low``: its
        end rate)."""
        if "shape" in state:
            fields = {name: state[name] for name in ("shape", "start", "length", "high", "low")}
            if fields["shape"] not in SHAPES:
                raise ValueError(f"unknown learning-rate decay {fields['shape']!r}")
            return cls(**fields), int(state["done"])
        done = int(state["last_epoch"])
        high = float(state["_last_lr"][0])
        return cls("exponential", done, max(total - done, 1), high, low), done
