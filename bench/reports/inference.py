"""The report of ``python -m bench.inference``: the machine and settings, parameters, latency
and throughput against the attainable peak, the cost of per-task batch norm, the integrated model
against the single-task models, the exported model's runtimes, and the findings."""

from __future__ import annotations

from typing import Any

from bench.lib.markdown import table, what_this_shows
from bench.lib.results import PYTHON


def ms(seconds: float) -> str:
    """Seconds in milliseconds, one decimal."""
    return f"{seconds * 1e3:,.1f}"


def ratio(a: float, b: float) -> str:
    """``a / b`` as ``1.23x`` (``-`` for a ``b`` of 0)."""
    return f"{a / b:.2f}x" if b else "-"


def max_diff(value: float | dict[str, float]) -> float:
    """The largest difference of a runtime's outputs from eager's (per batch, or one)."""
    return max(value.values()) if isinstance(value, dict) else value


def size_finding(r: dict[str, Any]) -> str:
    """The integrated model's parameters against the single-task models'."""
    p = r["parameters"]
    plain = p["integrated_iterations0_per_task_bn"]
    tasks = len(r["settings"]["tasks"])
    return (
        f"Size: the integrated model at 0 iterations has {plain:,} parameters against "
        f"{p['singles_sum']:,} for {tasks} single-task models "
        f"({p['singles_sum'] / plain:.2f}x fewer); with the re-encoders and the integrator that "
        "iterations need it has "
        f"{p['integrated_per_task_bn']:,} ({p['singles_sum'] / p['integrated_per_task_bn']:.2f}x "
        f"fewer), of which {p['per_task_bn_extra']:,} are the extra per-task batch-norm copies."
    )


def singles_findings(r: dict[str, Any]) -> list[str]:
    """The integrated model's compute and time against the single-task models', with each
    batch norm, without iterations and at the exported model's."""
    tasks = len(r["settings"]["tasks"])
    first = r["vs_singles"]
    shared0, pt0 = first[0], first[1]
    down_only = [n for n, tap in r["settings"]["taps"].items() if tap.startswith("down")]
    why = (
        f" (not {tasks}x: the {', '.join(down_only)} single-task model"
        f"{'s stop' if len(down_only) > 1 else ' stops'} at the down path, while the integrated "
        "pass runs the up path for every task)"
        if down_only and shared0["flops_ratio"] < tasks - 0.05
        else ""
    )
    flops0, time0 = 1 / pt0["flops_ratio"], 1 / pt0["latency_ratio"]
    verdict = (
        "the integrated model saves no compute or time over the single-task models then, only size"
        if flops0 > 0.9 and time0 > 0.9
        else "it still saves some compute or time over the single-task models"
    )
    e = r["settings"]["export_iterations"]
    pte = next(v for v in first if v["name"].endswith(f"per-task BN, iterations {e}"))
    ste = next(v for v in first if v["name"].endswith(f"shared BN, iterations {e}"))
    return [
        f"Compute and time: with shared batch norm and no iterations, one integrated pass costs "
        f"{shared0['flops_ratio']:.2f}x fewer FLOPs than the {tasks} single-task models{why} "
        f"and runs {shared0['latency_ratio']:.2f}x faster at batch 1 "
        f"({shared0['throughput_ratio']:.2f}x the images per second at batch "
        f"{r['settings']['throughput_batch']}).",
        f"With task-specific batch norm, which the paper trains with, predict_all runs the "
        f"backbone once per task: at 0 iterations it costs {flops0:.2f}x the FLOPs of the "
        f"{tasks} singles and takes {time0:.2f}x their batch-1 time, so {verdict}.",
        f"At {e} iterations (the exported model's) the integrated model with per-task batch norm "
        f"costs {1 / pte['flops_ratio']:.2f}x the FLOPs of the singles and takes "
        f"{1 / pte['latency_ratio']:.2f}x their batch-1 time; with shared batch norm "
        f"{1 / ste['flops_ratio']:.2f}x and {1 / ste['latency_ratio']:.2f}x.",
    ]


def batch_norm_finding(r: dict[str, Any]) -> str:
    """What task-specific batch norm costs at inference, over the iteration counts."""
    tasks = len(r["settings"]["tasks"])
    costs = r["bn_cost"]
    lat = [c["latency_ratio"] for c in costs]
    return (
        f"Task-specific batch norm at inference: {tasks}x the backbone passes at every iteration "
        f"count, {min(c['flops_ratio'] for c in costs):.2f}x to "
        f"{max(c['flops_ratio'] for c in costs):.2f}x the FLOPs (each task's pass decodes only "
        "that task at its last iteration, and skips the up path there unless the task reads it), "
        f"measured {min(lat):.2f}x to {max(lat):.2f}x the "
        "batch-1 time of shared batch norm."
    )


def efficiency_finding(r: dict[str, Any]) -> str:
    """The share of the attainable peak the models reach at each batch."""
    ranges = []
    for kind in ("latency", "throughput"):
        rows = [c for c in r["cases"] if c["kind"] == kind]
        fractions = [c["fraction_of_peak"] for c in rows]
        best = max(rows, key=lambda c: c["fraction_of_peak"])
        ranges.append(
            f"{min(fractions):.0%} to {max(fractions):.0%} at batch {rows[0]['batch']} (best "
            f"{best['achieved_gflops']:.1f} GFLOP/s: {best['name']})"
        )
    return (
        f"Efficiency: the models reach {' and '.join(ranges)} of the "
        f"{r['peak']['gflops_median']:.0f} GFLOP/s a float32 matmul reaches on the same "
        f"{r['settings']['threads']} thread(s)."
    )


def runtimes_finding(r: dict[str, Any]) -> list[str]:
    """The exported model in onnxruntime and under torch.compile against eager (none when
    both were skipped)."""
    ex = r["export"]
    eager = ex["eager_latency"]["median_s"]
    parts = []
    if "latency" in ex.get("onnxruntime", {}):
        o = ex["onnxruntime"]
        t = o["latency"]["median_s"]
        parts.append(
            f"onnxruntime {ms(t)} ms ({eager / t:.2f}x eager's speed; export and check "
            f"{o['seconds_export_and_check']:.0f} s, max |difference| "
            f"{max(o['max_abs_diff'].values()):.1g})"
        )
    elif "onnxruntime" in ex:
        parts.append(f"onnxruntime failed: {ex['onnxruntime'].get('error')}")
    if "latency" in ex.get("torch_compile", {}):
        c = ex["torch_compile"]
        t = c["latency"]["median_s"]
        parts.append(
            f"torch.compile {ms(t)} ms ({eager / t:.2f}x, after a {c['seconds_compile']:.0f} s "
            "cold compile)"
        )
    elif "torch_compile" in ex:
        parts.append(f"torch.compile failed: {ex['torch_compile'].get('error')}")
    if not parts:
        return []
    e = r["settings"]["export_iterations"]
    return [
        f"Runtimes for the exported model ({e} iterations, batch 1): PyTorch eager "
        f"{ms(eager)} ms, " + "; ".join(parts) + "."
    ]


def findings(r: dict[str, Any]) -> list[str]:
    """The "what this shows" sentences, every number from the results."""
    return [
        size_finding(r),
        *singles_findings(r),
        batch_norm_finding(r),
        efficiency_finding(r),
        *runtimes_finding(r),
    ]


def machine_section(r: dict[str, Any]) -> list[str]:
    """The title, who wrote it, and the machine and settings."""
    m, v, s = r["machine"], r["versions"], r["settings"]
    return [
        "# Inference benchmark",
        f"Written by `{PYTHON} -m bench.inference` on {r['created']} in "
        f"{r['seconds_total']:.0f} s.",
        "## Machine and settings",
        table(
            ["what", "value"],
            [
                ["CPU", m["cpu"]],
                ["CPU flags", ", ".join(m["cpu_flags"]) or "-"],
                ["logical CPUs (available)", f"{m['logical_cpus']} ({m['cpus_available']})"],
                ["memory", f"{m['memory_gib']} GiB"],
                ["torch threads", m["torch_threads"]],
                [
                    "load average at start / end",
                    f"{m['load_average_at_start']} / {m['load_average_at_end']}",
                ],
                ["platform", m["platform"]],
                ["versions", ", ".join(f"{k} {val}" for k, val in v.items())],
                ["model", f"{s['manifest']}: {', '.join(s['tasks'])}, input {s['input_size']}"],
                ["weights", s["weights"]],
                [
                    "batches",
                    f"latency batch 1 x {s['latency_repeats']} repetitions, throughput batch "
                    f"{s['throughput_batch']} x {s['throughput_repeats']}, one warm-up call each",
                ],
                ["order", s["order"]],
                ["mode", f"{s['mode']}, flush denormals"],
                ["peak", r["peak"]["method"]],
            ],
        ),
    ]


def parameters_section(r: dict[str, Any]) -> list[str]:
    """The parameters of every model."""
    p, s = r["parameters"], r["settings"]
    rows = [
        [
            f"integrated, per-task BN, built for {s['max_iterations']} iterations",
            f"{p['integrated_per_task_bn']:,}",
        ],
        [
            f"integrated, shared BN, built for {s['max_iterations']} iterations",
            f"{p['integrated_shared_bn']:,}",
        ],
        [
            "integrated, per-task BN, built for 0 iterations",
            f"{p['integrated_iterations0_per_task_bn']:,}",
        ],
        ["per-task BN copies beyond one (in the first row)", f"{p['per_task_bn_extra']:,}"],
    ]
    rows += [[f"single-task model: {n}", f"{c:,}"] for n, c in p["singles"].items()]
    rows.append([f"{len(p['singles'])} single-task models together", f"{p['singles_sum']:,}"])
    return ["## Parameters", table(["model", "parameters"], rows)]


def speed_section(r: dict[str, Any]) -> list[str]:
    """Every variant's latency and throughput against the attainable peak, and the single-task
    models one by one."""
    s, cases = r["settings"], r["cases"]
    rows = []
    for name in [c["name"] for c in cases if c["kind"] == "latency"]:
        lat = next(c for c in cases if c["name"] == name and c["kind"] == "latency")
        thr = next(c for c in cases if c["name"] == name and c["kind"] == "throughput")
        rows.append(
            [
                name,
                lat["backbone_passes"],
                f"{lat['gflops_per_image']:.2f}",
                ms(lat["median_s"]),
                ms(lat["p90_s"]),
                f"{lat['fraction_of_peak']:.0%}",
                f"{thr['images_per_s']:.2f}",
                f"{thr['achieved_gflops']:.1f}",
                f"{thr['fraction_of_peak']:.0%}",
            ]
        )
    batch = s["throughput_batch"]
    headers = ["model", "backbone passes", "GFLOPs / image", "latency median ms",
               "latency p90 ms", "% of peak (batch 1)", f"images/s (batch {batch})",
               f"achieved GFLOP/s (batch {batch})", f"% of peak (batch {batch})"]  # fmt: skip
    singles = next(c for c in cases if c["kind"] == "latency" and c.get("parts"))
    return [
        "## Latency and throughput",
        f"Attainable peak: {r['peak']['gflops_median']:.1f} GFLOP/s (median; best "
        f"{r['peak']['gflops_best']:.1f}), {r['peak']['method']}.",
        table(headers, rows),
        "The single-task models one by one (batch 1): "
        + ", ".join(f"{n} {ms(part['median_s'])} ms" for n, part in singles["parts"].items())
        + ".",
    ]


def ratios_sections(r: dict[str, Any]) -> list[str]:
    """Per-task against shared batch norm, and the single-task models against the integrated
    model, as ratios."""
    bn_rows = [
        [
            c["iterations"],
            f"{c['passes'][0]} / {c['passes'][1]}",
            f"{c['flops_ratio']:.2f}x",
            f"{c['latency_ratio']:.2f}x",
            f"{c['throughput_ratio']:.2f}x",
        ]
        for c in r["bn_cost"]
    ]
    singles_rows = [
        [
            c["name"],
            f"{c['flops_ratio']:.2f}x",
            f"{c['latency_ratio']:.2f}x",
            f"{c['throughput_ratio']:.2f}x",
        ]
        for c in r["vs_singles"]
    ]
    return [
        "## Task-specific batch norm at inference",
        "Per-task BN runs the iterative forward once per task (each with its own BN copies); "
        "shared BN once for all tasks.",
        table(
            [
                "iterations",
                "passes per-task / shared",
                "FLOP ratio",
                "latency ratio (batch 1)",
                f"throughput ratio (batch {r['settings']['throughput_batch']})",
            ],
            bn_rows,
        ),
        "## Integrated model against the single-task models",
        "Ratios of the three single-task models (run one after another) to the integrated model: "
        "above 1 means the integrated model is cheaper or faster.",
        table(
            [
                "integrated model",
                "FLOPs singles / integrated",
                "latency singles / integrated",
                "throughput integrated / singles",
            ],
            singles_rows,
        ),
    ]


def runtimes_section(r: dict[str, Any]) -> list[str]:
    """The exported model in PyTorch eager, onnxruntime and torch.compile."""
    ex = r["export"]
    eager = ex["eager_latency"]
    rows = [["PyTorch eager", ms(eager["median_s"]), ms(eager["p90_s"]), "1.00x", "-", "-"]]
    for key, label in (("onnxruntime", "onnxruntime (CPU)"), ("torch_compile", "torch.compile")):
        if key not in ex:
            continue
        info = ex[key]
        if "error" in info:
            rows.append([label, "failed", "-", "-", "-", info["error"][:200].replace("|", "/")])
            continue
        lat = info["latency"]
        setup = (
            f"export and check {info['seconds_export_and_check']:.1f} s, session "
            f"{info['seconds_session']:.1f} s, {info['size_mb']:.1f} MB, opset {info['opset']}"
            if key == "onnxruntime"
            else f"compile (first call) {info['seconds_compile']:.1f} s"
        )
        rows.append(
            [
                label,
                ms(lat["median_s"]),
                ms(lat["p90_s"]),
                ratio(eager["median_s"], lat["median_s"]),
                f"{max_diff(info['max_abs_diff']):.1g}",
                setup,
            ]
        )
    headers = ["runtime", "latency median ms", "latency p90 ms", "speed vs eager",
               "max abs diff vs eager", "setup"]  # fmt: skip
    return [
        "## The exported model: onnxruntime, PyTorch eager, torch.compile",
        f"`predict_all` of the integrated model at {ex['iterations']} iterations with per-task BN "
        f"({eager['backbone_passes']} backbone passes, {eager['gflops_per_image']:.2f} GFLOPs), "
        "batch 1; eager is the matching row of the table above.",
        table(headers, rows),
    ]


def markdown(r: dict[str, Any]) -> str:
    """The whole report."""
    blocks = [
        *machine_section(r),
        *parameters_section(r),
        *speed_section(r),
        *ratios_sections(r),
        *runtimes_section(r),
        what_this_shows(r["findings"]),
    ]
    return "\n\n".join(blocks) + "\n"
