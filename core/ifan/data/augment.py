"""What augmentation does to a training face (the manifest's ``[tasks.<name>.augment]``) and
what a flip means for labels: a horizontal flip makes a left eye a right eye, so the label
schema's mirror pairs are swapped (point order, mask class indices). The augmentation itself runs
on whole batches: :mod:`ifan.data.batch_augment`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from pydantic import BaseModel, ConfigDict, Field

from ifan.data.head_turn import MAX_YAW

IGNORE = 255
"""Mask value of pixels that are not scored; areas a rotation or zoom brings in get it."""


class AugmentOptions(BaseModel):
    """``[tasks.<name>.augment]``: random changes to each training crop."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="augment the training split at all")
    flip: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="probability of a horizontal flip (left/right labels swap)",
    )
    rotate: float = Field(
        default=10.0, ge=0, le=180, description="largest rotation, degrees either way"
    )
    scale: float = Field(
        default=0.1, ge=0, lt=1, description="largest zoom in or out (0.1: from 0.9x to 1.1x)"
    )
    crop: float = Field(
        default=0.05,
        ge=0,
        le=0.5,
        description="largest shift of the crop window, as a share of its side, each way",
    )
    colour: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="brightness, contrast and saturation jitter (hue: a tenth of it)",
    )
    yaw: float = Field(
        default=0.0,
        ge=0,
        le=MAX_YAW,
        description="largest turn of the head about its vertical axis, degrees either way: a warp "
        "by a generic head's depth, the nose moving more than the cheeks (ifan.data.head_turn)",
    )


_SIDES = {"left": "right", "right": "left", "l": "r", "r": "l"}


def infer_mirror(names: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """Pairs of names that differ only by a ``left``/``right`` (or ``l``/``r``) word, such as
    ``left_eye``/``right_eye`` or ``mouth_left``/``mouth_right``."""
    known = set(names)
    pairs = []
    for name in names:
        parts = re.split(r"([_\-\s])", name)
        mirrored = "".join(_SIDES.get(part, part) for part in parts)
        if mirrored != name and mirrored in known and (mirrored, name) not in pairs:
            pairs.append((name, mirrored))
    return tuple(pairs)


def mirror_permutation(names: Sequence[str], pairs: Sequence[Sequence[str]]) -> torch.Tensor:
    """Index ``i`` -> the index of what label ``i`` becomes under a horizontal flip."""
    index = {name: i for i, name in enumerate(names)}
    permutation = torch.arange(len(names))
    for first, second in pairs:
        permutation[index[first]], permutation[index[second]] = index[second], index[first]
    return permutation
