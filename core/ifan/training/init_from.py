"""``ifan train MANIFEST --init-from RUN``: a new run that starts from another run's weights.

Every tensor of the new network's state (weights and batch-norm statistics, each task's own
batch-norm copies included) whose name and shape match one in RUN's checkpoint starts from it;
the rest keeps its fresh initialisation. Optimizer, schedule and random state start anew: it is
a new run. Adding a task to a trained model: the backbone and the tasks both networks have come
from RUN, while the new task's decoder, re-encoder and batch-norm copies start fresh, and so do
the integrator's fusions, whose inputs widen with every task.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ifan.errors import IfanError
from ifan.network.model import IFAN
from ifan.runs.checkpoint import Checkpoint

BACKBONE = "backbone"
TASK_OWNERS = ("decoders", "reencoders", "norms")
"""Module names whose children are named after tasks."""


def part_of(key: str, tasks: Collection[str], prefer: Collection[str] = ()) -> str:
    """The part of the network a state-dict key belongs to: ``task NAME`` for a task's decoder,
    re-encoder and batch-norm copies (in the backbone, and in the other tasks' decoders and
    re-encoders), else its top-level module (``backbone``, ``integrator``).

    A key can name two tasks (task B's batch-norm copy in task A's decoder): it belongs to the
    one in ``prefer`` (a task only one of two networks has), else to the owner, A."""
    fields = key.split(".")
    named = [b for a, b in itertools.pairwise(fields) if a in TASK_OWNERS and b in tasks]
    chosen = next((name for name in named if name in prefer), named[0] if named else None)
    return fields[0] if chosen is None else f"task {chosen}"


@dataclass(frozen=True)
class PartCount:
    """One part's tensors: how many there are, how many came from the source run, and how many
    of the fresh ones the source has under the same name in another shape."""

    total: int
    taken: int
    reshaped: int

    @property
    def fresh(self) -> int:
        return self.total - self.taken

    @property
    def kind(self) -> str:
        """``taken`` (all), ``fresh`` (none) or ``partly``."""
        return "taken" if not self.fresh else "fresh" if not self.taken else "partly"


@dataclass(frozen=True)
class Inherited:
    """What a new run took from another run's checkpoint, part by part."""

    source: Path
    step: int
    parts: dict[str, PartCount]
    unused: dict[str, int]
    """Parts of the source the new network does not have (a task it dropped): tensors each."""

    @property
    def taken(self) -> int:
        return sum(count.taken for count in self.parts.values())

    @property
    def total(self) -> int:
        return sum(count.total for count in self.parts.values())

    def tasks(self, which: str) -> list[str]:
        """The tasks whose tensors were all taken (``which="taken"``), none (``"fresh"``) or
        some (``"partly"``)."""
        return [
            name.removeprefix("task ")
            for name, count in self.parts.items()
            if name.startswith("task ") and count.kind == which
        ]

    def lines(self) -> list[str]:
        """What was taken and what was left fresh, for the terminal."""
        out = [
            f"init from {self.source} (update {self.step}): {self.taken} of {self.total} "
            "tensors taken, matched by name and shape"
        ]
        taken = [f"{n} {c.taken}/{c.total}" for n, c in self.parts.items() if c.taken]
        fresh = [
            f"{n} {c.fresh}/{c.total}" + (f" ({c.reshaped} of another shape)" if c.reshaped else "")
            for n, c in self.parts.items()
            if c.fresh
        ]
        out.append(f"  taken: {', '.join(taken)}")
        if fresh:
            out.append(f"  fresh: {', '.join(fresh)}")
        if self.unused:
            out.append(
                "  not in this network: " + ", ".join(f"{n} ({k})" for n, k in self.unused.items())
            )
        return out

    def meta(self) -> dict[str, Any]:
        """What the new run's checkpoints record about where it started."""
        return {
            "checkpoint": str(self.source),
            "step": self.step,
            "taken": self.taken,
            "fresh": self.total - self.taken,
            "tasks": {kind: self.tasks(kind) for kind in ("taken", "partly", "fresh")},
            "parts": {name: [count.taken, count.total] for name, count in self.parts.items()},
        }


def take_weights(model: IFAN, source: Checkpoint) -> Inherited:
    """Load into ``model`` every tensor of ``source`` whose name and shape match one of its
    state; the rest stays as it is. Raises :class:`IfanError` when nothing of the backbone
    matches: then nothing worth sharing does."""
    state = model.state_dict()
    weights = source.model
    taken = {
        k: weights[k] for k, v in state.items() if k in weights and weights[k].shape == v.shape
    }
    ours, theirs = set(model.task_names), set(_table(source.meta["manifest"], "tasks"))
    named = ours | theirs
    if not any(part_of(key, named) == BACKBONE for key in taken):
        raise IfanError(_nothing_fits(source, model))
    model.load_state_dict(taken, strict=False)
    parts: dict[str, PartCount] = {}
    for key in state:
        part = part_of(key, named, prefer=ours - theirs)
        count = parts.get(part, PartCount(0, 0, 0))
        parts[part] = PartCount(
            count.total + 1,
            count.taken + (key in taken),
            count.reshaped + (key in weights and key not in taken),
        )
    unused: dict[str, int] = {}
    for key in weights:
        part = part_of(key, named, prefer=theirs - ours)
        if part not in parts:
            unused[part] = unused.get(part, 0) + 1
    return Inherited(source.path, source.meta["progress"]["step"], parts, unused)


def _nothing_fits(source: Checkpoint, model: IFAN) -> str:
    """Why a checkpoint cannot start this network: the two backbones, named."""
    theirs = _table(source.meta["manifest"], "model").get("backbone", "fc-densenet")
    return (
        f"--init-from {source.path}: none of its backbone's weights fits this network "
        f"(matched by name and shape): it has backbone {theirs!r}, this manifest "
        f"{model.config.backbone!r}. Start from a run of the same backbone, or without "
        "--init-from"
    )


def _table(manifest: dict[str, Any], key: str) -> dict[str, Any]:
    """A table of a checkpoint's manifest data; empty when it is missing or not a table (a
    checkpoint from elsewhere must not fail deep in here)."""
    table = manifest.get(key)
    return table if isinstance(table, dict) else {}
