"""What a resumed run may change (``ifan train --resume RUN --set KEY=VALUE``), and what not.

A resumed run continues the updates its checkpoint has done; a change must leave every one of
them as it was, or the run would no longer be what its checkpoints, metrics and curves say. So:

- :data:`FREE` keys change where and how the updates still to come run, and when the run stops;
- :data:`SCHEDULE` keys (the lengths of the stages) may change where the updates done keep their
  place (stage, task, epoch) in the new schedule (:func:`check_schedule`); the trainer then
  decays stage 2's learning rate over the new length from the rate it has reached;
- every other change is refused, naming the key, its value, the value given and why (:data:`WHY`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from ifan.errors import IfanError
from ifan.manifest import Manifest
from ifan.manifest.schema import TrainConfig
from ifan.plugins import PluginRegistry
from ifan.runs.meta import manifest_from_meta
from ifan.training.scheduler import Update, epoch_rounds, schedule

FREE = (
    "device",
    "threads",
    "workers",
    "checkpoint_every",
    "keep_checkpoints",
    "patience",
    "bf16",
    "channels_last",
    "out_dir",
    "loggers",
)
"""``train`` keys a resumed run may change at will: none of them alters an update already done
(``bf16`` and ``channels_last`` change the rounding of the updates to come)."""

SCHEDULE = ("pretrain_epochs", "finetune_epochs", "finetune_rounds")
"""``train`` keys a resumed run may change ahead of where it is (:func:`check_schedule`)."""

_RATES = (
    "the learning rate of every update follows from it (stage 1 at lr_pretrain, stage 2 "
    "decaying from lr_finetune to lr_finetune_end); the updates done had the old one"
)
_CROPS = "the training crops, and so the pixels of every batch, come from it"

WHY = {
    "train.seed": "the batches, their order and their augmentations were drawn from it",
    "train.optimizer": "the optimizer's state in the checkpoint (its running averages) is its own",
    "train.weight_decay": "it is part of the optimizer every update so far was made with",
    "train.lr_pretrain": _RATES,
    "train.lr_finetune": _RATES,
    "train.lr_finetune_end": _RATES,
    "train.lr_decay": _RATES,
    "train.prepared": _CROPS,
    "train.room": _CROPS,
    "train.keep_best": (
        "the best checkpoint is chosen among all of the run's stage-2 validations, and the "
        "checkpoints of those done are gone"
    ),
    "train.balancer": (
        "the loss weights of the updates done came from it, and what it has learned so far is "
        "its own"
    ),
    "train": "it is part of how the updates done were made",
    "model": "the checkpoint's weights are those of the network it describes",
    "tasks": "the tasks, their datasets and their batches make the run's schedule",
}
"""Why a key may not change on resume, by its most specific entry: ``train.balancer`` for
``train.balancer.name``, ``train`` for the keys of ``train`` that have none."""

NOT_SET = "(not set)"


def resume_manifest(
    meta: dict[str, Any], overrides: Sequence[str], registry: PluginRegistry | None = None
) -> Manifest:
    """The manifest of a run resumed from a checkpoint's ``meta`` with ``overrides`` applied;
    an :class:`IfanError` lists every override that would change the run itself."""
    new = manifest_from_meta(meta, list(overrides), registry)
    if not overrides:
        return new
    old = manifest_from_meta(meta, [], registry, training=False)
    refused = [
        f"{key} = {_shown(given)} (was {_shown(was)}): {_why(key)}"
        for key, was, given in changes(old, new)
        if _why(key) is not None
    ]
    if refused:
        raise IfanError(
            "a resumed run continues the updates it has done, and these changes would alter "
            "them:\n"
            + "\n".join(f"  - {line}" for line in refused)
            + f"\nOn resume, train.{', train.'.join(FREE)} may change, and "
            f"train.{', train.'.join(SCHEDULE)} ahead of where the run is. For other settings, "
            "start a new run from this run's weights: ifan train MANIFEST --init-from RUN"
        )
    return new


def changes(old: Manifest, new: Manifest) -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` of every value that differs between two
    manifests: ``model`` and ``train`` as validated (defaults filled in), ``tasks`` as written."""

    def values(manifest: Manifest) -> dict[str, Any]:
        return {
            **_flat(manifest.model.model_dump(mode="json"), "model"),
            **_flat(manifest.train.model_dump(mode="json"), "train"),
            **_flat(manifest.data.get("tasks", {}), "tasks"),
        }

    before, after = values(old), values(new)
    keys = [*before, *(key for key in after if key not in before)]
    return [
        (key, before.get(key, NOT_SET), after.get(key, NOT_SET))
        for key in keys
        if before.get(key, NOT_SET) != after.get(key, NOT_SET)
    ]


def _flat(value: Any, prefix: str) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        return {
            key: leaf
            for name, inner in value.items()
            for key, leaf in _flat(inner, f"{prefix}.{name}").items()
        }
    return {prefix: value}


def _shown(value: Any) -> str:
    return value if value is NOT_SET else repr(value)


def _why(key: str) -> str | None:
    """Why ``key`` may not change on resume; None when it may."""
    section, _, name = key.partition(".")
    if section == "train" and name in (*FREE, *SCHEDULE):
        return None
    parts = key.split(".")
    return next(WHY[k] for end in range(len(parts), 0, -1) if (k := ".".join(parts[:end])) in WHY)


def check_schedule(
    tasks: Sequence[str], passes: dict[str, int], old: TrainConfig, new: TrainConfig, done: int
) -> None:
    """Raise :class:`IfanError` unless the first ``done`` updates of ``new``'s schedule are those
    of ``old``'s (same stage, task, epoch and epoch end): a change of the stages' lengths may
    only reshape the schedule after the updates a resumed run has done."""
    plans = [
        schedule(
            tasks,
            passes,
            config.pretrain_epochs,
            config.finetune_epochs,
            epoch_rounds(config.finetune_rounds, passes),
        )
        for config in (old, new)
    ]
    pairs = itertools.zip_longest(*(itertools.islice(plan, done) for plan in plans))
    for index, (was, now) in enumerate(pairs, 1):
        if was == now:
            continue
        changed = ", ".join(
            f"train.{key} = {getattr(new, key)!r} (was {getattr(old, key)!r})"
            for key in SCHEDULE
            if getattr(new, key) != getattr(old, key)
        )
        raise IfanError(
            f"{changed} would rewrite updates the run has done: it has done {done}, and update "
            f"{index} would be {_describe(now)} where the run did {_describe(was)}. A resumed "
            f"run may change its schedule only after update {done}; for another schedule, "
            "start a new run from this run's weights: ifan train MANIFEST --init-from RUN"
        )


def _describe(update: Update | None) -> str:
    if update is None:
        return "past the end of the new schedule"
    if update.stage == 1:
        what = f"stage 1, {update.task} epoch {update.epoch}"
    else:
        what = f"stage 2 epoch {update.epoch} ({update.task})"
    return ("the end of " if update.ends_epoch else "") + what
