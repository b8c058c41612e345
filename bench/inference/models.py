"""The models timed: the integrated model with per-task and with shared batch norm, the
single-task models, their meta-device copies for counting FLOPs, and the variants made of them
(a model at an iteration count, as a call on a batch of images)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bench.inference.cases import timed
from ifan.manifest import load_manifest
from ifan.network.model import IFAN, build_model
from ifan.network.summary import count_flops, parameter_counts, task_bn_extra


@dataclass
class Variant:
    """A model to time: a call on a batch of images, its backbone passes and FLOPs per image."""

    name: str
    group: str
    iterations: int
    batchnorm: str
    passes: int
    flops: int
    """Per image."""
    call: Callable[[torch.Tensor], Any]


def manifest(path: Path, size: int, *overrides: str) -> Any:
    """The manifest at ``path`` at input ``size``, with ``overrides``."""
    return load_manifest(path, [f"model.input_size={size}", *overrides])


def single_task_models(man: Any) -> dict[str, IFAN]:
    """One model per task: the same backbone and decoder, one task, no iterations."""
    config = man.model.model_copy(update={"iterations": 0, "backbone_checkpoint": None})
    return {
        name: IFAN({name: task.build_task()}, config, {name: task.tap})
        for name, task in man.tasks.items()
    }


def flops_of(model: IFAN, iterations: int) -> int:
    """``predict_all`` FLOPs per image, counted on a meta-device copy of ``model``'s build."""
    return count_flops(model, iterations).predict_all


def predict(model: IFAN, iterations: int) -> Callable[[torch.Tensor], None]:
    """``model.predict_all`` at ``iterations``, its predictions dropped."""

    def call(images: torch.Tensor) -> None:
        model.predict_all(images, iterations=iterations)

    return call


def meta_copy(build: Callable[[], Any]) -> Any:
    """What ``build`` makes, on the meta device: its shapes without its memory."""
    with torch.device("meta"):
        return build()


def size_of(model: IFAN) -> int:
    """A model's parameters."""
    return sum(p.numel() for p in model.parameters())


@dataclass
class Models:
    """The integrated model built for ``top`` iterations with per-task and with shared batch
    norm, the single-task models (random weights, in eval mode), and meta copies of each."""

    path: Path
    size: int
    tasks: list[str]
    per_task: IFAN
    shared: IFAN
    singles: dict[str, IFAN]
    meta_per_task: IFAN
    meta_shared: IFAN
    meta_singles: dict[str, IFAN]

    @classmethod
    def build(cls, path: Path, size: int, top: int) -> Models:
        """The models of the manifest at ``path`` at input ``size``."""
        per_task_man = manifest(path, size, f"model.iterations={top}")
        shared_man = manifest(path, size, f"model.iterations={top}", "model.batchnorm=shared")
        return cls(
            path=path,
            size=size,
            tasks=list(per_task_man.tasks),
            per_task=build_model(per_task_man).eval(),
            shared=build_model(shared_man).eval(),
            singles={name: m.eval() for name, m in single_task_models(per_task_man).items()},
            meta_per_task=meta_copy(lambda: build_model(per_task_man)),
            meta_shared=meta_copy(lambda: build_model(shared_man)),
            meta_singles=meta_copy(lambda: single_task_models(per_task_man)),
        )

    def parameters(self) -> dict[str, Any]:
        """The parameters of each model, the per-task batch-norm copies' among them, and of the
        integrated model built for 0 iterations."""
        params: dict[str, Any] = {
            "integrated_per_task_bn": size_of(self.per_task),
            "integrated_shared_bn": size_of(self.shared),
            "per_task_bn_extra": task_bn_extra(self.per_task),
            "singles": {n: size_of(m) for n, m in self.singles.items()},
            "parts_per_task_bn": dict(parameter_counts(self.meta_per_task)),
        }
        params["singles_sum"] = sum(params["singles"].values())
        plain = manifest(self.path, self.size, "model.iterations=0")
        params["integrated_iterations0_per_task_bn"] = size_of(
            meta_copy(lambda: build_model(plain))
        )
        return params

    def variants(self, top: int) -> list[Variant]:
        """The integrated model at iterations 0 .. ``top`` with each batch norm, then the
        single-task models one after another (each timed apart too)."""
        variants: list[Variant] = []
        for iterations in range(top + 1):
            for bn, model, meta in (
                ("per-task", self.per_task, self.meta_per_task),
                ("shared", self.shared, self.meta_shared),
            ):
                variants.append(
                    Variant(
                        f"integrated, {bn} BN, iterations {iterations}",
                        "integrated",
                        iterations,
                        bn,
                        model.backbone_passes(iterations),
                        flops_of(meta, iterations),
                        predict(model, iterations),
                    )
                )
        single_flops = {name: flops_of(self.meta_singles[name], 0) for name in self.tasks}

        def run_singles(x: torch.Tensor) -> dict[str, float]:
            parts = {}
            for name, model in self.singles.items():
                parts[name], _ = timed(lambda m=model: m.predict_all(x))
            return parts

        variants.append(
            Variant(
                "three single-task models, one after another",
                "singles",
                0,
                "-",
                len(self.singles),
                sum(single_flops.values()),
                run_singles,
            )
        )
        return variants
