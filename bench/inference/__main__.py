"""Inference cost of the integrated 3-task iFAN against three single-task models, and of its ONNX
export in onnxruntime against PyTorch eager and torch.compile.

Builds the paper's model (``examples/faces3.toml``: fc-densenet, input 128, 3 tasks; random
weights, which time like trained ones) and measures, in one run with interleaved repetitions (each
repetition runs every case once, in a fresh random order, so machine load hits all cases alike):

- the integrated model at iterations 0 .. 4, ``predict_all`` with per-task batch norm
  (T x (iterations + 1) backbone passes) and with shared batch norm (iterations + 1 passes);
- three separate single-task models (same backbone, one task each, iterations 0), one after
  another;
- a large float32 matmul on the same threads: the machine's attainable peak FLOP/s, against
  which every case's achieved FLOP/s is put;
- the integrated model at the manifest's iterations exported by ``ifan.export`` and run in
  onnxruntime, and the same ``predict_all`` under ``torch.compile`` (compile time apart; a fresh
  inductor cache, so it is a cold compile), against PyTorch eager (batch 1).

Latency is batch 1, throughput batch ``--batch``; each is the median (and p90) over repetitions
after a warm-up call of every case. FLOPs per image are ``ifan model``'s count
(``ifan.network.summary.count_flops``: 2 per multiply-add of convolutions and matrix products).
Writes ``bench/results/inference.json`` (every timing) and ``bench/results/inference.md``.

    .venv/bin/python -m bench.inference                 # defaults: a few minutes, 1 thread
    .venv/bin/python -m bench.inference --threads 0     # all cores (torch's default)
    .venv/bin/python -m bench.inference --no-compile --latency-repeats 3 --throughput-repeats 2
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch

from bench.inference import summary
from bench.inference.cases import Case, matmul_case, measure, variant_cases
from bench.inference.models import Models, flops_of
from bench.inference.runtimes import compiled_case, fresh_inductor_cache, onnx_case
from bench.lib import options
from bench.lib.environment import machine, versions
from bench.lib.paths import ROOT
from bench.lib.results import rewrite_report, write_results
from bench.reports import inference as report
from ifan.manifest import load_manifest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The model, the cases, the repetitions, the threads and where the results go."""
    parser = options.parser(__doc__)
    parser.add_argument("--manifest", type=Path, default=ROOT / "examples" / "faces3.toml")
    parser.add_argument("--input-size", type=int, default=128, help="input side (128)")
    parser.add_argument("--max-iterations", type=int, default=4, help="iterations 0 .. N (4)")
    parser.add_argument("--batch", type=int, default=8, help="throughput batch size (8)")
    parser.add_argument(
        "--latency-repeats", type=int, default=5, help="timed batch-1 runs per case (5)"
    )
    parser.add_argument(
        "--throughput-repeats", type=int, default=3, help="timed batch runs per case (3)"
    )
    options.add_threads(
        parser,
        1,
        "torch and onnxruntime intra-op threads; 0: torch's default, all cores (1: this "
        "project's machine is shared with other work, where 2 threads measure mostly waiting)",
    )
    parser.add_argument("--matmul", type=int, default=2048, help="side of the peak matmul (2048)")
    parser.add_argument(
        "--export-iterations",
        type=int,
        help="iterations of the exported model (default: the manifest's, 2 for faces3)",
    )
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX export")
    parser.add_argument("--seed", type=int, default=0)
    options.add_out(parser)
    options.add_report_only(
        parser,
        "measure nothing: rewrite OUT/inference.md (and the findings in OUT/inference.json) "
        "from OUT/inference.json",
    )
    return parser.parse_args(argv)


def exported_iterations(args: argparse.Namespace) -> int:
    """The iterations of the exported model: ``--export-iterations`` or the manifest's, which
    must be among the timed ones."""
    chosen = args.export_iterations
    if chosen is None:
        chosen = load_manifest(args.manifest).model.iterations
    if chosen > args.max_iterations:
        raise SystemExit(
            f"the exported model's {chosen} iterations are not among the timed ones "
            f"(0 .. {args.max_iterations}): raise --max-iterations or lower --export-iterations"
        )
    return chosen


def runtime_cases(
    args: argparse.Namespace, models: Models, iterations: int, one: torch.Tensor, threads: int
) -> tuple[dict[str, Any], list[Case]]:
    """The exported model's record (onnxruntime and torch.compile, unless skipped) and their
    cases at batch 1."""
    export: dict[str, Any] = {"iterations": iterations}
    flops = flops_of(models.meta_per_task, iterations)
    model, repeats = models.per_task, args.latency_repeats
    cases = []
    if not args.no_onnx:
        export["onnxruntime"], case = onnx_case(model, iterations, one, threads, repeats, flops)
        cases.append(case)
    if not args.no_compile:
        export["torch_compile"], case = compiled_case(model, iterations, one, repeats, flops)
        cases.append(case)
    return export, [case for case in cases if case is not None]


def settings(args: argparse.Namespace, models: Models, threads: int, iterations: int) -> dict:
    """The settings the results record."""
    return {
        "manifest": os.path.relpath(args.manifest, ROOT),
        "input_size": args.input_size,
        "tasks": models.tasks,
        "taps": dict(models.per_task.taps),
        "max_iterations": args.max_iterations,
        "latency_batch": 1,
        "throughput_batch": args.batch,
        "latency_repeats": args.latency_repeats,
        "throughput_repeats": args.throughput_repeats,
        "warmup_calls_per_case": 1,
        "threads": threads,
        "matmul": args.matmul,
        "export_iterations": iterations,
        "seed": args.seed,
        "weights": "random (timing only)",
        "flush_denormal": True,
        "mode": "torch.inference_mode, eval()",
        "order": "every repetition runs each case once in a fresh random order",
    }


def measured(args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """Build the models, time every case, and put the numbers together as the results."""
    info = machine(threads)
    print(f"{info['cpu']}, {threads} torch thread(s), torch {torch.__version__}", flush=True)
    iterations = exported_iterations(args)
    models = Models.build(args.manifest, args.input_size, args.max_iterations)
    params = models.parameters()
    generator = torch.Generator().manual_seed(args.seed)
    size = args.input_size
    one = torch.rand(1, 3, size, size, generator=generator)
    many = torch.rand(args.batch, 3, size, size, generator=generator)
    batches = [
        ("latency", one, args.latency_repeats),
        ("throughput", many, args.throughput_repeats),
    ]
    cases = variant_cases(models.variants(args.max_iterations), batches)
    repeats = max(args.latency_repeats, args.throughput_repeats)
    cases.append(matmul_case(args.matmul, repeats, generator))
    export, runtimes = runtime_cases(args, models, iterations, one, threads)
    cases += runtimes
    print(f"timing {len(cases)} cases", flush=True)
    with torch.inference_mode():
        measure(cases, args.seed)
    peak, peak_best = summary.peak_flops(cases)
    rows = summary.rows(cases, peak)
    summary.runtime_latencies(export, rows)
    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "benchmark": "inference",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "versions": versions(),
        "settings": settings(args, models, threads, iterations),
        "peak": {
            "method": f"median time of a float32 {args.matmul} x {args.matmul} matmul on "
            f"{threads} thread(s), timed among the cases: an attainable peak, not the "
            "processor's theoretical one",
            "gflops_median": peak / 1e9,
            "gflops_best": peak_best / 1e9,
        },
        "parameters": params,
        "cases": rows,
        "bn_cost": summary.bn_cost(rows, args.max_iterations),
        "vs_singles": summary.vs_singles(rows, iterations),
        "export": export,
    }


def main(argv: list[str] | None = None) -> int:
    """Measure every case and write the results (or, with ``--report-only``, only the report)."""
    args = parse_args(argv)
    if args.report_only:
        rewrite_report(args.out, "inference", report)
        return 0
    fresh_inductor_cache()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    result = measured(args, threads)
    result["seconds_total"] = time.perf_counter() - started
    write_results(args.out, "inference", result, report)
    print(f"total {result['seconds_total']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
