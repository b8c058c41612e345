"""Task-specific batch norm (paper §3.3): per-task statistics and affine parameters.

Every batch-norm layer of the network is either one shared layer (``batchnorm = "shared"``, the
ablation of §4.3.3) or a :class:`TaskBatchNorm` holding one independent copy per task. All the
:class:`TaskBatchNorm` layers of a model follow one :class:`TaskSwitch`: a forward pass names the
task whose copies it uses, so a training step on task A never reads or updates task B's running
statistics or affine parameters.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


class FlexBatchNorm(_BatchNorm):
    """Batch norm over channel dim 1 for ``B x C``, ``B x C x L`` and ``B x C x H x W`` inputs.

    What ``ctx.norm(channels)`` makes, so one factory serves conv features and MLP vectors alike.
    When training in several processes (torchrun, gloo on CPUs or NCCL on GPUs) the batch
    statistics are summed over the processes (:func:`synced_batch_norm`), so every process
    normalises with the whole global batch's statistics, as a single process would.
    """

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() not in (2, 3, 4):
            raise ValueError(f"expected a 2D, 3D or 4D input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        if self.training and _world_size() > 1:
            return synced_batch_norm(self, input)
        return super().forward(input)


class SyncedNorm:
    """Mixin of :func:`synced`: a batch norm of any class (timm's ``BatchNormAct2d`` included)
    that sums its statistics over the processes when training in several."""

    def forward(self, input: Tensor) -> Tensor:
        if self.training and _world_size() > 1:  # type: ignore[attr-defined]
            out = synced_batch_norm(self, input)  # type: ignore[arg-type]
            if hasattr(self, "act"):  # timm's norm + activation layers: dropout, then act
                out = self.act(self.drop(out))  # type: ignore[attr-defined]
            return out
        return super().forward(input)  # type: ignore[misc]


@functools.cache
def _synced_class(cls: type[_BatchNorm]) -> type[_BatchNorm]:
    return type(f"Synced{cls.__name__}", (SyncedNorm, cls), {})


def synced(norm: _BatchNorm) -> _BatchNorm:
    """``norm`` made to sum its batch statistics over the processes of a distributed run.

    Its class becomes a subclass with :class:`SyncedNorm`'s forward, so its parameters, buffers
    and state-dict keys (a timm encoder's pretrained weights) stay as they are. ``nn.SyncBatchNorm``
    would do the same on GPUs only, and drops timm's fused activation.
    """
    if not isinstance(norm, FlexBatchNorm | SyncedNorm):
        # a class is hashable; mypy checks type[_BatchNorm] against Module.__hash__'s signature
        norm.__class__ = _synced_class(type(norm))  # type: ignore[arg-type]
    return norm


def synced_batch_norm(norm: _BatchNorm, x: Tensor) -> Tensor:
    """Training-mode batch norm of ``x`` with the statistics of the batches of every process
    (differentiable; sums in float32 whatever the autocast dtype), updating ``norm``'s running
    statistics as native batch norm does."""
    from torch.distributed.nn.functional import all_reduce

    norm._check_input_dim(x)
    dims = [d for d in range(x.dim()) if d != 1]
    channels = x.shape[1]
    xf = x.float()
    count = xf.new_tensor([x.numel() / channels])
    sums = all_reduce(torch.cat([xf.sum(dims), count]))
    total = sums[-1]
    mean = sums[:channels] / total
    shape = [1, channels] + [1] * (x.dim() - 2)
    centred = xf - mean.view(shape)
    # Two passes, as native batch norm does: E[x^2] - E[x]^2 would cancel in float32.
    var = all_reduce((centred * centred).sum(dims)) / total
    if norm.track_running_stats and norm.running_mean is not None:
        # track_running_stats registers the three buffers together
        assert norm.running_var is not None and norm.num_batches_tracked is not None
        with torch.no_grad():
            norm.num_batches_tracked.add_(1)
            momentum = norm.momentum
            if momentum is None:
                momentum = 1.0 / float(norm.num_batches_tracked)
            unbiased = var * total / (total - 1).clamp_min(1)
            norm.running_mean.lerp_(mean.detach(), momentum)
            norm.running_var.lerp_(unbiased.detach(), momentum)
    out = centred * torch.rsqrt(var.view(shape) + norm.eps)
    if norm.affine:
        out = out * norm.weight.view(shape) + norm.bias.view(shape)
    return out.to(x.dtype)


def _world_size() -> int:
    import torch.distributed as dist

    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


class TaskSwitch:
    """Which task's batch norm the current forward pass uses (shared by all layers of a model)."""

    def __init__(self, tasks: Sequence[str]):
        self.tasks = tuple(tasks)
        self.task: str | None = self.tasks[0] if len(self.tasks) == 1 else None

    def current(self) -> str:
        if self.task is None:
            raise RuntimeError(
                "this model keeps per-task batch norm: name the task of the forward pass, e.g. "
                f"model(images, task=...) with one of {', '.join(self.tasks)}"
            )
        return self.task

    @contextmanager
    def use(self, task: str | None) -> Iterator[None]:
        """Use ``task``'s batch norm inside the block (None keeps the current choice)."""
        if task is not None and task not in self.tasks:
            raise KeyError(f"unknown task {task!r}; this model has {', '.join(self.tasks)}")
        previous = self.task
        if task is not None:
            self.task = task
        try:
            yield
        finally:
            self.task = previous


class TaskBatchNorm(nn.Module):
    """One batch-norm module per task; the forward uses the switch's current task's copy."""

    def __init__(self, norms: dict[str, nn.Module], switch: TaskSwitch):
        super().__init__()
        if set(norms) != set(switch.tasks):
            raise ValueError(f"expected one norm per task of {switch.tasks}, got {sorted(norms)}")
        self.norms = nn.ModuleDict(norms)
        self.switch = switch

    def forward(self, x: Tensor) -> Tensor:
        return self.norms[self.switch.current()](x)

    def extra_repr(self) -> str:
        return f"tasks={list(self.norms)}"


class NormFactory:
    """Makes and converts batch-norm layers for one model, per task or shared.

    ``factory(channels)`` is the ``BuildContext.norm`` handed to tasks; ``factory.convert(module)``
    turns the batch-norm layers of an existing module (a timm encoder) into per-task ones by deep
    copying each (so timm's ``BatchNormAct2d`` keeps its activation and pretrained statistics),
    synchronised across processes like the backbone's own.
    """

    def __init__(self, tasks: Sequence[str], per_task: bool = True):
        self.per_task = per_task
        self.switch = TaskSwitch(tasks)

    def __call__(self, channels: int) -> nn.Module:
        return self.wrap(FlexBatchNorm(channels))

    def wrap(self, norm: nn.Module) -> nn.Module:
        """``norm`` itself when shared, else a :class:`TaskBatchNorm` of one copy per task."""
        if not self.per_task:
            return norm
        return TaskBatchNorm({t: copy.deepcopy(norm) for t in self.switch.tasks}, self.switch)

    def convert(self, module: nn.Module) -> nn.Module:
        """Replace every batch-norm layer inside ``module`` (in place) by :meth:`wrap` of it,
        :func:`synced` so that distributed training sums its statistics over the processes."""
        if isinstance(module, _BatchNorm):
            return self.wrap(synced(module))
        for name, child in list(module.named_children()):
            if isinstance(child, TaskBatchNorm):
                continue
            setattr(module, name, self.convert(child))
        return module

    def use(self, task: str | None):
        """Context manager: the forward passes inside use ``task``'s batch norm."""
        return self.switch.use(task)
