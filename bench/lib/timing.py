"""Timing variants against each other: interleaved, so that load that comes and goes slows all
of them alike."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any


def interleaved(cases: dict[str, Callable[[], Any]], repeats: int, seed: int) -> dict[str, list]:
    """Seconds of every run of every case: one warm-up each, then ``repeats`` rounds, each
    running every case once in a fresh random order."""
    for run in cases.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in cases}
    rng = random.Random(seed)
    for _ in range(repeats):
        order = list(cases)
        rng.shuffle(order)
        for name in order:
            start = time.perf_counter()
            cases[name]()
            times[name].append(time.perf_counter() - start)
    return times


def interleaved_groups(
    groups: dict[str, dict[str, Callable[[], Any]]], repeats: int, start: float
) -> dict[str, dict[str, list]]:
    """Every group of cases timed by :func:`interleaved` (seeded by its place), printing the
    seconds since ``start`` (a ``time.perf_counter()``) after each group."""
    times = {}
    for seed, (name, cases) in enumerate(groups.items()):
        times[name] = interleaved(cases, repeats, seed)
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)
    return times
