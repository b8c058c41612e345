"""The timed cases as results: each case's statistics against the attainable peak, the cost of
per-task batch norm, the integrated model against the single-task models, and the runtimes'
latencies."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.inference.cases import Case, stats

SINGLES = "three single-task models, one after another"


def integrated(batchnorm: str, iterations: int) -> str:
    """The case name of the integrated model with ``batchnorm`` at ``iterations``."""
    return f"integrated, {batchnorm} BN, iterations {iterations}"


def peak_flops(cases: list[Case]) -> tuple[float, float]:
    """The matmul's FLOP/s: at its median time, and at its best."""
    case = next(c for c in cases if c.kind == "peak")
    return case.flops / float(np.median(case.times)), case.flops / float(np.min(case.times))


def rows(cases: list[Case], peak: float) -> list[dict[str, Any]]:
    """Every case's settings, statistics, speed and share of the peak, and its sub-timings."""
    out = []
    for case in cases:
        row = {"name": case.name, "kind": case.kind, "batch": case.batch, **case.meta}
        row.update(stats(case.times))
        row["times_s"] = case.times
        row["images_per_s"] = case.batch / row["median_s"]
        row["achieved_gflops"] = case.flops / row["median_s"] / 1e9
        row["fraction_of_peak"] = case.flops / row["median_s"] / peak
        if case.parts:
            row["parts"] = {k: {**stats(v), "times_s": v} for k, v in case.parts.items()}
        out.append(row)
    return out


def find(rows: list[dict[str, Any]], name: str, kind: str) -> dict[str, Any]:
    """The row of case ``name`` of ``kind``."""
    return next(r for r in rows if r["name"] == name and r["kind"] == kind)


def bn_cost(rows: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """Per-task against shared batch norm at each iteration count: passes, FLOPs, latency and
    throughput ratios."""
    out = []
    for iterations in range(top + 1):
        pt, sh = integrated("per-task", iterations), integrated("shared", iterations)
        out.append(
            {
                "iterations": iterations,
                "passes": [
                    find(rows, pt, "latency")["backbone_passes"],
                    find(rows, sh, "latency")["backbone_passes"],
                ],
                "flops_ratio": find(rows, pt, "latency")["gflops_per_image"]
                / find(rows, sh, "latency")["gflops_per_image"],
                "latency_ratio": find(rows, pt, "latency")["median_s"]
                / find(rows, sh, "latency")["median_s"],
                "throughput_ratio": find(rows, sh, "throughput")["images_per_s"]
                / find(rows, pt, "throughput")["images_per_s"],
            }
        )
    return out


def vs_singles(rows: list[dict[str, Any]], export_iterations: int) -> list[dict[str, Any]]:
    """The single-task models against the integrated model without iterations and at the
    exported model's, with each batch norm: FLOPs, latency and throughput ratios."""
    out = []
    s_lat, s_thr = find(rows, SINGLES, "latency"), find(rows, SINGLES, "throughput")
    for name in (
        integrated("shared", 0),
        integrated("per-task", 0),
        integrated("per-task", export_iterations),
        integrated("shared", export_iterations),
    ):
        lat, thr = find(rows, name, "latency"), find(rows, name, "throughput")
        out.append(
            {
                "name": name,
                "flops_ratio": s_lat["gflops_per_image"] / lat["gflops_per_image"],
                "latency_ratio": s_lat["median_s"] / lat["median_s"],
                "throughput_ratio": thr["images_per_s"] / s_thr["images_per_s"],
            }
        )
    return out


def runtime_latencies(export: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Put each runtime's timed row in its record of ``export``, and eager's beside them."""
    for key, name in (
        ("onnxruntime", "onnxruntime (CPU), exported model"),
        ("torch_compile", "torch.compile, exported model"),
    ):
        if key in export and "error" not in export[key]:
            export[key]["latency"] = find(rows, name, "runtime")
    export["eager_latency"] = find(rows, integrated("per-task", export["iterations"]), "latency")
