"""The report of ``bench/gpu_check.sh`` (``python -m bench.gpu_check``): the CUDA tests, the
training speed, and predict on the device against the CPU, each a line."""

from __future__ import annotations

from typing import Any


def findings(r: dict[str, Any]) -> list[str]:
    """The report's lines, also kept in the JSON."""
    t, p = r["training"], r["predict"]
    lines = [
        f"CUDA tests: {r['cuda_tests'].get('summary', r['cuda_tests'].get('skipped'))}",
        f"training, examples/faces3-cpu.toml in bf16 on prepared splits: "
        f"{t['seconds_per_round'] * 1000:.0f} ms per alternating round of {t['images_per_round']} "
        f"images, {t['images_per_second']:.0f} images/s (over {t['rounds']} rounds)",
    ]
    if "against_cpu" in r:
        c = r["against_cpu"]
        lines.append(
            f"training against the CPU baseline: {c['not_compared']}"
            if "not_compared" in c
            else f"training against the CPU baseline: {c['times_the_cpu']:.1f} times the "
            f"{c['cpu_images_per_second']:.0f} images/s of {c['cpu_name']} "
            "(bench/results/gpu-check-cpu.md)"
        )
    for name, gap in p.items():
        verdict = "within" if gap["within"] else "OUTSIDE"
        lines.append(
            f"predict_all of `{r['predict_model']}` on {r['device']} ({name}) against the CPU "
            f"in float32: largest difference {gap['largest_difference']:.2e} of the output's "
            f"largest magnitude, {verdict} the tolerance {gap['tolerance']:g}"
        )
    return lines


def markdown(r: dict[str, Any]) -> str:
    """The whole report: a heading, who wrote it, and the findings."""
    head = [
        f"# GPU check on {r['device']} ({r['device_name']}), torch {r['torch']}",
        "",
        f"Written by `bench/gpu_check.sh --device {r['device']}` in {r['seconds']:.0f} s, "
        f"{r['torch_threads']} torch thread(s).",
        "",
    ]
    return "\n".join(head + [f"- {line}" for line in r["findings"]]) + "\n"
