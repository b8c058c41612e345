"""What ``ifan model`` reports: tap shapes, parameter counts per part and forward FLOPs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ifan.network.model import IFAN, build_model
from ifan.network.task_batchnorm import TaskBatchNorm

if TYPE_CHECKING:
    from ifan.manifest import Manifest


def meta_model(manifest: Manifest) -> IFAN:
    """The manifest's network built on the ``meta`` device: shapes only, no weights, instant.

    The backbone checkpoint is not read (weights do not change shapes, parameters or FLOPs).
    """
    config = manifest.model.model_copy(update={"backbone_checkpoint": None})
    with torch.device("meta"):
        return build_model(dataclasses.replace(manifest, model=config))


def _blank_image(model: IFAN) -> torch.Tensor:
    size = model.config.input_size
    return torch.zeros(1, 3, size, size, device=next(model.parameters()).device)


@contextmanager
def _inference(model: IFAN) -> Iterator[None]:
    """Eval mode without gradients inside the block; the model's mode is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def task_bn_extra(module: nn.Module) -> int:
    """Parameters of ``module``'s per-task batch norm beyond one copy (the per-task overhead)."""
    extra = 0
    for child in module.modules():
        if isinstance(child, TaskBatchNorm):
            copies = list(child.norms.values())
            extra += sum(_params(norm) for norm in copies[1:])
    return extra


def describe(module: nn.Module | None) -> str:
    """A module as its class names, e.g. ``Softmax > ConvPoolPyramid``."""
    if module is None:
        return "-"
    if type(module) is nn.Sequential:
        return " > ".join(type(child).__name__ for child in module)
    return type(module).__name__


def parameter_counts(model: IFAN) -> list[tuple[str, int]]:
    """(part, parameters) rows that add up to the model's total (last row).

    Each part counts one batch-norm copy; the per-task copies beyond it form their own row.
    """
    rows: list[tuple[str, nn.Module]] = [(f"backbone ({model.backbone.name})", model.backbone)]
    rows += [(f"decoder {name}", model.decoders[name]) for name in model.task_names]
    if model.reencoders is not None:
        rows += [(f"re-encoder {name}", model.reencoders[name]) for name in model.task_names]
    if model.integrator is not None:
        rows.append(("integrator (1x1 fusion convs)", model.integrator.fusions))
    counts = [(label, _params(module) - task_bn_extra(module)) for label, module in rows]
    extra = task_bn_extra(model)
    if model.norm.per_task:
        copies = len(model.task_names) - 1
        counts.append(
            (f"per-task batch norm ({copies} extra cop{'y' if copies == 1 else 'ies'})", extra)
        )
    counts.append(("total", _params(model)))
    assert sum(n for _, n in counts[:-1]) == counts[-1][1], "parameter parts do not add up"
    return counts


@dataclass(frozen=True)
class FlopCount:
    """FLOPs per image for one iteration count."""

    iterations: int
    forward: int
    """One forward pass decoding every task at every iteration (one task's batch norm)."""
    predict_all: int
    """:meth:`IFAN.predict_all`: every task's prediction with its own batch norm."""
    passes: int
    """Backbone passes of ``predict_all``."""


def count_flops(model: IFAN, iterations: int) -> FlopCount:
    """FLOPs per image as ``torch.utils.flop_counter`` counts them.

    That is 2 per multiply-add of convolutions and matrix products (including the transposed
    ones); element-wise operations, pooling, batch norm, softmax and interpolation are not
    counted. Runs in eval mode on one blank image, on the model's device: a model built on the
    ``meta`` device (see :func:`meta_model`) counts without computing anything.
    """
    images = _blank_image(model)
    with _inference(model):
        with FlopCounterMode(display=False) as counter:
            model(images, task=model.task_names[0], iterations=iterations)
        forward = counter.get_total_flops()
        with FlopCounterMode(display=False) as counter:
            model.predict_all(images, iterations=iterations)
        predict_all = counter.get_total_flops()
    return FlopCount(iterations, forward, predict_all, model.backbone_passes(iterations))


def prediction_shapes(model: IFAN) -> dict[str, tuple[int, ...]]:
    """Each task's prediction shape per image (one blank image, eval mode, no feedback)."""
    with _inference(model):
        outputs = model(_blank_image(model), task=model.task_names[0], iterations=0)[-1]
    return {name: tuple(value.shape[1:]) for name, value in outputs.items()}
