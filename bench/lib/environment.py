"""The machine and the versions a result was measured with, recorded in every results file."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ifan


def _cpuinfo(field: str) -> str | None:
    """The value of the first ``field`` line of /proc/cpuinfo (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def cpu_model() -> str:
    """The processor's name."""
    return _cpuinfo("model name") or platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The vector and matrix extensions that decide float32 and bf16 speed, of those present."""
    flags = set((_cpuinfo("flags") or "").split())
    wanted = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
    return [f for f in wanted if f in flags]


def memory_gib() -> float | None:
    """The machine's memory in GiB (None where /proc/meminfo is not readable)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine(threads: int) -> dict[str, Any]:
    """The processor, its CPUs, memory and load now, and the torch threads used."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "cpus_available": affinity,
        "memory_gib": memory_gib(),
        "platform": platform.platform(),
        "torch_threads": threads,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str | None]:
    """Python's, ifan's and the numerical libraries' versions (None: not installed)."""
    out: dict[str, str | None] = {
        "python": platform.python_version(),
        "ifan": ifan.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    for name in ("onnx", "onnxruntime", "timm"):
        try:
            out[name] = __import__(name).__version__
        except ImportError:
            out[name] = None
    return out
