"""The iFAN network: backbone, task decoders, re-encoders, task integrator, task batch norm.

``IFAN(tasks, config, taps)`` builds the network for task objects (tests use small test-only
tasks); :func:`build_model` builds it from a validated manifest. The forward pass runs the
iterations of Eq. 4: iteration 0 is plain multi-task learning on the backbone features; each later
iteration re-runs the backbone on the same images with the previous iteration's predictions,
re-encoded and fused in at every down-path level by the integrator. It returns every iteration's
predictions, so the loss can sum over iterations (Eq. 5, :meth:`IFAN.loss`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from ifan.contract import BuildContext, FeatureSpec, Task
from ifan.manifest.schema import ModelConfig
from ifan.network.backbones import create_backbone
from ifan.network.integrator import TaskIntegrator
from ifan.network.taps import TAP_NAMES
from ifan.network.task_batchnorm import NormFactory
from ifan.network.test_flip import flip_averaged, merge_flipped

if TYPE_CHECKING:
    from ifan.manifest import Manifest

Predictions = dict[str, Any]
"""One iteration's predictions: task name -> prediction batch."""


class IFAN(nn.Module):
    """The integrated face analytics network for a set of tasks.

    Batch norm: with ``batchnorm = "per-task"`` every batch-norm layer (backbone, decoders,
    re-encoders) keeps statistics and affine parameters per task, and a forward pass names the
    task whose batch norm it uses (``task=``): training on a batch of task t's dataset uses t's.
    At inference :meth:`predict_all` therefore runs the full iterative forward once per task with
    that task's batch norm and keeps that task's prediction: T x (iterations + 1) backbone passes
    for T tasks (``iterations + 1`` with shared batch norm, where one forward serves all tasks).
    """

    def __init__(
        self,
        tasks: Mapping[str, Task],
        config: ModelConfig | None = None,
        taps: Mapping[str, str] | None = None,
    ):
        """``tasks``: name -> task object; ``taps``: name -> tap (default: each task's own)."""
        super().__init__()
        if not tasks:
            raise ValueError("an iFAN needs at least one task")
        self.config = config if config is not None else ModelConfig()
        self.task_names = list(tasks)
        self.tasks = dict(tasks)
        self.taps = {
            name: (taps or {}).get(name) or task.default_tap for name, task in tasks.items()
        }
        for name, tap in self.taps.items():
            if tap not in TAP_NAMES:
                raise ValueError(f"task {name}: unknown tap {tap!r}; expected one of {TAP_NAMES}")
        self.norm = NormFactory(self.task_names, per_task=self.config.batchnorm == "per-task")
        self.context = BuildContext(input_size=self.config.input_size, norm=self.norm)
        self.backbone = create_backbone(
            self.config.backbone,
            self.config.input_size,
            self.norm,
            self.config.backbone_checkpoint,
        )
        self.tap_specs = self.backbone.tap_specs()
        self.decoders = nn.ModuleDict(
            {
                name: task.build_decoder(self.tap_specs[self.taps[name]], self.context)
                for name, task in tasks.items()
            }
        )
        self.iterations = self.config.iterations
        self.integrator: TaskIntegrator | None = None
        if self.iterations > 0:
            self.integrator = self._build_integrator()

    def _build_integrator(self) -> TaskIntegrator:
        points = self.backbone.feedback_specs()
        if self.config.reencoder == "resize":
            channels = {name: task.prediction_channels for name, task in self.tasks.items()}
            return TaskIntegrator(self.tasks, points, channels, None)
        width = self.config.feedback_channels
        levels = [FeatureSpec(width, p.height, p.width) for p in points]
        reencoders = {
            name: task.build_reencoder(levels, self.context) for name, task in self.tasks.items()
        }
        return TaskIntegrator(self.tasks, points, dict.fromkeys(self.tasks, width), reencoders)

    @property
    def reencoders(self) -> nn.ModuleDict | None:
        """The learned re-encoders (None without feedback or in the ``resize`` ablation)."""
        return self.integrator.reencoders if self.integrator is not None else None

    def _up_to(self, names: Sequence[str]) -> int | None:
        levels = [int(self.taps[n][2:]) for n in names if self.taps[n].startswith("up")]
        return min(levels) if levels else None

    def forward(
        self,
        images: Tensor,
        task: str | None = None,
        *,
        iterations: int | None = None,
        heads: Sequence[str] | None = None,
    ) -> list[Predictions]:
        """Predictions of iterations 0 .. ``iterations`` (default: the configured number).

        ``task``: whose batch norm to use (required with per-task batch norm and several tasks).
        ``heads``: the tasks to decode at the final iteration (default all); intermediate
        iterations always decode every task, as the feedback needs all predictions.
        """
        iterations = self.iterations if iterations is None else iterations
        if iterations < 0 or (iterations > 0 and self.integrator is None):
            raise ValueError(
                f"cannot run {iterations} iterations: this model was built with "
                f"iterations = {self.iterations}"
            )
        size = self.config.input_size
        if iterations > 0 and tuple(images.shape[-2:]) != (size, size):
            raise ValueError(
                f"images of {images.shape[-2]} x {images.shape[-1]} px given to a model built for "
                f"{size} x {size} ([model] input_size): the task integrator feeds predictions "
                f"back at that size; crop or resize the faces to {size} x {size} "
                "(ifan.inference's predictor does it by itself)"
            )
        heads = list(self.task_names if heads is None else heads)
        unknown = [name for name in heads if name not in self.decoders]
        if unknown:
            raise KeyError(f"unknown task(s) {unknown}; this model has {self.task_names}")
        outputs: list[Predictions] = []
        inject = None
        with self.norm.use(task):
            for iteration in range(iterations + 1):
                names = heads if iteration == iterations else self.task_names
                taps = self.backbone(images, inject, self._up_to(names))
                outputs.append({n: self.decoders[n](taps[self.taps[n]]) for n in names})
                if iteration < iterations:
                    assert self.integrator is not None
                    inject = _Feedback(self.integrator, self.integrator.encode(outputs[-1]))
        return outputs

    def loss(self, outputs: Sequence[Predictions], task: str, target: Any) -> Tensor:
        """Task ``task``'s loss summed over all iterations (Eq. 5 and 6)."""
        return sum(self.tasks[task].loss(out[task], target) for out in outputs)

    def predict_all(self, images: Tensor, iterations: int | None = None) -> Predictions:
        """The final prediction of every task for the images, each with its own batch norm.

        Per-task batch norm: for each task t, the full iterative forward with t's batch norm,
        keeping t's prediction (exactly what training computes for t): T x (iterations + 1)
        backbone passes. Shared batch norm: one forward, iterations + 1 passes. ``[model]
        test_flip`` doubles them (:meth:`predict_task`). Call it under ``torch.no_grad()`` and
        ``model.eval()`` for inference.
        """
        if self.norm.per_task:
            return {name: self.predict_task(images, name, iterations) for name in self.task_names}
        plain = self(images, iterations=iterations)[-1]
        if not self.config.test_flip:
            return plain
        mirrored = self(torch.flip(images, dims=(-1,)), iterations=iterations)[-1]
        return {
            name: merge_flipped(plain[name], mirrored[name], self.tasks[name]) for name in plain
        }

    def predict_task(self, images: Tensor, task: str, iterations: int | None = None) -> Any:
        """Task ``task``'s final prediction for the images with its own batch norm (what
        evaluation scores and :meth:`predict_all` returns); with ``[model] test_flip``, averaged
        with the prediction of the mirrored images mapped back (:mod:`ifan.network.test_flip`)."""

        def final(batch: Tensor) -> Any:
            return self(batch, task=task, iterations=iterations, heads=[task])[-1][task]

        if self.config.test_flip:
            return flip_averaged(final, images, self.tasks[task])
        return final(images)

    def backbone_passes(self, iterations: int | None = None) -> int:
        """Backbone passes :meth:`predict_all` makes per batch."""
        iterations = self.iterations if iterations is None else iterations
        flips = 2 if self.config.test_flip else 1
        return (iterations + 1) * (len(self.task_names) if self.norm.per_task else 1) * flips


class _Feedback:
    """The backbone's injector for one iteration: fuses the encodings at each level."""

    def __init__(self, integrator: TaskIntegrator, encoded: list[Tensor]):
        self.integrator = integrator
        self.encoded = encoded

    def __call__(self, level: int, features: Tensor) -> Tensor:
        return self.integrator.fuse(level, features, self.encoded[level])


def build_model(manifest: Manifest) -> IFAN:
    """The network a validated manifest describes (tasks in manifest order)."""
    tasks = {name: config.build_task() for name, config in manifest.tasks.items()}
    taps = {name: config.tap for name, config in manifest.tasks.items()}
    return IFAN(tasks, manifest.model, taps)
