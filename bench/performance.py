"""Where training and inference spend their time, and each performance change as a before/after
ratio measured in one run.

Profiles a training update and ``predict_all`` (the operators taking the most time), then times,
interleaved (every repetition runs every variant once, in a fresh random order):

- training updates of ``examples/real-3task.toml`` on the real datasets, on batches read once
  and replayed from memory (so only the model's cost is timed): a pre-training update of each
  task, and an alternating-stage update of landmarks with two interaction iterations, in
  float32 with the classic NCHW layout (before), with channels-last (``train.channels_last``,
  now the default), in bfloat16 autocast (``train.bf16``) and with both;
- ``predict_all`` of the 3-task model (``examples/faces3.toml``, random weights, two iterations)
  at batch 1 and ``--batch``: NCHW (before), channels-last (what ``ifan.inference.load`` now
  does), channels-last in bfloat16 autocast, and the alternative of stacking the T task-specific
  batch-norm passes into one pass of T x B images (measured by its cost: one channels-last pass
  of the stacked batch, an upper bound on what it could gain, to compare with channels-last);
- FASSEG's label colours to classes, the costliest step of reading a parsing sample: the
  previous implementation (``np.unique`` over every pixel, kept here as the baseline and checked
  to give the same classes) against the current one (a binary search in the class colours).

Writes ``bench/results/performance.json`` and ``bench/results/performance.md``.

    .venv/bin/python -m bench.performance
    .venv/bin/python -m bench.performance --repeats 1 --input-size 32 --batch 2 --out /tmp/bench
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.profiling import top_operators
from bench.lib.realdata import begin, real_data_settings
from bench.lib.replay import replay_batches
from bench.lib.results import header, write_results
from bench.lib.timing import interleaved_groups
from bench.reports import performance as report
from ifan.manifest import load_manifest
from ifan.network.model import build_model
from ifan.training.scheduler import Update
from ifan.training.trainer import Trainer

REAL_3TASK = ROOT / "examples" / "real-3task.toml"
TRAINING = {  # variant -> (channels_last, bf16)
    "NCHW, float32 (before)": (False, False),
    "channels-last (default now)": (True, False),
    "NCHW, bf16": (False, True),
    "channels-last, bf16": (True, True),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The data, the sizes, the repetitions, the threads and where the results go."""
    parser = options.parser(__doc__)
    options.add_data(parser)
    parser.add_argument(
        "--input-size",
        type=int,
        default=64,
        help="training input side (64); inference uses faces3.toml's 128",
    )
    parser.add_argument("--batch", type=int, default=8, help="inference throughput batch (8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per variant (3)")
    options.add_threads(parser, 1, "torch threads (1)")
    options.add_out(parser)
    options.add_report_only(parser, "measure nothing: rewrite the report from OUT/performance.json")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# training


def training_cases(args: argparse.Namespace, folder: Path) -> tuple[dict, dict]:
    """Timed calls per (update kind, variant), and the profile of an update."""
    data = real_data_settings(args.data)
    base = [f"model.input_size={args.input_size}", "model.iterations=2", *data]
    source = Trainer(load_manifest(REAL_3TASK, base), folder / "src",
                     progress_bars=False)  # fmt: skip
    cases: dict[str, dict[str, Callable[[], Any]]] = {}
    for variant, (channels_last, bf16) in TRAINING.items():
        overrides = [*base, f"train.channels_last={channels_last}", f"train.bf16={bf16}"]
        run = Trainer(
            load_manifest(REAL_3TASK, overrides),
            folder / variant.replace(" ", "_"),
            progress_bars=False,
        )
        replay_batches(run, source, 2)
        run._start_finetuning()
        for task in run.names:
            cases.setdefault(f"pre-training update, {task}", {})[variant] = (
                lambda run=run, task=task: run.step(Update(1, task, 1, False))
            )
        cases.setdefault("alternating update, landmarks, 2 iterations", {})[variant] = (
            lambda run=run: run.step(Update(2, "landmarks", 1, False))
        )
    profile_run = cases["alternating update, landmarks, 2 iterations"]
    profiles = {
        "training update (alternating, landmarks), NCHW float32": top_operators(
            profile_run["NCHW, float32 (before)"]
        )
    }
    return cases, profiles


# ---------------------------------------------------------------------------------------------
# inference


def inference_cases(args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """Timed calls of ``predict_all`` per batch and variant, the profile of one, and how far
    channels-last and bf16 move its outputs."""
    manifest = load_manifest(ROOT / "examples" / "faces3.toml", ["model.iterations=2"])
    torch.manual_seed(0)
    nchw = build_model(manifest).eval()
    channels_last = build_model(manifest).eval().to(memory_format=torch.channels_last)
    channels_last.load_state_dict(nchw.state_dict())
    tasks = len(nchw.task_names)
    size = manifest.model.input_size
    cases: dict[str, dict[str, Callable[[], Any]]] = {}
    differences: dict[str, float] = {}
    for batch in (1, args.batch):
        images = torch.rand(batch, 3, size, size)
        stacked = torch.rand(batch * tasks, 3, size, size)

        @torch.inference_mode()
        def run(model=nchw, x=images, bf16=False):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return model.predict_all(x)

        @torch.inference_mode()
        def one_pass(x=stacked):
            return channels_last(x, task=channels_last.task_names[0])

        cases[f"predict_all, batch {batch}"] = {
            "NCHW (before)": run,
            "channels-last (default now)": lambda x=images: run(channels_last, x),
            "channels-last, bf16": lambda x=images: run(channels_last, x, True),
            f"stacked: one pass of {tasks} x {batch} images": one_pass,
        }
        if batch == 1:
            reference = run()
            others = {
                "channels-last": run(channels_last, images),
                "channels-last, bf16": run(channels_last, images, True),
            }
            for name, other in others.items():
                differences[name] = max(
                    float((reference[t].float() - other[t].float()).abs().max()) for t in reference
                )
    profiles = {
        "predict_all, batch 1, NCHW": top_operators(cases["predict_all, batch 1"]["NCHW (before)"])
    }
    return cases, profiles, differences


# ---------------------------------------------------------------------------------------------
# data


def unique_colours_to_classes(rgb: np.ndarray) -> np.ndarray:
    """The previous FASSEG colour mapping (until this benchmark): nearest class per distinct
    colour, through ``np.unique`` over every pixel."""
    from ifan_tasks.parsing.fasseg import COLOURS

    codes = rgb.reshape(-1, 3).astype(np.int32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.int32)
    distinct, inverse = np.unique(codes, return_inverse=True)
    colours = np.stack([distinct >> 16, (distinct >> 8) & 255, distinct & 255], axis=1)
    distances = ((colours[:, None, :] - COLOURS[None]) ** 2).sum(axis=2)
    return distances.argmin(axis=1).astype(np.uint8)[inverse].reshape(rgb.shape[:2])


def data_cases(args: argparse.Namespace) -> tuple[dict, dict]:
    """Timed calls of FASSEG's label colours to classes, before and now (checked to agree)."""
    from PIL import Image

    from ifan_tasks.parsing.fasseg import colours_to_classes

    folder = args.data / "fasseg" / "V2" / "Train_Labels"
    labels = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]
    same = all((unique_colours_to_classes(x) == colours_to_classes(x)).all() for x in labels)
    if not same:
        raise SystemExit("the two colour mappings disagree: the benchmark's baseline is stale")
    cases = {
        f"FASSEG V2 labels to classes, {len(labels)} images": {
            "np.unique (before)": lambda: [unique_colours_to_classes(x) for x in labels],
            "binary search (now)": lambda: [colours_to_classes(x) for x in labels],
        }
    }
    info = {"images": len(labels), "pixels": int(sum(x.shape[0] * x.shape[1] for x in labels)),
            "same_classes": same}  # fmt: skip
    return cases, info


def main(argv: list[str] | None = None) -> int:
    """Profile and time every change and write the results (or, with ``--report-only``, only
    the report)."""
    args = parse_args(argv)
    if (begun := begin(args, "performance", report)) is None:
        return 0
    start, folder = begun
    train, train_profiles = training_cases(args, folder)
    infer, infer_profiles, differences = inference_cases(args)
    data, data_info = data_cases(args)
    groups = interleaved_groups({**train, **infer, **data}, args.repeats, start)
    result = {
        **header(args.threads),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "seconds_per_call": groups,
        "profiles": {**train_profiles, **infer_profiles},
        "bf16_and_layout_max_difference": differences,
        "data": data_info,
        "seconds": round(time.perf_counter() - start, 1),
    }
    write_results(args.out, "performance", result, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
