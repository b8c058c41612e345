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

    .venv/bin/python bench/inference.py                 # defaults: a few minutes, 1 thread
    .venv/bin/python bench/inference.py --threads 0     # all cores (torch's default)
    .venv/bin/python bench/inference.py --no-compile --latency-repeats 3 --throughput-repeats 2
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# torch.compile writes its kernels here: a fresh folder per run, so its compile time is a cold one
# (set before torch is imported, as inductor reads it then).
if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
    _INDUCTOR_CACHE = tempfile.mkdtemp(prefix="ifan-bench-inductor-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = _INDUCTOR_CACHE
    atexit.register(shutil.rmtree, _INDUCTOR_CACHE, ignore_errors=True)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ifan.manifest import load_manifest  # noqa: E402
from ifan.network.model import IFAN, build_model  # noqa: E402
from ifan.network.summary import count_flops, parameter_counts, task_bn_extra  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, table, versions, write_results  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch and onnxruntime intra-op threads; 0: torch's default, all cores (1: this "
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
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: rewrite OUT/inference.md (and the findings in OUT/inference.json) "
        "from OUT/inference.json",
    )
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# the models


@dataclass
class Variant:
    """A model to time: a call on a batch of images, its backbone passes and FLOPs per image."""

    name: str
    group: str
    iterations: int
    batchnorm: str
    passes: int
    flops: int
    """Per image."""
    call: Callable[[torch.Tensor], Any]


def manifest(path: Path, size: int, *overrides: str):
    return load_manifest(path, [f"model.input_size={size}", *overrides])


def single_task_models(man) -> dict[str, IFAN]:
    """One model per task: the same backbone and decoder, one task, no iterations."""
    config = man.model.model_copy(update={"iterations": 0, "backbone_checkpoint": None})
    return {
        name: IFAN({name: task.build_task()}, config, {name: task.tap})
        for name, task in man.tasks.items()
    }


def flops_of(model: IFAN, iterations: int) -> int:
    """``predict_all`` FLOPs per image, counted on a meta-device copy of ``model``'s build."""
    return count_flops(model, iterations).predict_all


def predict(model: IFAN, iterations: int) -> Callable[[torch.Tensor], None]:
    """``model.predict_all`` at ``iterations``, its predictions dropped."""

    def call(images: torch.Tensor) -> None:
        model.predict_all(images, iterations=iterations)

    return call


def meta_copy(build: Callable[[], IFAN]) -> IFAN:
    with torch.device("meta"):
        return build()


# ---------------------------------------------------------------------------------------------
# timing


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
    return {
        "median_s": float(np.median(times)),
        "p90_s": float(np.percentile(times, 90)),
        "min_s": float(np.min(times)),
    }


# ---------------------------------------------------------------------------------------------
# export and compile


def export_onnx(model: IFAN, iterations: int, folder: Path, threads: int) -> dict[str, Any]:
    """``ifan.export`` of ``model`` at ``iterations``, and an onnxruntime session for it."""
    from ifan.export import export_model

    path = folder / "faces3.onnx"
    report = export_model(model, path, iterations=iterations)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    start = time.perf_counter()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return {
        "session": session,
        "seconds_export_and_check": report.seconds,
        "seconds_session": time.perf_counter() - start,
        "size_mb": report.size_bytes / 1e6,
        "opset": report.opset,
        "exporter": report.exporter,
        "max_abs_diff": report.max_abs_diff,
        "checked_batches": list(report.checked_batches),
    }


def compile_model(model: IFAN, iterations: int, images: torch.Tensor) -> dict[str, Any]:
    """``torch.compile`` of the exported computation; its first call's time is the compile."""
    from ifan.export import PredictAll, output_specs

    wrapper = PredictAll(model, iterations, output_specs(model, iterations)).eval()
    compiled = torch.compile(wrapper)
    start = time.perf_counter()
    with torch.inference_mode():
        got = compiled(images)
        want = wrapper(images)
    seconds = time.perf_counter() - start
    diff = max(float((a - b).abs().max()) for a, b in zip(got, want, strict=True))
    return {"call": compiled, "seconds_compile": seconds, "max_abs_diff": diff}


# ---------------------------------------------------------------------------------------------
# the report


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def max_diff(value: float | dict[str, float]) -> float:
    return max(value.values()) if isinstance(value, dict) else value


def write(result: dict[str, Any], out: Path) -> None:
    write_results(out, "inference", result, findings, markdown)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report_only:
        write(json.loads((args.out / "inference.json").read_text()), args.out)
        return 0
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    torch.set_flush_denormal(True)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    info = machine(threads)
    print(f"{info['cpu']}, {threads} torch thread(s), torch {torch.__version__}", flush=True)

    size, top = args.input_size, args.max_iterations
    per_task_man = manifest(args.manifest, size, f"model.iterations={top}")
    shared_man = manifest(args.manifest, size, f"model.iterations={top}", "model.batchnorm=shared")
    tasks = list(per_task_man.tasks)
    export_iterations = (
        args.export_iterations
        if args.export_iterations is not None
        else load_manifest(args.manifest).model.iterations
    )
    if export_iterations > top:
        raise SystemExit(
            f"the exported model's {export_iterations} iterations are not among the timed ones "
            f"(0 .. {top}): raise --max-iterations or lower --export-iterations"
        )

    per_task = build_model(per_task_man).eval()
    shared = build_model(shared_man).eval()
    singles = {name: m.eval() for name, m in single_task_models(per_task_man).items()}
    meta_per_task = meta_copy(lambda: build_model(per_task_man))
    meta_shared = meta_copy(lambda: build_model(shared_man))
    meta_singles = meta_copy(lambda: single_task_models(per_task_man))  # type: ignore[arg-type]

    # -- parameters
    params = {
        "integrated_per_task_bn": sum(p.numel() for p in per_task.parameters()),
        "integrated_shared_bn": sum(p.numel() for p in shared.parameters()),
        "per_task_bn_extra": task_bn_extra(per_task),
        "singles": {n: sum(p.numel() for p in m.parameters()) for n, m in singles.items()},
        "parts_per_task_bn": dict(parameter_counts(meta_per_task)),
    }
    params["singles_sum"] = sum(params["singles"].values())
    plain = manifest(args.manifest, size, "model.iterations=0")
    params["integrated_iterations0_per_task_bn"] = sum(
        p.numel() for p in meta_copy(lambda: build_model(plain)).parameters()
    )

    # -- variants
    variants: list[Variant] = []
    for iterations in range(top + 1):
        for bn, model, meta in (
            ("per-task", per_task, meta_per_task),
            ("shared", shared, meta_shared),
        ):
            variants.append(
                Variant(
                    f"integrated, {bn} BN, iterations {iterations}",
                    "integrated",
                    iterations,
                    bn,
                    model.backbone_passes(iterations),
                    flops_of(meta, iterations),
                    predict(model, iterations),
                )
            )
    single_flops = {name: flops_of(meta_singles[name], 0) for name in tasks}

    def run_singles(x: torch.Tensor) -> dict[str, float]:
        parts = {}
        for name, model in singles.items():
            parts[name], _ = timed(lambda m=model: m.predict_all(x))
        return parts

    variants.append(
        Variant(
            "three single-task models, one after another",
            "singles",
            0,
            "-",
            len(singles),
            sum(single_flops.values()),
            run_singles,
        )
    )

    generator = torch.Generator().manual_seed(args.seed)
    one = torch.rand(1, 3, size, size, generator=generator)
    many = torch.rand(args.batch, 3, size, size, generator=generator)
    cases: list[Case] = []
    for variant in variants:
        for kind, images, repeats in (
            ("latency", one, args.latency_repeats),
            ("throughput", many, args.throughput_repeats),
        ):
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
    a = torch.rand(args.matmul, args.matmul, generator=generator)
    b = torch.rand(args.matmul, args.matmul, generator=generator)

    def matmul() -> None:
        torch.mm(a, b)

    cases.append(
        Case(
            f"float32 matmul {args.matmul} x {args.matmul}",
            "peak",
            1,
            max(args.latency_repeats, args.throughput_repeats),
            matmul,
            2 * args.matmul**3,
        )
    )

    # -- the exported model: onnxruntime, torch.compile, eager (the per-task case above)
    export: dict[str, Any] = {"iterations": export_iterations}
    eager_name = f"integrated, per-task BN, iterations {export_iterations}"
    export_flops = flops_of(meta_per_task, export_iterations)
    if not args.no_onnx:
        try:
            with tempfile.TemporaryDirectory() as folder:
                print(f"exporting to ONNX at iterations {export_iterations}", flush=True)
                onnx = export_onnx(per_task, export_iterations, Path(folder), threads)
            session = onnx.pop("session")
            export["onnxruntime"] = onnx
            feed = {"images": one.numpy()}

            def run_onnx() -> None:
                session.run(None, feed)

            cases.append(
                Case(
                    "onnxruntime (CPU), exported model",
                    "runtime",
                    1,
                    args.latency_repeats,
                    run_onnx,
                    export_flops,
                )
            )
        except Exception as exc:  # record, do not crash: the other numbers still stand
            export["onnxruntime"] = {"error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc()
    if not args.no_compile:
        print(f"torch.compile at iterations {export_iterations} (a cold compile)", flush=True)
        try:
            compiled = compile_model(per_task, export_iterations, one)
            call = compiled.pop("call")

            def run_compiled() -> None:
                call(one)

            export["torch_compile"] = compiled
            print(f"  compiled in {compiled['seconds_compile']:.1f} s", flush=True)
            cases.append(
                Case(
                    "torch.compile, exported model",
                    "runtime",
                    1,
                    args.latency_repeats,
                    run_compiled,
                    export_flops,
                )
            )
        except Exception as exc:
            export["torch_compile"] = {"error": f"{type(exc).__name__}: {exc}"}
            traceback.print_exc()

    print(f"timing {len(cases)} cases", flush=True)
    with torch.inference_mode():
        measure(cases, args.seed)

    # -- results
    peak_case = next(c for c in cases if c.kind == "peak")
    peak = peak_case.flops / float(np.median(peak_case.times))
    peak_best = peak_case.flops / float(np.min(peak_case.times))
    rows = []
    for case in cases:
        row = {"name": case.name, "kind": case.kind, "batch": case.batch, **case.meta}
        row.update(stats(case.times))
        row["times_s"] = case.times
        row["images_per_s"] = case.batch / row["median_s"]
        row["achieved_gflops"] = case.flops / row["median_s"] / 1e9
        row["fraction_of_peak"] = case.flops / row["median_s"] / peak
        if case.parts:
            row["parts"] = {k: {**stats(v), "times_s": v} for k, v in case.parts.items()}
        rows.append(row)

    def find(name: str, kind: str) -> dict[str, Any]:
        return next(r for r in rows if r["name"] == name and r["kind"] == kind)

    singles_name = variants[-1].name
    bn_cost = []
    for iterations in range(top + 1):
        pt = f"integrated, per-task BN, iterations {iterations}"
        sh = f"integrated, shared BN, iterations {iterations}"
        bn_cost.append(
            {
                "iterations": iterations,
                "passes": [
                    find(pt, "latency")["backbone_passes"],
                    find(sh, "latency")["backbone_passes"],
                ],
                "flops_ratio": find(pt, "latency")["gflops_per_image"]
                / find(sh, "latency")["gflops_per_image"],
                "latency_ratio": find(pt, "latency")["median_s"] / find(sh, "latency")["median_s"],
                "throughput_ratio": find(sh, "throughput")["images_per_s"]
                / find(pt, "throughput")["images_per_s"],
            }
        )
    vs_singles = []
    s_lat, s_thr = find(singles_name, "latency"), find(singles_name, "throughput")
    for name in (
        "integrated, shared BN, iterations 0",
        "integrated, per-task BN, iterations 0",
        f"integrated, per-task BN, iterations {export_iterations}",
        f"integrated, shared BN, iterations {export_iterations}",
    ):
        lat, thr = find(name, "latency"), find(name, "throughput")
        vs_singles.append(
            {
                "name": name,
                "flops_ratio": s_lat["gflops_per_image"] / lat["gflops_per_image"],
                "latency_ratio": s_lat["median_s"] / lat["median_s"],
                "throughput_ratio": thr["images_per_s"] / s_thr["images_per_s"],
            }
        )
    if "onnxruntime" in export and "error" not in export["onnxruntime"]:
        export["onnxruntime"]["latency"] = find("onnxruntime (CPU), exported model", "runtime")
    if "torch_compile" in export and "error" not in export["torch_compile"]:
        export["torch_compile"]["latency"] = find("torch.compile, exported model", "runtime")
    export["eager_latency"] = find(eager_name, "latency")

    info["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result = {
        "benchmark": "inference",
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": info,
        "versions": versions(),
        "settings": {
            "manifest": os.path.relpath(args.manifest, ROOT),
            "input_size": size,
            "tasks": tasks,
            "taps": dict(per_task.taps),
            "max_iterations": top,
            "latency_batch": 1,
            "throughput_batch": args.batch,
            "latency_repeats": args.latency_repeats,
            "throughput_repeats": args.throughput_repeats,
            "warmup_calls_per_case": 1,
            "threads": threads,
            "matmul": args.matmul,
            "export_iterations": export_iterations,
            "seed": args.seed,
            "weights": "random (timing only)",
            "flush_denormal": True,
            "mode": "torch.inference_mode, eval()",
            "order": "every repetition runs each case once in a fresh random order",
        },
        "peak": {
            "method": f"median time of a float32 {args.matmul} x {args.matmul} matmul on "
            f"{threads} thread(s), timed among the cases: an attainable peak, not the "
            "processor's theoretical one",
            "gflops_median": peak / 1e9,
            "gflops_best": peak_best / 1e9,
        },
        "parameters": params,
        "cases": rows,
        "bn_cost": bn_cost,
        "vs_singles": vs_singles,
        "export": export,
        "seconds_total": time.perf_counter() - started,
    }
    write(result, args.out)
    print(f"total {result['seconds_total']:.0f} s")
    return 0


def findings(r: dict[str, Any]) -> list[str]:
    """The "what this shows" sentences, every number from the results."""
    p = r["parameters"]
    plain = p["integrated_iterations0_per_task_bn"]
    tasks = len(r["settings"]["tasks"])
    out = []
    out.append(
        f"Size: the integrated model at 0 iterations has {plain:,} parameters against "
        f"{p['singles_sum']:,} for {tasks} single-task models "
        f"({p['singles_sum'] / plain:.2f}x fewer); with the re-encoders and the integrator that "
        "iterations need it has "
        f"{p['integrated_per_task_bn']:,} ({p['singles_sum'] / p['integrated_per_task_bn']:.2f}x "
        f"fewer), of which {p['per_task_bn_extra']:,} are the extra per-task batch-norm copies."
    )
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
    out.append(
        f"Compute and time: with shared batch norm and no iterations, one integrated pass costs "
        f"{shared0['flops_ratio']:.2f}x fewer FLOPs than the {tasks} single-task models{why} "
        f"and runs {shared0['latency_ratio']:.2f}x faster at batch 1 "
        f"({shared0['throughput_ratio']:.2f}x the images per second at batch "
        f"{r['settings']['throughput_batch']})."
    )
    flops0, time0 = 1 / pt0["flops_ratio"], 1 / pt0["latency_ratio"]
    verdict = (
        "the integrated model saves no compute or time over the single-task models then, only size"
        if flops0 > 0.9 and time0 > 0.9
        else "it still saves some compute or time over the single-task models"
    )
    out.append(
        f"With task-specific batch norm, which the paper trains with, predict_all runs the "
        f"backbone once per task: at 0 iterations it costs {flops0:.2f}x the FLOPs of the "
        f"{tasks} singles and takes {time0:.2f}x their batch-1 time, so {verdict}."
    )
    e = r["settings"]["export_iterations"]
    pte = next(v for v in first if v["name"].endswith(f"per-task BN, iterations {e}"))
    ste = next(v for v in first if v["name"].endswith(f"shared BN, iterations {e}"))
    out.append(
        f"At {e} iterations (the exported model's) the integrated model with per-task batch norm "
        f"costs {1 / pte['flops_ratio']:.2f}x the FLOPs of the singles and takes "
        f"{1 / pte['latency_ratio']:.2f}x their batch-1 time; with shared batch norm "
        f"{1 / ste['flops_ratio']:.2f}x and {1 / ste['latency_ratio']:.2f}x."
    )
    costs = r["bn_cost"]
    lat = [c["latency_ratio"] for c in costs]
    out.append(
        f"Task-specific batch norm at inference: {tasks}x the backbone passes at every iteration "
        f"count, {min(c['flops_ratio'] for c in costs):.2f}x to "
        f"{max(c['flops_ratio'] for c in costs):.2f}x the FLOPs (each task's pass decodes only "
        "that task at its last iteration, and skips the up path there unless the task reads it), "
        f"measured {min(lat):.2f}x to {max(lat):.2f}x the "
        "batch-1 time of shared batch norm."
    )
    ranges = []
    for kind in ("latency", "throughput"):
        rows = [c for c in r["cases"] if c["kind"] == kind]
        fractions = [c["fraction_of_peak"] for c in rows]
        best = max(rows, key=lambda c: c["fraction_of_peak"])
        ranges.append(
            f"{min(fractions):.0%} to {max(fractions):.0%} at batch {rows[0]['batch']} (best "
            f"{best['achieved_gflops']:.1f} GFLOP/s: {best['name']})"
        )
    out.append(
        f"Efficiency: the models reach {' and '.join(ranges)} of the "
        f"{r['peak']['gflops_median']:.0f} GFLOP/s a float32 matmul reaches on the same "
        f"{r['settings']['threads']} thread(s)."
    )
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
    if parts:
        out.append(
            f"Runtimes for the exported model ({e} iterations, batch 1): PyTorch eager "
            f"{ms(eager)} ms, " + "; ".join(parts) + "."
        )
    return out


def markdown(r: dict[str, Any]) -> str:
    m, v, s = r["machine"], r["versions"], r["settings"]
    lines = [
        "# Inference benchmark",
        "",
        f"Written by `bench/inference.py` on {r['created']} in {r['seconds_total']:.0f} s.",
        "",
        "## Machine and settings",
        "",
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
        "",
        "## Parameters",
        "",
    ]
    p = r["parameters"]
    prow = [
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
    prow += [[f"single-task model: {n}", f"{c:,}"] for n, c in p["singles"].items()]
    prow.append([f"{len(p['singles'])} single-task models together", f"{p['singles_sum']:,}"])
    lines += [table(["model", "parameters"], prow), ""]

    peak = r["peak"]["gflops_median"]
    lines += [
        "## Latency and throughput",
        "",
        f"Attainable peak: {peak:.1f} GFLOP/s (median; best {r['peak']['gflops_best']:.1f}), "
        f"{r['peak']['method']}.",
        "",
    ]
    rows = []
    cases = r["cases"]
    names = [c["name"] for c in cases if c["kind"] == "latency"]
    for name in names:
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
    lines += [
        table(
            [
                "model",
                "backbone passes",
                "GFLOPs / image",
                "latency median ms",
                "latency p90 ms",
                "% of peak (batch 1)",
                f"images/s (batch {s['throughput_batch']})",
                f"achieved GFLOP/s (batch {s['throughput_batch']})",
                f"% of peak (batch {s['throughput_batch']})",
            ],
            rows,
        ),
        "",
    ]
    singles = next(c for c in cases if c["kind"] == "latency" and c.get("parts"))
    lines += [
        "The single-task models one by one (batch 1): "
        + ", ".join(f"{n} {ms(part['median_s'])} ms" for n, part in singles["parts"].items())
        + ".",
        "",
        "## Task-specific batch norm at inference",
        "",
        "Per-task BN runs the iterative forward once per task (each with its own BN copies); "
        "shared BN once for all tasks.",
        "",
        table(
            [
                "iterations",
                "passes per-task / shared",
                "FLOP ratio",
                "latency ratio (batch 1)",
                f"throughput ratio (batch {s['throughput_batch']})",
            ],
            [
                [
                    c["iterations"],
                    f"{c['passes'][0]} / {c['passes'][1]}",
                    f"{c['flops_ratio']:.2f}x",
                    f"{c['latency_ratio']:.2f}x",
                    f"{c['throughput_ratio']:.2f}x",
                ]
                for c in r["bn_cost"]
            ],
        ),
        "",
        "## Integrated model against the single-task models",
        "",
        "Ratios of the three single-task models (run one after another) to the integrated model: "
        "above 1 means the integrated model is cheaper or faster.",
        "",
        table(
            [
                "integrated model",
                "FLOPs singles / integrated",
                "latency singles / integrated",
                "throughput integrated / singles",
            ],
            [
                [
                    c["name"],
                    f"{c['flops_ratio']:.2f}x",
                    f"{c['latency_ratio']:.2f}x",
                    f"{c['throughput_ratio']:.2f}x",
                ]
                for c in r["vs_singles"]
            ],
        ),
        "",
        "## The exported model: onnxruntime, PyTorch eager, torch.compile",
        "",
    ]
    ex = r["export"]
    eager = ex["eager_latency"]
    rrows = [
        [
            "PyTorch eager",
            ms(eager["median_s"]),
            ms(eager["p90_s"]),
            "1.00x",
            "-",
            "-",
        ]
    ]
    for key, label in (("onnxruntime", "onnxruntime (CPU)"), ("torch_compile", "torch.compile")):
        if key not in ex:
            continue
        info = ex[key]
        if "error" in info:
            rrows.append([label, "failed", "-", "-", "-", info["error"][:200].replace("|", "/")])
            continue
        lat = info["latency"]
        setup = (
            f"export and check {info['seconds_export_and_check']:.1f} s, session "
            f"{info['seconds_session']:.1f} s, {info['size_mb']:.1f} MB, opset {info['opset']}"
            if key == "onnxruntime"
            else f"compile (first call) {info['seconds_compile']:.1f} s"
        )
        rrows.append(
            [
                label,
                ms(lat["median_s"]),
                ms(lat["p90_s"]),
                ratio(eager["median_s"], lat["median_s"]),
                f"{max_diff(info['max_abs_diff']):.1g}",
                setup,
            ]
        )
    lines += [
        f"`predict_all` of the integrated model at {ex['iterations']} iterations with per-task BN "
        f"({eager['backbone_passes']} backbone passes, {eager['gflops_per_image']:.2f} GFLOPs), "
        "batch 1; eager is the matching row of the table above.",
        "",
        table(
            [
                "runtime",
                "latency median ms",
                "latency p90 ms",
                "speed vs eager",
                "max abs diff vs eager",
                "setup",
            ],
            rrows,
        ),
        "",
        "## What this shows",
        "",
        *[f"- {line}" for line in r["findings"]],
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
