"""The report of ``python -m bench.performance``: each performance change as a speed-up over its
group's first variant, and where the time goes."""

from __future__ import annotations

import statistics
from typing import Any

from bench.lib.markdown import provenance, table, what_this_shows
from bench.lib.results import PYTHON


def median(values: list[float]) -> float:
    """The median of timings."""
    return statistics.median(values)


def speedups(times: dict[str, list[float]]) -> dict[str, float]:
    """Each variant's speed-up over the group's first (the baseline): baseline / variant."""
    baseline = median(next(iter(times.values())))
    return {name: baseline / median(values) for name, values in times.items()}


def findings(r: dict[str, Any]) -> list[str]:
    """Each change's speed-up in training, inference and reading FASSEG, and what bf16 and the
    layout change in the outputs."""
    g, out = r["seconds_per_call"], []
    train = [k for k in g if "update" in k]
    for variant in list(g[train[0]])[1:]:
        ratios = [speedups(g[k])[variant] for k in train]
        out.append(
            f"Training, {variant}: {min(ratios):.2f}x to {max(ratios):.2f}x faster updates than "
            f"NCHW float32 (over {len(train)} kinds of update)."
        )
    for key in [k for k in g if k.startswith("predict_all")]:
        speeds = speedups(g[key])
        parts = [f"{name} {ratio:.2f}x" for name, ratio in list(speeds.items())[1:3]]
        stacked = next(name for name in speeds if name.startswith("stacked"))
        same_layout = speeds[stacked] / speeds["channels-last (default now)"]
        out.append(
            f"Inference, {key}, speed-up over NCHW: {', '.join(parts)}; stacking the per-task "
            f"passes into one ({stacked}, channels-last) runs {same_layout:.2f}x the speed of "
            "the separate channels-last passes, so it was not adopted."
        )
    d = r["bf16_and_layout_max_difference"]
    out.append(
        f"Largest change of an output (batch 1): channels-last {d['channels-last']:.1e}, "
        f"bf16 {d['channels-last, bf16']:.1e}."
    )
    data_key = next(k for k in g if k.startswith("FASSEG"))
    ratio = list(speedups(g[data_key]).values())[1]
    per_image = median(g[data_key]["binary search (now)"]) / r["data"]["images"]
    out.append(
        f"FASSEG labels to classes: {ratio:.1f}x faster ({per_image * 1e3:.1f} ms an image now), "
        "the same classes on every pixel."
    )
    return out


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    s, g = r["settings"], r["seconds_per_call"]
    blocks = [
        "# Performance: profiles and before/after ratios",
        provenance(f"{PYTHON} -m bench.performance", r),
        f"Training: `examples/real-3task.toml` at input {s['input_size']} with two iterations, "
        "on real batches replayed from memory. Inference: `examples/faces3.toml` (input 128, "
        "two iterations, random weights). Median of "
        f"{s['repeats']} interleaved runs; speed-up = the group's first row / the row.",
    ]
    for name, times in g.items():
        ratios = speedups(times)
        blocks += [
            f"## {name}",
            table(
                ["variant", "ms (median)", "speed-up"],
                [[v, f"{median(t) * 1e3:,.1f}", f"{ratios[v]:.2f}x"] for v, t in times.items()],
            ),
        ]
    blocks.append("## Where the time goes (self CPU time, top operators)")
    for name, rows in r["profiles"].items():
        blocks += [
            f"{name}:",
            table(
                ["operator", "share", "calls"],
                [[f"`{x['operator']}`", f"{100 * x['share']:.1f} %", x["calls"]] for x in rows],
            ),
        ]
    blocks.append(what_this_shows(r["findings"]))
    return "\n\n".join(blocks) + "\n"
