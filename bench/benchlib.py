"""What every benchmark script reports besides its own numbers: the machine, the versions, and
Markdown tables. Imported by the scripts of bench/ (run from the repository root)."""

from __future__ import annotations

import json
import os
import platform
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

import ifan


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                wanted = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                return [f for f in wanted if f in flags]
    except OSError:
        pass
    return []


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def machine(threads: int) -> dict[str, Any]:
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


def write_results(
    out: Path,
    name: str,
    result: dict[str, Any],
    findings: Callable[[dict[str, Any]], list[str]],
    markdown: Callable[[dict[str, Any]], str],
) -> None:
    """``result`` with its findings as ``OUT/<name>.json``, and its report as ``OUT/<name>.md``."""
    result["findings"] = findings(result)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(markdown(result))
    print(f"wrote {out / name}.json and {out / name}.md")


def provenance(script: str, r: dict[str, Any]) -> str:
    """The report's first line: which script wrote it, when, on what machine and versions."""
    m = r["machine"]
    return (
        f"Written by `{script}` on {r['date']} in {r['seconds']:.0f} s. Machine: {m['cpu']}, "
        f"{m['cpus_available']} CPUs ({', '.join(m['cpu_flags'])}), {m['memory_gib']} GiB, load "
        f"average at start {m['load_average_at_start']}; {m['torch_threads']} torch thread(s). "
        "Versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items() if v) + "."
    )


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def real_data_settings(data: Path) -> list[str]:
    """``--set`` values pointing ``examples/real-3task.toml``'s splits at ``data`` (a folder laid
    out like ../shared/data), wherever the checkout is."""
    data = data.resolve()
    return [
        f"tasks.parsing.data.train={data}/fasseg/V2/Train_RGB",
        f"tasks.landmarks.data.train={data}/mtfl/training.txt",
        f"tasks.emotion.data.train={data}/fer2013/train",
        f"tasks.emotion.data.test={data}/fer2013/test",
    ]


def check_real_data(data: Path) -> None:
    """Stop with a clear message when ``data`` is not laid out like ../shared/data."""
    if not (data / "mtfl" / "training.txt").exists():
        raise SystemExit(f"{data}: no MTFL here (mtfl/training.txt); give --data")


def replay_batches(run: Any, source: Any, batches: int) -> None:
    """Make trainer ``run`` train on ``batches`` batches of each task read once from trainer
    ``source`` and replayed from memory: its updates then cost the model alone."""
    cached = {task: [source._next_batch(task) for _ in range(batches)] for task in run.names}
    position = dict.fromkeys(run.names, 0)
    layout = run._layout()

    def next_batch(task: str) -> tuple[torch.Tensor, Any]:
        images, target = cached[task][position[task] % batches]
        position[task] += 1
        return images.contiguous(memory_format=layout), target

    run._next_batch = next_batch
