"""Timing the cases against each other: every case warmed up once, then repetitions that each
run every case not done yet in a fresh random order, so machine load hits all cases alike."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch


@dataclass
class Case:
    """One timed thing: a variant at one batch size, the matmul, onnxruntime, compiled."""

    name: str
    kind: str
    """latency, throughput, peak or runtime."""
    batch: int
    repeats: int
    run: Callable[[], dict[str, float] | None]
    """Runs once; may return sub-timings (the single-task models one by one)."""
    flops: int
    """FLOPs of one run (all images)."""
    meta: dict[str, Any] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    """The seconds ``run`` takes, and what it returns."""
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def measure(cases: list[Case], seed: int) -> None:
    """Warm every case up once, then run repetitions: every case not done yet, shuffled."""
    rng = random.Random(seed)
    for case in cases:
        case.run()
    rounds = max(case.repeats for case in cases)
    for index in range(rounds):
        todo = [case for case in cases if len(case.times) < case.repeats]
        rng.shuffle(todo)
        started = time.perf_counter()
        for case in todo:
            seconds, parts = timed(case.run)
            case.times.append(seconds)
            for key, value in (parts or {}).items():
                case.parts.setdefault(key, []).append(value)
        print(
            f"  repetition {index + 1}/{rounds}: {len(todo)} cases, "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )


def stats(times: list[float]) -> dict[str, float]:
    """The median, p90 and best of ``times``."""
    return {
        "median_s": float(np.median(times)),
        "p90_s": float(np.percentile(times, 90)),
        "min_s": float(np.min(times)),
    }


def variant_cases(variants: list[Any], batches: list[tuple[str, torch.Tensor, int]]) -> list[Case]:
    """Every variant at each of ``batches`` (kind, images, repeats): latency and throughput."""
    cases = []
    for variant in variants:
        for kind, images, repeats in batches:
            cases.append(
                Case(
                    variant.name,
                    kind,
                    images.shape[0],
                    repeats,
                    lambda v=variant, x=images: v.call(x),
                    variant.flops * images.shape[0],
                    {
                        "group": variant.group,
                        "iterations": variant.iterations,
                        "batchnorm": variant.batchnorm,
                        "backbone_passes": variant.passes,
                        "gflops_per_image": variant.flops / 1e9,
                    },
                )
            )
    return cases


def matmul_case(side: int, repeats: int, generator: torch.Generator) -> Case:
    """A float32 ``side`` x ``side`` matmul: the machine's attainable peak FLOP/s."""
    a = torch.rand(side, side, generator=generator)
    b = torch.rand(side, side, generator=generator)

    def matmul() -> None:
        torch.mm(a, b)

    return Case(f"float32 matmul {side} x {side}", "peak", 1, repeats, matmul, 2 * side**3)
