"""Where the time goes: torch profiler events as the operators' shares of the CPU time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


def is_convolution(operator: str) -> bool:
    """Whether a profiler event is a convolution (oneDNN's included)."""
    name = operator.lower()
    return "conv" in name or "mkldnn" in name or "onednn" in name


def self_time(events: Any) -> float:
    """The self CPU time of all ``events`` (1 where there is none, to divide by)."""
    return sum(e.self_cpu_time_total for e in events) or 1


def operator_shares(events: Any, count: int) -> list[dict[str, Any]]:
    """The ``count`` operators of ``events`` taking the most self CPU time: each one's name,
    share of the total and calls."""
    total = self_time(events)
    top = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:count]
    return [
        {"operator": e.key, "share": e.self_cpu_time_total / total, "calls": e.count} for e in top
    ]


def top_operators(run: Callable[[], Any], count: int = 8) -> list[dict[str, Any]]:
    """The operators taking the most time (self CPU) in one call of ``run``, after a warm-up."""
    run()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    return operator_shares(prof.key_averages(), count)
