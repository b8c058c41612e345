"""The probe's heads: a target task's output layer trained on frozen features (``linear``, or
``mlp`` with the decoder's hidden layer before it), followed by what the target's decoder applies
after its last ``nn.Linear`` (:class:`DecoderTail`), so the target's own loss trains it and its own
metric scores it; seeded, on the CPU."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from ifan.contract import Task
from ifan.errors import FeaturesError
from ifan.features.capture import last_linear
from ifan.features.extract import (
    index_targets,
)
from ifan.network.task_batchnorm import TaskBatchNorm

if TYPE_CHECKING:
    from ifan.network.model import IFAN


HEADS = ("linear", "mlp")


Head = Literal["linear", "mlp"]


@dataclass(frozen=True)
class HeadOptions:
    """How each probe head is trained."""

    head: Head = "linear"
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    """Adam's learning rate, decayed to 0 along a cosine over the epochs."""
    weight_decay: float = 0.0
    hidden: int | None = None
    """The ``mlp`` head's width (default: that of B's decoder's last hidden layer)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise FeaturesError(f"head {self.head!r}: expected one of {', '.join(HEADS)}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise FeaturesError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.hidden is not None and self.hidden < 1:
            raise FeaturesError(f"hidden must be at least 1, got {self.hidden}")
        if not self.lr > 0:
            raise FeaturesError(f"lr must be positive, got {self.lr}")
        if not self.weight_decay >= 0:
            raise FeaturesError(f"weight_decay must be 0 or more, got {self.weight_decay}")


class DecoderTail(nn.Module):
    """What task B's decoder does after its last ``nn.Linear``, as a function of that layer's
    output ``B x out_features``: the decoder (a frozen copy, in eval mode, with B's batch norm)
    run on a zero tap while a forward hook replaces the layer's output with the given one, so
    whatever follows it (an activation, a reshape) is applied, differentiably. For
    :class:`ifan.network.decoders.MLPHead` that is ``activation``: nothing for logits, a sigmoid
    for points. A decoder that also outputs something computed before that layer (identity's
    embedding, its last hidden layer, after the logits) gets it from the zero tap: a constant,
    so metric values read from it (identity's verification) mean nothing for a probe head;
    the loss and the main value read the logits."""

    def __init__(self, model: IFAN, task: str):
        super().__init__()
        name, linear = last_linear(model, task)
        decoder = copy.deepcopy(model.decoders[task]).float().cpu().eval()
        decoder.requires_grad_(False)
        for module in decoder.modules():
            if isinstance(module, TaskBatchNorm):  # the copy follows a switch of its own
                module.switch.task = task
        self.decoder = decoder
        inner = name.removeprefix(f"decoders.{task}").lstrip(".")
        self.linear = decoder.get_submodule(inner) if inner else decoder
        spec = model.tap_specs[model.taps[task]]
        self.tap = (spec.channels, spec.height, spec.width)
        self.in_features = linear.in_features
        self.out_features = linear.out_features
        self.task = task
        shapes: list[tuple[int, ...]] = []
        handle = self.linear.register_forward_hook(
            lambda module, inputs, output: shapes.append(tuple(inputs[0].shape))
        )
        try:
            with torch.no_grad():
                self.decoder(torch.zeros(2, *self.tap))
        finally:
            handle.remove()
        if shapes and len(shapes[-1]) != 2:
            raise FeaturesError(
                f"task {task}'s last linear layer ({name}) reads inputs of shape "
                f"{list(shapes[-1])}, not one vector per face: a probe head replaces a layer "
                "that maps one vector per face"
            )

    def forward(self, output: Tensor) -> Tensor:
        zeros = output.new_zeros(len(output), *self.tap)
        handle = self.linear.register_forward_hook(lambda module, inputs, out: output)
        try:
            return self.decoder(zeros)
        finally:
            handle.remove()


class ProbeHead(nn.Module):
    """Standardised features -> ``linear`` or ``mlp`` -> B's decoder's tail: B's prediction."""

    mean: Tensor
    std: Tensor
    """The features' standardisation (buffers, saved with the head)."""

    def __init__(
        self, dim: int, tail: DecoderTail, head: Head, hidden: int, mean: Tensor, std: Tensor
    ):
        super().__init__()
        out = tail.out_features
        if head == "linear":
            self.net: nn.Module = nn.Linear(dim, out)
        else:
            self.net = nn.Sequential(
                nn.Linear(dim, hidden, bias=False),
                nn.BatchNorm1d(hidden),
                nn.ReLU(inplace=True),
                nn.Linear(hidden, out),
            )
        self.tail = tail
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def train(self, mode: bool = True) -> ProbeHead:
        super().train(mode)
        self.tail.eval()  # B's decoder stays as it was trained
        return self

    def forward(self, features: Tensor) -> Tensor:
        return self.tail(self.net((features - self.mean) / self.std))


def _batches(size: int, batch_size: int, generator: torch.Generator) -> list[Tensor]:
    """A shuffled epoch in batches; a last batch of one face joins the one before (batch norm
    needs two)."""
    order = torch.randperm(size, generator=generator)
    chunks = list(order.split(batch_size))
    if len(chunks) > 1 and len(chunks[-1]) < 2:
        chunks[-2] = torch.cat([chunks[-2], chunks.pop()])
    return chunks


def fit_head(
    task: Task,
    tail: DecoderTail,
    features: Tensor,
    targets: Any,
    options: HeadOptions | None = None,
) -> ProbeHead:
    """A head for ``task`` trained on frozen ``features`` (``N x D``) and their ``targets`` with
    the task's own loss (see the module docstring); seeded by ``options.seed``."""
    options = options if options is not None else HeadOptions()
    features = features.float()
    mean = features.mean(0)
    std = features.std(0, unbiased=False).clamp_min(1e-6) if len(features) > 1 else None
    std = std if std is not None else torch.ones_like(mean)
    hidden = options.hidden or tail.in_features
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        head = ProbeHead(features.shape[1], tail, options.head, hidden, mean, std)
    generator = torch.Generator().manual_seed(options.seed)
    parameters = list(head.net.parameters())
    optimiser = torch.optim.Adam(parameters, lr=options.lr, weight_decay=options.weight_decay)
    steps = options.epochs * len(_batches(len(features), options.batch_size, torch.Generator()))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, steps) / steps))
    )
    if options.head == "mlp" and len(features) < 2:
        raise FeaturesError("an mlp head needs at least 2 training faces (batch norm)")
    head.train()
    for _ in range(options.epochs):
        for index in _batches(len(features), options.batch_size, generator):
            loss = task.loss(head(features[index]), index_targets(targets, index))
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
    return head.eval()


def score_head(
    task: Task, head: ProbeHead, features: Tensor, targets: Any, batch_size: int = 256
) -> dict[str, float]:
    """``task``'s metric (every value of ``new_metric().compute()``) of the head's predictions
    on ``features`` against ``targets``."""
    metric = task.new_metric()
    head.eval()
    with torch.no_grad():
        for index in torch.arange(len(features)).split(batch_size):
            metric.update(head(features[index].float()), index_targets(targets, index))
    return {name: float(value) for name, value in metric.compute().items()}
