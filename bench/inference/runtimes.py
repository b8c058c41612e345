"""The exported model's runtimes: ``ifan.export``'s ONNX file in onnxruntime, and the same
``predict_all`` under ``torch.compile`` (a cold compile, timed apart). A failure is recorded in
the results, not raised: the other numbers still stand."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import torch

from bench.inference.cases import Case
from ifan.network.model import IFAN


def fresh_inductor_cache() -> None:
    """Point ``torch.compile``'s kernels at a fresh folder (removed at exit), so that its
    compile time is a cold one; unless ``TORCHINDUCTOR_CACHE_DIR`` is set. Before the first
    compile: inductor reads the variable when it first needs the folder."""
    if "TORCHINDUCTOR_CACHE_DIR" not in os.environ:
        folder = tempfile.mkdtemp(prefix="ifan-bench-inductor-")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)


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


def onnx_case(
    model: IFAN, iterations: int, one: torch.Tensor, threads: int, repeats: int, flops: int
) -> tuple[dict[str, Any], Case | None]:
    """The ONNX export's record, and its onnxruntime case at batch ``one`` (None: it failed)."""
    try:
        with tempfile.TemporaryDirectory() as folder:
            print(f"exporting to ONNX at iterations {iterations}", flush=True)
            onnx = export_onnx(model, iterations, Path(folder), threads)
        session = onnx.pop("session")
        feed = {"images": one.numpy()}

        def run_onnx() -> None:
            session.run(None, feed)

        case = Case("onnxruntime (CPU), exported model", "runtime", 1, repeats, run_onnx, flops)
        return onnx, case
    except Exception as exc:  # record, do not crash: the other numbers still stand
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}, None


def compiled_case(
    model: IFAN, iterations: int, one: torch.Tensor, repeats: int, flops: int
) -> tuple[dict[str, Any], Case | None]:
    """``torch.compile``'s record, and its case at batch ``one`` (None: it failed)."""
    print(f"torch.compile at iterations {iterations} (a cold compile)", flush=True)
    try:
        compiled = compile_model(model, iterations, one)
        call = compiled.pop("call")

        def run_compiled() -> None:
            call(one)

        print(f"  compiled in {compiled['seconds_compile']:.1f} s", flush=True)
        case = Case("torch.compile, exported model", "runtime", 1, repeats, run_compiled, flops)
        return compiled, case
    except Exception as exc:
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}, None
