"""The GPU check (``python -m bench.gpu_check``, run by ``bench/gpu_check.sh``): CUDA tests,
training speed in bf16 on prepared data, and predict on the device against the CPU; writes
``gpu.md`` and ``gpu.json`` to ``--out``.

A GPU run compares its training speed with the committed CPU baseline
(``bench/results/gpu-check-cpu.json``, written by ``--device cpu``) when both timed the same
manifest settings: the SHA-256 of the settings (comments aside) is kept in each result, so a
baseline left behind by a changed recipe is reported as such rather than compared.

Training speed: ``examples/faces3-cpu.toml`` on synthetic faces laid out like MTFL, FASSEG and
FER2013 (``ifan_tasks.synthetic --layout real``), stage 2 only, with prepared splits; two runs of
``SHORT`` and ``LONG`` alternating rounds, so that the difference of their times is the time of
``LONG - SHORT`` rounds without start-up, preparation and validation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from bench.lib import environment, options
from bench.lib.paths import ROOT
from bench.lib.results import write_results
from bench.reports import gpu_check as report

MANIFEST = ROOT / "examples" / "faces3-cpu.toml"
FACES3 = ROOT / "plugins" / "ifan-model-faces3" / "src" / "ifan_model_faces3" / "faces3.safetensors"
"""The shipped model: predictions are compared on it (a barely trained network's outputs are too
wild for a bf16 tolerance to mean anything)."""
CPU_BASELINE = ROOT / "bench" / "results" / "gpu-check-cpu.json"
SHORT, LONG = 20, 220
FIXED = {"pretrain_epochs": 0, "finetune_epochs": 1, "bf16": True, "checkpoint_every": 0}
"""``[train]`` keys the check sets itself, whatever the manifest says: stage 2 only, one epoch of
the rounds timed, bfloat16 on every device (a GPU's speed is what is asked), no checkpoints."""
TOLERANCE = {"float32": 1e-3, "bf16": 0.05}
"""Largest difference of a task's prediction from the CPU's float32 one, relative to the largest
magnitude of that prediction (bf16 keeps 8 bits of mantissa through some 50 layers)."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The device, the rounds timed and where the results go."""
    parser = options.parser(__doc__)
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (the baseline)")
    options.add_out(parser, Path(os.environ.get("OUT", "build/gpu")), "where gpu.{md,json} go")
    parser.add_argument("--rounds", type=int, default=LONG, help=f"rounds timed (default {LONG})")
    return parser.parse_args(argv)


def cuda_tests(device: str) -> dict:
    """The suite's CUDA tests (``pytest -m cuda``) on a GPU: their exit, summary and time."""
    if device != "cuda":
        return {"skipped": "not on a GPU"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "cuda", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    return {"exit": done.returncode, "summary": last, "seconds": time.perf_counter() - start}


def train(data: Path, out: Path, rounds: int, device: str) -> float:
    """Seconds of one ``ifan train`` of ``rounds`` alternating rounds (stage 2 only)."""
    settings = {
        "tasks.parsing.data.train": data / "fasseg" / "V2" / "Train_RGB",
        "tasks.landmarks.data.train": data / "mtfl" / "training.txt",
        "tasks.emotion.data.train": data / "fer2013" / "train",
        "tasks.emotion.data.val": data / "fer2013" / "test",
        "train.finetune_rounds": rounds,
        "train.device": device,
    }
    args = [sys.executable, "-m", "ifan", "train", str(MANIFEST), "--out", str(out), "--quiet"]
    args += [f"--set={key}={value}" for key, value in settings.items()]
    args += [f"--set=train.{key}={json.dumps(value)}" for key, value in FIXED.items()]
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def training_speed(work: Path, device: str, rounds: int) -> dict:
    """Seconds per alternating round on prepared synthetic faces laid out like the real data:
    the difference of a run of ``SHORT`` and one of ``SHORT + rounds`` rounds."""
    from ifan.manifest import load_manifest
    from ifan_tasks.synthetic.real_layout import write_real_layout

    data = work / "data"
    write_real_layout(data, seed=0, size=128, scale=4.0, overwrite=True)
    train(data, work / "warm", SHORT, device)  # prepares the splits (cached for the timed runs)
    short = train(data, work / "short", SHORT, device)
    long = train(data, work / "long", SHORT + rounds, device)
    manifest = load_manifest(MANIFEST, [])
    images = sum(config.batch_size for config in manifest.tasks.values())
    per_round = (long - short) / rounds
    return {
        "rounds": rounds,
        "seconds_per_round": per_round,
        "images_per_round": images,
        "images_per_second": images / per_round,
        "run": str(work / "long"),
    }


def predict_agreement(run: Path, device: str) -> dict:
    """``predict_all`` of ``run`` on ``device`` in float32 and bf16 against the CPU's float32:
    the largest difference relative to each output's magnitude, and its tolerance."""
    from ifan.inference import load

    cpu = load(run, device="cpu")
    size = cpu.model.config.input_size  # the model's own: faces3 is 96, the recipe's runs 64
    images = torch.rand(8, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = cpu.model.predict_all(images)
    out = {}
    for name, bf16 in (("float32", False), ("bf16", True)):
        other = load(run, device=device, bf16=bf16)
        with torch.no_grad(), other.precision():
            predicted = other.model.predict_all(images.to(other.device))
        gap = max(
            float(
                (predicted[task].float().cpu() - reference[task].float()).abs().max()
                / reference[task].float().abs().max().clamp_min(1e-6)
            )
            for task in reference
        )
        tolerance = TOLERANCE[name]
        out[name] = {"largest_difference": gap, "tolerance": tolerance, "within": gap <= tolerance}
    return out


def manifest_digest() -> str:
    """SHA-256 of the settings the check trains with: the manifest's (its TOML parsed, so
    comments do not count) with :data:`FIXED` set over them, so a change to a key the check sets
    itself (the recipe's ``bf16 = "auto"``) times the same. Two results with the same digest timed
    the same recipe."""
    from ifan.manifest.document import read_document

    settings = read_document(MANIFEST).data
    settings["train"] = {**settings.get("train", {}), **FIXED}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def against_baseline(result: dict, baseline: Path = CPU_BASELINE) -> dict:
    """This run's training speed as a multiple of the CPU baseline's, or why it is not compared
    (no baseline, or one that timed another version of the manifest)."""
    shown = os.path.relpath(baseline, ROOT)
    if not baseline.is_file():
        return {"not_compared": f"no CPU baseline at {shown}"}
    cpu = json.loads(baseline.read_text(encoding="utf-8"))
    if cpu.get("manifest_sha256") != result["manifest_sha256"]:
        return {
            "not_compared": f"{shown} timed another version of "
            f"{MANIFEST.relative_to(ROOT)}: rerun it with --device cpu"
        }
    cpu_speed = cpu["training"]["images_per_second"]
    return {
        "cpu_name": cpu["device_name"],
        "cpu_images_per_second": cpu_speed,
        "times_the_cpu": result["training"]["images_per_second"] / cpu_speed,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the check and write its results; 1 when a test failed or a prediction is outside its
    tolerance, 2 without a GPU."""
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no GPU here (torch.cuda.is_available() is False): use --device cpu", file=sys.stderr)
        return 2
    args.out = args.out.resolve()  # data paths given with --set are read relative to the manifest
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    name = torch.cuda.get_device_name() if args.device == "cuda" else environment.cpu_model()
    result = {
        "device": args.device,
        "device_name": name,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "manifest_sha256": manifest_digest(),
        "cuda_tests": cuda_tests(args.device),
        "training": training_speed(args.out / "work", args.device, args.rounds),
    }
    if args.device == "cuda":
        result["against_cpu"] = against_baseline(result)
    compared = FACES3 if FACES3.is_file() else Path(result["training"]["run"])
    result["predict"] = predict_agreement(compared, args.device)
    result["predict_model"] = str(compared.relative_to(ROOT) if compared == FACES3 else compared)
    result["seconds"] = time.perf_counter() - started
    write_results(args.out, "gpu", result, report)
    print(report.markdown(result))
    ok = all(p["within"] for p in result["predict"].values())
    return 0 if ok and result["cuda_tests"].get("exit", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
