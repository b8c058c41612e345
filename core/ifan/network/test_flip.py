"""Test-time flipping: every face predicted as it is and mirrored, the two predictions averaged.

A horizontal flip is the one change of a face that every task of a face model can undo exactly: a
mirrored face's points are the points mirrored (left and right swapped), its parsing the parsing
mirrored, its emotion the same emotion. Averaging the prediction of a face with the mapped-back
prediction of its mirror image cancels part of the network's left-right bias and noise, for twice
the backbone passes (``[model] test_flip``). Each task maps its own kind of prediction back
(:meth:`ifan.contract.Task.unflip`, contract 1.4) with the helpers below; a task that cannot keeps
its plain prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

if TYPE_CHECKING:
    from ifan.contract import LabelSchema, Task


def mirror_index(labels: LabelSchema) -> Tensor | None:
    """Index ``i`` -> the index of the label that ``i`` becomes under a horizontal flip
    (``left_eye`` <-> ``right_eye``), or None when the labels do not say which swap."""
    from ifan.data.augment import mirror_permutation

    pairs = labels.mirror_pairs()
    return None if pairs is None else mirror_permutation(labels.names, pairs)


def unflip_classes(logits: Tensor, labels: LabelSchema) -> Tensor | None:
    """Class scores ``B x K`` of mirrored faces as scores of the faces themselves: the classes a
    flip swaps (a head turned left or right) swapped back; None when the labels do not say
    (contract 1.4)."""
    index = mirror_index(labels)
    if index is None or logits.shape[-1] != len(index):
        return None
    return logits[..., index.to(logits.device)]


def unflip_points(
    points: Tensor, labels: LabelSchema, span: tuple[float, float] = (0, 1)
) -> Tensor | None:
    """Points ``B x K x 2`` (x, y) of mirrored faces, with x in ``span``, as points of the faces
    themselves: x mirrored within the span and the points a flip swaps swapped back; None when
    the labels do not say which swap (an unnamed point set: guessing would mislabel it;
    contract 1.4)."""
    index = mirror_index(labels)
    if index is None or points.shape[-2] != len(index):
        return None
    back = points[..., index.to(points.device), :]
    # No assignment into a slice: an ONNX export traces that with the batch size fixed.
    return torch.cat([span[0] + span[1] - back[..., :1], back[..., 1:]], dim=-1)


def unflip_maps(maps: Tensor, labels: LabelSchema) -> Tensor | None:
    """Per-pixel class scores ``B x K x H x W`` of mirrored faces as those of the faces
    themselves: mirrored along the width, the classes a flip swaps swapped back; None when the
    labels do not say (contract 1.4)."""
    index = mirror_index(labels)
    if index is None or maps.shape[1] != len(index):
        return None
    return maps.flip(-1)[:, index.to(maps.device)]


def average(first: Any, second: Any) -> Any:
    """The mean of two predictions of one structure (tensors, or dicts, lists or tuples of them);
    integer tensors (class indices) are kept from ``first``."""
    if isinstance(first, Tensor):
        return (first + second) / 2 if first.is_floating_point() else first
    if isinstance(first, dict):
        return {key: average(value, second[key]) for key, value in first.items()}
    if isinstance(first, (list, tuple)):
        return type(first)(average(a, b) for a, b in zip(first, second, strict=True))
    raise TypeError(f"cannot average predictions of type {type(first).__name__}")


def merge_flipped(plain: Any, mirrored: Any, task: Task) -> Any:
    """The prediction of some faces averaged with ``mirrored``, that of the same faces mirrored,
    mapped back by the task; ``plain`` alone when the task cannot map it back."""
    back = task.unflip(mirrored)
    return plain if back is None else average(plain, back)


def flip_averaged(predict: Callable[[Tensor], Any], images: Tensor, task: Task) -> Any:
    """``predict(images)`` merged with ``predict(mirrored images)`` (:func:`merge_flipped`)."""
    return merge_flipped(predict(images), predict(torch.flip(images, dims=(-1,))), task)
