"""A task's features out of the running network: the input of its decoder's last ``nn.Linear``,
captured with a forward hook while the network runs that task as
:meth:`ifan.network.model.IFAN.predict_all` does (the final iteration's call is kept)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ifan.errors import FeaturesError

if TYPE_CHECKING:
    from ifan.network.model import IFAN


def last_linear(model: IFAN, task: str) -> tuple[str, nn.Linear]:
    """The last ``nn.Linear`` of ``task``'s decoder and its name in ``model``: the layer whose
    input is the task's features. An error names the task when it has none."""
    if task not in model.decoders:
        raise FeaturesError(
            f"the model has no task {task!r}; its tasks are {', '.join(model.task_names)}"
        )
    found = [
        (name, module)
        for name, module in model.decoders[task].named_modules()
        if isinstance(module, nn.Linear)
    ]
    if not found:
        kind = type(model.decoders[task]).__name__
        raise FeaturesError(
            f"task {task}'s decoder ({kind}) has no nn.Linear layer, so it has no feature vector "
            "(features are the input of a decoder's last linear layer: class and value tasks "
            "have one, a per-pixel decoder has none)"
        )
    name, module = found[-1]
    return f"decoders.{task}.{name}" if name else f"decoders.{task}", module


@contextmanager
def captured(model: IFAN, tasks: Sequence[str]) -> Iterator[dict[str, Tensor]]:
    """Inside the block, the input of each task's last linear layer in the latest forward pass,
    by task (its last call in that pass: the final iteration's), flattened to ``B x D``."""
    store: dict[str, Tensor] = {}
    handles = []
    for task in tasks:
        _, layer = last_linear(model, task)

        def hook(module: nn.Module, inputs: tuple[Any, ...], output: Any, task: str = task):
            store[task] = inputs[0].detach().clone()

        handles.append(layer.register_forward_hook(hook))
    try:
        yield store
    finally:
        for handle in handles:
            handle.remove()


def batch_features(model: IFAN, images: Tensor, tasks: Sequence[str]) -> dict[str, Tensor]:
    """Each task's features of a batch of images (float32, on the CPU), each computed with the
    task's own batch norm: per-task batch norm runs the network once per task (the task's
    prediction of ``predict_all``); shared batch norm once for all. Call it in eval mode."""
    out: dict[str, Tensor] = {}
    with torch.no_grad(), captured(model, tasks) as store:
        if model.norm.per_task:
            for task in tasks:
                model(images, task=task, heads=[task])
                out[task] = store[task]
        else:
            model(images, heads=list(tasks))
            out = {task: store[task] for task in tasks}
    return {task: value.float().reshape(len(value), -1).cpu() for task, value in out.items()}
