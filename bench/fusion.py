"""Features across tasks on real data (Li and Zhu, "Learning and Fusing Multimodal Features from
and for Multi-task Facial Computing"): four single-task models, identity on LFW and age, gender
and race on UTKFace, and one integrated model of the four trained across the two datasets; the
probe matrix of each (``ifan probe``: every target's head trained on each source's frozen
features, its own and all of them fused); every model's own test scores; the paper's claims
beside ours.

Every model is ``ifan train examples/fusion.toml`` changed by ``--tasks`` and ``--set`` only (a
single-task model: ``--tasks T --set model.iterations=0``; the integrated one: all four tasks,
the manifest's one iteration), scored by ``ifan eval --split test``; the matrices are two
``ifan probe`` commands. The report lists each command, so any run can be redone by hand.

Test splits, the same for every model and every row: LFW holds out 3 photos of each person
(``test_per_person``; 2 more form val), UTKFace's ``crop_part1`` is carved by file, a file going to
test when the SHA-256 of its name falls in the first 15 % (:func:`carve`), into folders of
symbolic links in ``WORK/utkface/{train,test}`` that age, gender and race read.

The tasks come from the plugins in ``plugins/`` (``ifan-task-age``, ``ifan-task-people``), which
are installed into a folder of their own, ``build/bench-fusion/site`` (again when their sources
change), never into the project's environment; every ``ifan`` command runs with that folder on
``PYTHONPATH``, where ifan finds their entry points.

Scales (``--scale``):

- ``quick``: the plumbing, in 2 to 3 minutes: 320 training faces a task, two epochs of each
  stage (a few dozen updates), small validation splits, 150 UTKFace test files, 1 LFW test photo
  a person, 5-epoch heads. Writes its report under ``WORK`` (not ``bench/results``): its numbers
  mean nothing.
- ``full``: every task trains ``PRETRAIN`` (8) stage-1 epochs and ``FINETUNE`` x ``ROUNDS`` (6 x
  300) stage-2 updates in every model, the single-task models as many as the integrated one, on
  all the data; heads train 30 epochs. Sized from updates measured with one thread on this
  project's 2-core machine while two other trainings ran on it (idle, expect about a quarter
  less): a stage-1 update of any task, and a single-task model's stage-2 update, 0.23 s; a
  stage-2 round of the integrated model (an update of each task, two backbone passes each)
  1.7 s. An epoch is 42 updates of identity (2,670 LFW photos in batches of 64) and 93 of age,
  gender and race (5,970 UTKFace faces). So: the single-task models about 38 minutes (identity
  8, the others 10 each), the integrated model about 60 (10 of stage 1, 51 of stage 2), the
  two matrices about 10 (features of about 106,000 faces by the single-task models and 26,500 by
  each task of the integrated one, 2 to 10 ms a face, and 40 heads) and the validations,
  evaluations and the first preparation of the faces about 5: about 2 hours in all. Training
  time grows with the updates, ``PRETRAIN`` x (42 + 3 x 93) x 2 (single and integrated) x
  0.23 s + ``FINETUNE`` x ``ROUNDS`` x (4 x 0.23 + 1.7) s; the matrices with the faces.

Resumable, like ``bench/reproduce.py``: a model lives in ``WORK/<scale>/<name>/`` with the
settings it was trained with (``recipe.json``); a finished step (training, its evaluation, a
matrix) is not redone, a stopped training continues from its last checkpoint (``ifan train
--resume``), a matrix reuses the features already extracted
(``WORK/<scale>/features/<matrix>``; a model trained again makes its scores and matrix stale,
and they are redone), and a folder of other settings stops the script instead of being mixed in.
Kill it and run the same command again.

    .venv/bin/python bench/fusion.py --scale quick --threads 1   # the plumbing, minutes
    .venv/bin/python bench/fusion.py                              # full: about 2 hours
    .venv/bin/python bench/fusion.py --report-only                # the report from what is done
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import machine, provenance, table, versions, write_results  # noqa: E402

MANIFEST = ROOT / "examples" / "fusion.toml"
SITE = ROOT / "build" / "bench-fusion" / "site"
PLUGINS = ("ifan-task-age", "ifan-task-people")
TASKS = ("identity", "age", "gender", "race")
MAIN = {"identity": "accuracy", "age": "mae", "gender": "accuracy", "race": "accuracy"}
"""Each task's main metric (its plugin's): a fraction, higher is better, but age's MAE in years."""
LOWER_IS_BETTER = {"mae"}
TEST_FRACTION = 0.15
"""The share of UTKFace's files carved out as its test split."""
VAL_FRACTION = 0.1
"""UTKFace's validation share of its training files (the manifest's)."""
VAL_PER_PERSON, TEST_PER_PERSON = 2, 3
"""LFW's photos held out of each person's for val and test (the manifest's)."""
OWN, FUSED = "own", "fused"


@dataclass(frozen=True)
class Model:
    """One training: which tasks, and what differs from the integrated model."""

    name: str
    tasks: tuple[str, ...]
    settings: tuple[str, ...] = ()


MODELS = (
    *(Model(f"single-{task}", (task,), ("model.iterations=0",)) for task in TASKS),
    Model("integrated", TASKS),
)
MATRICES = {"single": [f"single-{task}" for task in TASKS], "integrated": ["integrated"]}
"""Each matrix's source models: the four single-task models, or the integrated one."""


@dataclass(frozen=True)
class Scale:
    """How big the runs are: the schedule every model shares, and the faces."""

    schedule: tuple[str, ...]
    train_samples: int | None = None
    """Training faces a task (None: all)."""
    val_fraction: float = VAL_FRACTION
    """UTKFace's validation share, carved out of its training files."""
    val_per_person: int = VAL_PER_PERSON
    test_per_person: int = TEST_PER_PERSON
    test_files: int | None = None
    """UTKFace test files kept of the carved test split (None: all)."""
    probe_epochs: int = 30


# The full scale, sized from one-thread updates measured on this project's machine while two
# other trainings shared its 2 cores (see the module docstring).
PRETRAIN, FINETUNE, ROUNDS = 8, 6, 300
SCALES = {
    "quick": Scale(
        ("train.pretrain_epochs=2", "train.finetune_epochs=2", "train.finetune_rounds=5"),
        train_samples=320,
        val_fraction=0.02,
        val_per_person=1,
        test_per_person=1,
        test_files=150,
        probe_epochs=5,
    ),
    "full": Scale(
        (f"train.pretrain_epochs={PRETRAIN}", f"train.finetune_epochs={FINETUNE}",
         f"train.finetune_rounds={ROUNDS}"),
    ),
}  # fmt: skip

# The paper's claims (its abstract and summary, ../shared/seeds/multitask-fusion-summary.txt):
# fusion's gain in accuracy per task, in % (it does not say whether relative or in points; its age
# task classifies age groups, ours regresses years, scored by MAE).
PAPER_FUSION_GAIN = {"identity": 7.2, "age": 20.1, "race": 21.0, "gender": 21.0}
PAPER_OVER = {"race", "gender"}
"""Tasks whose gain the paper gives as "over" its number."""
PAPER_CLAIMS = {
    "transfer": "features trained for one task can be used for other related tasks",
    "id-on-race": "features of a task with more classes (ID) used for race outperform race's own",
    "fusion": "fusion improves ID accuracy by 7.2 %, age by 20.1 %, race and gender by over 21 %",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="a folder holding lfw/ and utkface/crop_part1/, laid out like ../shared/data",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build" / "bench-fusion",
        help="runs, features and scores, in WORK/<scale>/ (resumable)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="where fusion.{json,md} go (default: bench/results at the full scale, "
        "WORK/<scale>/results otherwise)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="torch threads of every ifan command (0: torch's default)",
    )
    parser.add_argument(
        "--head",
        choices=("linear", "mlp"),
        default="linear",
        help="the probe heads (ifan probe --head)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: write the report from what WORK holds",
    )
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# the plugins, in a folder of their own


def plugin_digest() -> str:
    """A hash of the plugins' sources (pyproject.toml and src/): what the installed copy in
    ``SITE`` must have been made from."""
    digest = hashlib.sha256()
    for plugin in PLUGINS:
        folder = ROOT / "plugins" / plugin
        files = [folder / "pyproject.toml", *sorted((folder / "src").rglob("*.py"))]
        for path in files:
            digest.update(f"{path.relative_to(ROOT)}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def install_plugins(site: Path) -> None:
    """Install the plugins into ``site`` (``pip install --no-deps --target``), unless the copy
    there was made from the same sources: the project's environment never sees them."""
    stamp = site / "ifan-bench-plugins.sha256"
    wanted = plugin_digest()
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    print(f"installing {', '.join(PLUGINS)} into {shown_path(site)}", flush=True)
    if site.exists():
        shutil.rmtree(site)
    site.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
               "--no-build-isolation", "--target", str(site),
               *(str(ROOT / "plugins" / p) for p in PLUGINS)]  # fmt: skip
    if subprocess.call(command) != 0:
        raise SystemExit(f"installing the plugins failed: {shlex.join(command)}")
    stamp.write_text(wanted + "\n")


def plugin_versions(site: Path) -> dict[str, str]:
    """The plugins' versions as installed in ``site``."""
    from importlib.metadata import distributions

    found = {d.metadata["Name"]: d.version for d in distributions(path=[str(site)])}
    return {name: found[name] for name in PLUGINS if name in found}


def environment(site: Path, threads: int) -> dict[str, str]:
    """The environment of every ``ifan`` command: the plugins' folder first on PYTHONPATH."""
    env = {**os.environ, "TQDM_DISABLE": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH")) if p)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


# ---------------------------------------------------------------------------------------------
# UTKFace's test split, carved by file


def unit_hash(name: str) -> float:
    """A number in [0, 1) drawn from a file name alone (SHA-256), so a file's split does not
    depend on which other files there are."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:12], 16) / 16**12


def carve(names: list[str], fraction: float, limit: int | None) -> tuple[list[str], list[str]]:
    """``(train, test)`` of file ``names``: test is every name whose :func:`unit_hash` is below
    ``fraction``, at most the ``limit`` of them with the smallest (a quick scale's subset of the
    full test split); train is every other name, so it never holds a test file of any scale."""
    held = sorted((n for n in names if unit_hash(n) < fraction), key=unit_hash)
    test = sorted(held[:limit] if limit is not None else held)
    train = sorted(set(names) - set(held))
    return train, test


def utkface_split(data: Path, scale: Scale) -> dict[str, Any]:
    """The carving of ``crop_part1``: its train and test file names and a digest of them."""
    from ifan.data.utkface import utkface_images

    source = data / "utkface" / "crop_part1"
    train, test = carve([p.name for p in utkface_images(source)], TEST_FRACTION, scale.test_files)
    digest = hashlib.sha256("\n".join(["train", *train, "test", *test]).encode()).hexdigest()
    return {"source": str(source.resolve()), "train": train, "test": test, "digest": digest[:16]}


def make_utkface_folders(split: dict[str, Any], folder: Path) -> dict[str, Path]:
    """Folders of symbolic links to the carved files, ``folder/train`` and ``folder/test``
    (made again only when the carving changed); the two folders, by split name."""
    record = folder / "carving.json"
    summary = {"source": split["source"], "digest": split["digest"]}
    paths = {name: folder / name for name in ("train", "test")}
    if record.exists() and json.loads(record.read_text()) == summary:
        return paths
    if folder.exists():
        shutil.rmtree(folder)
    for name, path in paths.items():
        path.mkdir(parents=True)
        for file in split[name]:
            (path / file).symlink_to(Path(split["source"]) / file)
    record.write_text(json.dumps(summary))
    return paths


# ---------------------------------------------------------------------------------------------
# the commands


def shown_path(path: Path | str) -> str:
    """A path as the report shows it: relative to the repository root when inside it."""
    text = str(path)
    prefix = str(ROOT) + os.sep
    return text[len(prefix) :] if text.startswith(prefix) else text


def shown_command(arguments: list[str]) -> str:
    """An ``ifan`` command as a reader runs it from the repository root, the plugins' folder on
    ``PYTHONPATH``."""
    inside = str(ROOT) + os.sep
    words = ["ifan", *(a.replace(inside, "") for a in arguments)]
    return f"PYTHONPATH={shown_path(SITE)} {shlex.join(words)}"


def recipe(model: Model, scale: Scale, carving: str) -> dict[str, Any]:
    """What a model is trained with, but for the data's paths (which may move): its tasks, its
    ``--set`` values and the UTKFace carving's digest. Recorded as ``recipe.json``."""
    settings = [*scale.schedule, *model.settings]
    for task in model.tasks:
        if scale.train_samples is not None:
            settings.append(f"tasks.{task}.data.train_samples={scale.train_samples}")
        if task == "identity":
            for key, default in (("val_per_person", VAL_PER_PERSON),
                                 ("test_per_person", TEST_PER_PERSON)):  # fmt: skip
                if getattr(scale, key) != default:
                    settings.append(f"tasks.identity.data.{key}={getattr(scale, key)}")
        elif scale.val_fraction != VAL_FRACTION:
            settings.append(f"tasks.{task}.data.val_fraction={scale.val_fraction:g}")
    return {"tasks": list(model.tasks), "settings": settings, "utkface": carving}


def data_settings(model: Model, data: Path, utkface: dict[str, Path]) -> list[str]:
    """The ``--set`` values pointing the model's tasks at the data: LFW as it is, UTKFace's
    carved folders."""
    out = []
    for task in model.tasks:
        if task == "identity":
            lfw = (data / "lfw").resolve()
            keys = ("people", "train", "val", "test")
            out += [f"tasks.identity.data.{key}={lfw}" for key in keys]
        else:
            out += [f"tasks.{task}.data.{split}={utkface[split].resolve()}"
                    for split in ("train", "test")]  # fmt: skip
    return out


def train_command(model: Model, expected: dict[str, Any], paths: list[str], out: Path) -> list:
    """The ``ifan`` arguments that train ``model`` into ``out``."""
    settings = [f"--set={s}" for s in [*expected["settings"], *paths]]
    return ["train", str(MANIFEST), "--tasks", ",".join(model.tasks), *settings, "--out", str(out),
            "--quiet"]  # fmt: skip


def ifan(arguments: list[str], env: dict[str, str], log: Path) -> float:
    """Run ``ifan ARGUMENTS`` with its output appended to ``log``; the seconds it took. Stops the
    script when it fails."""
    start = time.perf_counter()
    with log.open("a") as out:
        out.write(f"$ {shown_command(arguments)}\n")
        out.flush()
        code = subprocess.call(
            [sys.executable, "-m", "ifan", *arguments],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
    if code != 0:
        raise SystemExit(f"`{shown_command(arguments)}` failed (exit {code}); see {log}")
    return time.perf_counter() - start


def threads_option(threads: int) -> list[str]:
    return ["--threads", str(threads)] if threads else []


def check_recipe(folder: Path, expected: dict[str, Any]) -> None:
    """Stop when ``folder`` holds a run of other settings: it must not stand for this one."""
    recorded = folder / "recipe.json"
    if recorded.exists() and json.loads(recorded.read_text()) != expected:
        raise SystemExit(
            f"{folder} holds a run of other settings than {expected} (its recipe.json): move it "
            "away, or give another --work"
        )
    if not recorded.exists() and (folder / "run").exists():
        raise SystemExit(f"{folder}/run exists without a recipe.json: move it away")


def run_model(model: Model, args: argparse.Namespace, context: dict[str, Any]) -> bool:
    """Train (or resume) ``model`` and score it on its test splits; steps done are skipped.
    Whether it trained."""
    folder = context["work"] / model.name
    expected = recipe(model, context["scale"], context["carving"]["digest"])
    check_recipe(folder, expected)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "recipe.json").write_text(json.dumps(expected))
    out, log, timing = folder / "run", folder / "log.txt", folder / "timing.json"
    seconds = json.loads(timing.read_text()) if timing.exists() else {}
    command = train_command(model, expected, data_settings(model, args.data, context["utkface"]),
                            out)  # fmt: skip
    (folder / "command.txt").write_text(shown_command(command) + "\n")
    if "train" not in seconds:
        resuming = (out / "checkpoints").is_dir() and any((out / "checkpoints").iterdir())
        running = ["train", "--resume", str(out), "--quiet"] if resuming else command
        print(f"  {model.name}: {'resuming' if resuming else 'training'} (log: "
              f"{shown_path(log)})", flush=True)  # fmt: skip
        seconds["train"] = ifan(running + threads_option(args.threads), context["env"], log)
        seconds["resumed"] = resuming  # then "train" is the time of the last part only
        timing.write_text(json.dumps(seconds))
        trained = True
    else:
        trained = False
    scores = folder / "test.json"
    if trained:  # the scores of weights since retrained are stale
        scores.unlink(missing_ok=True)
    if not scores.exists():
        print(f"  {model.name}: scoring the test splits", flush=True)
        evaluate = ["eval", str(out), "--split", "test", "--json", str(scores)]
        seconds["eval"] = ifan(evaluate, context["env"], log)
        timing.write_text(json.dumps(seconds))
    return trained


def latest_checkpoint(run: Path) -> str | None:
    """The name of a run's newest step checkpoint."""
    found = sorted((run / "checkpoints").glob("step-*.safetensors"))
    return found[-1].name if found else None


def probe_command(kind: str, work: Path, head: str, epochs: int, out: Path) -> list[str]:
    """The ``ifan probe`` arguments of one matrix: every task of its models as a source, and as
    a target with its own run."""
    runs = {task: work / (f"single-{task}" if kind == "single" else "integrated") / "run"
            for task in TASKS}  # fmt: skip
    command = ["probe"]
    for task in TASKS:
        command += ["--target", f"{runs[task]}:{task}"]
    for task in TASKS:
        command += ["--source", f"{runs[task]}:{task}"]
    return [*command, "--head", head, "--epochs", str(epochs), "--seed", "0",
            "--cache", str(work / "features" / kind), "--json", str(out)]  # fmt: skip


def run_probe(kind: str, args: argparse.Namespace, context: dict[str, Any]) -> None:
    """The matrix of ``kind`` (``single`` or ``integrated``), unless done with these runs."""
    work, scale = context["work"], context["scale"]
    folder = work / f"probe-{kind}"
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / "probe.json"
    command = probe_command(kind, work, args.head, scale.probe_epochs, result)
    expected = {
        "command": shown_command(command),
        "checkpoints": {n: latest_checkpoint(work / n / "run") for n in MATRICES[kind]},
    }
    recorded = folder / "recipe.json"
    if result.exists() and recorded.exists() and json.loads(recorded.read_text()) == expected:
        return
    result.unlink(missing_ok=True)
    recorded.write_text(json.dumps(expected))
    (folder / "command.txt").write_text(expected["command"] + "\n")
    log = folder / "log.txt"
    print(f"  probe {kind}: the matrix (log: {shown_path(log)})", flush=True)
    before = log.stat().st_size if log.exists() else 0
    seconds = ifan(command, context["env"], log)
    (folder / "timing.json").write_text(json.dumps({"probe": seconds}))
    with log.open("rb") as file:  # what this command printed: its matrix
        file.seek(before)
        printed = file.read().decode(errors="replace").split("\n", 1)[-1]
    print("\n".join("    " + line for line in printed.strip().splitlines()), flush=True)


# ---------------------------------------------------------------------------------------------
# what no model scores


def no_model(data: Path, carving: dict[str, Any], scale: Scale) -> dict[str, Any]:
    """Each task's floor on its test split, what a head that tells no faces apart scores: the
    share of the commonest class (identity: one person's share), and for age the MAE of the
    training faces' median age."""
    from ifan.data.errors import DatasetError
    from ifan.data.images import IMAGE_SUFFIXES
    from ifan.data.utkface import parse_utkface_name

    def labels(names: list[str]) -> list[Any]:
        out = []
        for name in names:
            with contextlib.suppress(DatasetError):  # the malformed names the readers skip
                out.append(parse_utkface_name(Path(name)))
        return out

    train, test = labels(carving["train"]), labels(carving["test"])
    median = statistics.median(face.age for face in train)
    floors: dict[str, Any] = {
        "age": {"value": statistics.fmean(abs(f.age - median) for f in test),
                "what": f"every face the training median, {median:g} years"},
    }  # fmt: skip
    for task in ("gender", "race"):
        counts: dict[int, int] = {}
        for face in test:
            counts[getattr(face, task)] = counts.get(getattr(face, task), 0) + 1
        floors[task] = {"value": max(counts.values()) / len(test), "what": "the commonest class"}
    photos = [
        sum(1 for p in person.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        for person in (data / "lfw").iterdir()
        if person.is_dir()
    ]
    held = sum(1 for n in photos if n > scale.val_per_person + scale.test_per_person)
    floors["identity"] = {"value": 1 / held, "what": f"one of the {held} people in test"}
    return floors


# ---------------------------------------------------------------------------------------------
# the numbers


def row_name(row: str) -> str:
    """A probe row as the report names it: the source's task (``own`` and ``fused`` as they
    are)."""
    return row.rsplit(":", 1)[-1] if ":" in row else row


def read_matrix(path: Path) -> dict[str, Any] | None:
    """A probe's JSON with its rows named by task: per target its metric, faces and the main
    value and every value of each row."""
    if not path.exists():
        return None
    raw = json.loads(path.read_text())
    targets = {}
    for target in raw["targets"].values():
        targets[target["task"]] = {
            "metric": target["metric"],
            "higher_is_better": target["higher_is_better"],
            "unit": target["unit"],
            "samples": target["samples"],
            "scores": {row_name(r): v for r, v in target["scores"].items()},
            "values": {row_name(r): v for r, v in target["values"].items()},
            "dims": {row_name(r): v for r, v in target["dims"].items()},
        }
    return {
        "rows": [row_name(r) for r in raw["rows"]],
        "head": raw["head"],
        "options": raw["options"],
        "targets": targets,
    }


def training_speed(run: Path) -> dict[str, Any] | None:
    """A run's updates, and its seconds per update, from its ``metrics.jsonl``: in stage 1
    between the first and last epoch of each task, in stage 2 between its first and last epoch,
    per round (an update of every task); each with the validations in between."""
    from ifan.runs.history import read_history

    path = run / "metrics.jsonl"
    if not path.exists():
        return None
    records = [r for r in read_history(path) if r["kind"] == "train"]
    out: dict[str, Any] = {"updates": max((r["step"] for r in records), default=0)}
    steps, seconds = 0, 0.0
    for task in dict.fromkeys(r["task"] for r in records):
        chosen = [r for r in records if r["stage"] == 1 and r["task"] == task]
        if len(chosen) > 1:
            steps += chosen[-1]["step"] - chosen[0]["step"]
            seconds += chosen[-1]["time"] - chosen[0]["time"]
    if steps:
        out["stage_1_seconds_per_update"] = seconds / steps
    epochs = sorted({(r["epoch"], r["step"], r["time"]) for r in records if r["stage"] == 2})
    tasks = len({r["task"] for r in records})
    if len(epochs) > 1 and epochs[-1][1] > epochs[0][1]:
        per_update = (epochs[-1][2] - epochs[0][2]) / (epochs[-1][1] - epochs[0][1])
        out["stage_2_seconds_per_round"] = per_update * tasks
    return out


def collect(args: argparse.Namespace, context: dict[str, Any]) -> dict[str, Any]:
    """Everything the report shows, from what ``WORK/<scale>`` holds."""
    import torch

    work, scale = context["work"], context["scale"]
    models = {}
    for model in MODELS:
        folder = work / model.name
        expected = recipe(model, scale, context["carving"]["digest"])
        timing = folder / "timing.json"
        command = folder / "command.txt"
        scores = folder / "test.json"
        models[model.name] = {
            "tasks": list(model.tasks),
            "settings": expected["settings"],
            "command": command.read_text().strip() if command.exists() else None,
            "seconds": json.loads(timing.read_text()) if timing.exists() else {},
            "speed": training_speed(folder / "run"),
            "test": json.loads(scores.read_text()) if scores.exists() else None,
        }
    matrices = {}
    for kind in MATRICES:
        folder = work / f"probe-{kind}"
        matrix = read_matrix(folder / "probe.json")
        if matrix is not None:
            matrix["command"] = (folder / "command.txt").read_text().strip()
            timing = folder / "timing.json"
            matrix["seconds"] = json.loads(timing.read_text())["probe"] if timing.exists() else None
        matrices[kind] = matrix
    carving = context["carving"]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(args.threads or torch.get_num_threads()),
        "versions": {**versions(), **plugin_versions(SITE)},
        "settings": {
            "scale": args.scale,
            "manifest": shown_path(MANIFEST),
            "schedule": list(scale.schedule),
            "train_samples": scale.train_samples,
            "threads": args.threads,
            "head": args.head,
            "probe_epochs": scale.probe_epochs,
            "utkface": {
                "source": carving["source"],
                "val_fraction": scale.val_fraction,
                "test_fraction": TEST_FRACTION,
                "test_files": scale.test_files,
                "train": len(carving["train"]),
                "test": len(carving["test"]),
                "digest": carving["digest"],
            },
            "lfw": {
                "val_per_person": scale.val_per_person,
                "test_per_person": scale.test_per_person,
            },
        },
        "models": models,
        "matrices": matrices,
        "no_model": no_model(args.data, carving, scale),
        "paper": {
            "claims": PAPER_CLAIMS,
            "fusion_gain_percent": PAPER_FUSION_GAIN,
            "over": sorted(PAPER_OVER),
        },
    }


# ---------------------------------------------------------------------------------------------
# reading the numbers (pure: made-up results in tests/bench/test_fusion.py)


def gain(value: float, base: float, metric: str) -> float:
    """How much better ``value`` is than ``base`` on ``metric``, in its own units (positive:
    better; a lower MAE is better)."""
    return base - value if metric in LOWER_IS_BETTER else value - base


def relative(value: float, base: float, metric: str) -> float | None:
    """:func:`gain` as a fraction of ``base`` (None for a base of 0)."""
    return gain(value, base, metric) / abs(base) if base else None


def standard_error(value: float, faces: int, metric: str) -> float:
    """A score's standard error on ``faces`` test faces: binomial for an accuracy; for an MAE
    roughly the MAE over the root of the faces (absolute errors spread about as much as their
    mean)."""
    if metric in LOWER_IS_BETTER:
        return value / math.sqrt(faces)
    return math.sqrt(max(value * (1 - value), 0.0) / faces)


def beyond_noise(a: float, b: float, faces: int, metric: str) -> bool:
    """Whether two scores on the same ``faces`` differ by more than two standard errors of
    their difference (taken as independent: conservative for the same faces)."""
    spread = math.hypot(standard_error(a, faces, metric), standard_error(b, faces, metric))
    return abs(a - b) > 2 * spread


def verdict(change: float, beyond: bool) -> str:
    """A claimed improvement's verdict from the change found (positive: the claimed way)."""
    if change > 0:
        return "holds" if beyond else "same direction, within noise"
    if change < 0:
        return "does not hold: the opposite, beyond noise" if beyond else (
            "does not hold: the opposite direction, within noise"
        )  # fmt: skip
    return "does not hold: no change"


def shown(value: float | None, metric: str) -> str:
    """A score as the report shows it: a fraction in %, an MAE in years."""
    if value is None:
        return "-"
    return f"{value:.2f} y" if metric in LOWER_IS_BETTER else f"{100 * value:.1f} %"


def change_text(value: float, base: float, metric: str) -> str:
    """``+2.1 points, +3.4 %`` (accuracy), ``+0.52 y, +5.0 %`` (an MAE 0.52 years lower): the
    gain and the relative gain, positive when ``value`` is better than ``base``."""
    points = gain(value, base, metric)
    rel = relative(value, base, metric)
    text = f"{points:+.2f} y" if metric in LOWER_IS_BETTER else f"{100 * points:+.1f} points"
    return text + ("" if rel is None else f", {100 * rel:+.1f} %")


def claims(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The paper's claims checked on each matrix done: per claim and matrix, the numbers and a
    verdict."""
    out = []
    floors = r["no_model"]
    for kind, matrix in r["matrices"].items():
        if matrix is None:
            continue
        targets = matrix["targets"]
        transfer = []
        for target, t in targets.items():
            metric, faces = t["metric"], t["samples"]["test"]
            floor = floors[target]["value"]
            for source in TASKS:
                if source == target or source not in t["scores"]:
                    continue
                value = t["scores"][source]
                transfer.append({
                    "source": source, "target": target, "value": value, "floor": floor,
                    "own": t["scores"][OWN],
                    "above_floor": gain(value, floor, metric) > 0
                    and beyond_noise(value, floor, faces, metric),
                })  # fmt: skip
        helped = {
            target: [c["source"] for c in transfer if c["target"] == target and c["above_floor"]]
            for target in targets
        }
        reached = [target for target, sources in helped.items() if sources]
        if len(reached) == len(targets):
            judged = "holds"
        elif reached:
            judged = f"holds for {', '.join(reached)} only"
        else:
            judged = "does not hold"
        count = sum(len(sources) for sources in helped.values())
        each = "; ".join(f"{t} from {', '.join(found) or 'none'}" for t, found in helped.items())
        out.append({
            "claim": "transfer", "matrix": kind, "cells": transfer, "helped": helped,
            "verdict": judged,
            "summary": f"{count} of {len(transfer)} cross-task cells beat the no-model floor "
            f"beyond noise: {each}",
        })  # fmt: skip
        race = targets.get("race")
        if race is not None and "identity" in race["scores"]:
            value, own = race["scores"]["identity"], race["scores"][OWN]
            beyond = beyond_noise(value, own, race["samples"]["test"], race["metric"])
            out.append({
                "claim": "id-on-race", "matrix": kind, "value": value, "own": own,
                "verdict": verdict(gain(value, own, race["metric"]), beyond),
            })  # fmt: skip
        for target, t in targets.items():
            value, own, metric = t["scores"][FUSED], t["scores"][OWN], t["metric"]
            beyond = beyond_noise(value, own, t["samples"]["test"], metric)
            out.append({
                "claim": "fusion", "matrix": kind, "target": target, "metric": metric,
                "value": value, "own": own, "relative": relative(value, own, metric),
                "paper_percent": PAPER_FUSION_GAIN[target],
                "verdict": verdict(gain(value, own, metric), beyond),
            })  # fmt: skip
    return out


def integrated_vs_fusion(r: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """Per task, its main test score five ways: the single-task model and the integrated model
    as trained (``ifan eval``), and probe heads on the single-task model's own features, on the
    single-task models' fused features (post-hoc fusion) and on the integrated model's fused
    features."""

    def direct(name: str, task: str) -> float | None:
        test = r["models"][name]["test"]
        return None if test is None else test.get(f"{task}.{MAIN[task]}")

    def probed(kind: str, task: str, row: str) -> float | None:
        matrix = r["matrices"].get(kind)
        return None if matrix is None else matrix["targets"][task]["scores"].get(row)

    return {
        task: {
            "single": direct(f"single-{task}", task),
            "integrated": direct("integrated", task),
            "single_own_probe": probed("single", task, OWN),
            "posthoc_fusion": probed("single", task, FUSED),
            "integrated_fused_probe": probed("integrated", task, FUSED),
        }
        for task in TASKS
    }


COMPARED = {
    "single": "single-task model",
    "integrated": "integrated model",
    "single_own_probe": "probe on its own single-task features",
    "posthoc_fusion": "post-hoc fusion of the single-task models",
    "integrated_fused_probe": "probe on the integrated model's fused features",
}


def best_way(values: dict[str, float | None], metric: str) -> str | None:
    """The key of the best of ``values`` (None when none is known)."""
    known = {k: v for k, v in values.items() if v is not None}
    if not known:
        return None
    pick = min if metric in LOWER_IS_BETTER else max
    return pick(known, key=lambda k: known[k])


def scored_faces(r: dict[str, Any], task: str) -> int | None:
    """The faces of ``task``'s test split, as a matrix counted them (None before any)."""
    for matrix in r["matrices"].values():
        if matrix is not None and task in matrix["targets"]:
            return matrix["targets"][task]["samples"]["test"]
    return None


def noise_words(a: float, b: float, faces: int | None, metric: str) -> str:
    """``, beyond noise`` or ``, within noise`` (nothing when the faces are not known)."""
    if faces is None:
        return ""
    return ", beyond noise" if beyond_noise(a, b, faces, metric) else ", within noise"


def findings(r: dict[str, Any]) -> list[str]:
    """Sentences whose numbers all come from the results: each claim of the paper on each
    matrix, then the integrated model against post-hoc fusion."""
    out = []
    names = {"single": "the single-task models", "integrated": "the integrated model"}
    for c in claims(r):
        where = names[c["matrix"]]
        if c["claim"] == "transfer":
            by_target = []
            for target in dict.fromkeys(x["target"] for x in c["cells"]):
                cells = [x for x in c["cells"] if x["target"] == target]
                metric = MAIN[target]
                by_target.append(
                    f"{target} " + ", ".join(
                        f"from {x['source']} {shown(x['value'], metric)}" for x in cells
                    ) + f" (own {shown(cells[0]['own'], metric)}, no model "
                    f"{shown(cells[0]['floor'], metric)})"
                )  # fmt: skip
            out.append(
                f"Features of one task for another ({where}): {c['summary']}. Scores: "
                + "; ".join(by_target)
                + f". The paper's claim that they can be used for related tasks {c['verdict']}."
            )
        elif c["claim"] == "id-on-race":
            out.append(
                f"Identity's features on race ({where}): {shown(c['value'], 'accuracy')} against "
                f"race's own {shown(c['own'], 'accuracy')}, "
                f"{change_text(c['value'], c['own'], 'accuracy')}: the paper's claim that they "
                f"beat race's own {c['verdict']}."
            )
    fusion = [c for c in claims(r) if c["claim"] == "fusion"]
    for kind in names:
        chosen = [c for c in fusion if c["matrix"] == kind]
        if not chosen:
            continue
        parts = [
            f"{c['target']} {shown(c['value'], c['metric'])} against "
            f"{shown(c['own'], c['metric'])} ({change_text(c['value'], c['own'], c['metric'])}, "
            f"paper {'over ' if c['target'] in PAPER_OVER else ''}+{c['paper_percent']:g} %: "
            f"{c['verdict']})"
            for c in chosen
        ]
        out.append(f"Fusion against each task's own features ({names[kind]}): " + "; ".join(parts)
                   + ".")  # fmt: skip
    compared = integrated_vs_fusion(r)
    parts = []
    for task, values in compared.items():
        metric, faces = MAIN[task], scored_faces(r, task)
        single, integrated, posthoc = (
            values[k] for k in ("single", "integrated", "posthoc_fusion")
        )
        if single is None or integrated is None:
            continue
        text = (
            f"{task}: integrated {shown(integrated, metric)} against single-task "
            f"{shown(single, metric)} ({change_text(integrated, single, metric)}"
            f"{noise_words(integrated, single, faces, metric)})"
        )
        if posthoc is not None:
            text += (
                f", post-hoc fusion {shown(posthoc, metric)} "
                f"({change_text(posthoc, integrated, metric)} on the integrated model"
                f"{noise_words(posthoc, integrated, faces, metric)})"
            )
        best = best_way(values, metric)
        parts.append(text + ("" if best is None else f"; best: {COMPARED[best]}"))
    if parts:
        out.append("The integrated model against post-hoc fusion (test splits): "
                   + "; ".join(parts) + ".")  # fmt: skip
    if out:
        out.append(
            'One seed and one carving of the data: "beyond noise" means more than two '
            "standard errors of the difference (binomial for accuracies, MAE / sqrt(faces) for "
            "age), a rough bar; another seed moves every number."
        )
    else:
        out.append("Nothing is done yet: no model is scored and no matrix is probed.")
    return out


# ---------------------------------------------------------------------------------------------
# the report


def matrix_table(matrix: dict[str, Any], floors: dict[str, Any]) -> str:
    """Rows the feature sources, ``own`` and ``fused``, then the no-model floor; columns the
    targets; the best of each column in bold."""
    targets = matrix["targets"]
    headers = ["features"] + [
        f"{task} {t['metric']} ({'years' if t['unit'] else '%'}, "
        f"{'higher' if t['higher_is_better'] else 'lower'} is better)"
        for task, t in targets.items()
    ]
    rows = []
    for row in matrix["rows"]:
        cells = [row]
        for t in targets.values():
            value = t["scores"][row]
            best = (max if t["higher_is_better"] else min)(t["scores"].values())
            text = shown(value, t["metric"])
            cells.append(f"**{text}**" if value == best else text)
        rows.append(cells)
    rows.append(["no model"] + [shown(floors[task]["value"], t["metric"])
                                for task, t in targets.items()])  # fmt: skip
    faces = ", ".join(f"{task} {t['samples']['train']} / {t['samples']['test']}"
                      for task, t in targets.items())  # fmt: skip
    return table(headers, rows) + f"\n\nFaces (train / test): {faces}."


def markdown(r: dict[str, Any]) -> str:
    s = r["settings"]
    utk = s["utkface"]
    first = "" if utk["test_files"] is None else f", the first {utk['test_files']} of them"
    lines = [
        f"# Features across tasks: post-hoc fusion and the integrated model ({s['scale']} scale)",
        "",
        provenance(f"bench/fusion.py --scale {s['scale']}", r),
        "",
        "Li and Zhu train four single-task classifiers (race, age, gender, identity), extract "
        "each one's features and train every task on the other tasks' features and on all of "
        "them fused. Here: identity on LFW (158 people), age, gender and race on UTKFace "
        f"(`crop_part1`), each a model of `{s['manifest']}`, and one integrated model of the four "
        "trained across the two datasets; the probe matrices are `ifan probe` with "
        f"{s['head']} heads trained {s['probe_epochs']} epochs on each target's training faces.",
        "",
        f"Test splits, the same in every row: LFW holds out {s['lfw']['test_per_person']} "
        f"photo(s) of each person ({s['lfw']['val_per_person']} more for validation); UTKFace is "
        f"carved by file ({utk['test']} test files, a SHA-256 of the name below "
        f"{utk['test_fraction']:g}{first}; "
        f"{utk['train']} training files; digest {utk['digest']}).",
        "",
        "## Each run",
        "",
    ]  # fmt: skip
    rows = []
    for name, m in r["models"].items():
        speed = m["speed"] or {}
        seconds = m["seconds"].get("train")
        rows.append([
            name, ",".join(m["tasks"]),
            "-" if seconds is None else f"{seconds / 60:.1f} min"
            + (" (resumed: last part)" if m["seconds"].get("resumed") else ""),
            speed.get("updates", "-"),
            *(f"{speed[k]:.3f}" if k in speed else "-"
              for k in ("stage_1_seconds_per_update", "stage_2_seconds_per_round")),
            "yes" if m["test"] is not None else "not yet",
        ])  # fmt: skip
    lines += [
        table(["model", "tasks", "training", "updates", "s / update, stage 1",
               "s / round, stage 2", "scored"], rows),
        "",
        "Commands (from the repository root; the plugins installed in the folder on "
        "`PYTHONPATH` by the script):",
        "",
        "```console",
        *(f"$ {m['command']}" for m in r["models"].values() if m["command"]),
        *(f"$ {m['command']}" for m in r["matrices"].values() if m),
        "```",
        "",
        "Each model is then scored by `ifan eval` on its test splits: `ifan eval "
        "WORK/<model>/run --split test --json WORK/<model>/test.json`. A resumed training's "
        "speeds include its restart.",
        "",
    ]  # fmt: skip
    titles = {
        "single": "The matrix of the single-task models (post-hoc fusion)",
        "integrated": "The matrix of the integrated model",
    }
    for kind, matrix in r["matrices"].items():
        lines += [f"## {titles[kind]}", ""]
        if matrix is None:
            lines += ["Not probed yet.", ""]
            continue
        lines += [
            "Rows: the features a head learns from (a task's, `own`: the target's own, "
            "`fused`: all side by side); columns: the targets, on their test splits. Identity's "
            "accuracy is top-1 over its people.",
            "",
            matrix_table(matrix, r["no_model"]),
            "",
        ]
    lines += ["## Each model's own test scores", ""]
    rows = []
    for name, m in r["models"].items():
        for task in m["tasks"]:
            test = m["test"] or {}
            extra = {
                "identity": ("top5", "verification_accuracy", "eer"),
                "age": ("cs5",),
                "gender": ("mean_accuracy",),
                "race": ("mean_accuracy",),
            }[task]
            more = ", ".join(
                f"{k} {100 * test[f'{task}.{k}']:.1f} %" for k in extra if f"{task}.{k}" in test
            )
            rows.append([name, task, shown(test.get(f"{task}.{MAIN[task]}"), MAIN[task]),
                         more or "-"])  # fmt: skip
    lines += [table(["model", "task", "main", "other values"], rows), ""]
    lines += ["## The integrated model beside post-hoc fusion", ""]
    compared = integrated_vs_fusion(r)
    rows = [
        [task, *(shown(v, MAIN[task]) for v in values.values())]
        for task, values in compared.items()
    ]
    lines += [table(["task", *COMPARED.values()], rows), ""]
    lines += ["## The paper's claims beside ours", ""]
    rows = []
    for c in claims(r):
        if c["claim"] == "transfer":
            ours = c["summary"]
        elif c["claim"] == "id-on-race":
            ours = (f"identity -> race {shown(c['value'], 'accuracy')}, own "
                    f"{shown(c['own'], 'accuracy')}")  # fmt: skip
        else:
            ours = (
                f"{c['target']}: fused {shown(c['value'], c['metric'])}, own "
                f"{shown(c['own'], c['metric'])}, "
                f"{change_text(c['value'], c['own'], c['metric'])} (paper: "
                f"{'over ' if c['target'] in PAPER_OVER else ''}+{c['paper_percent']:g} %)"
            )
        rows.append([PAPER_CLAIMS[c["claim"]], c["matrix"], ours, c["verdict"]])
    lines += [
        table(["the paper", "matrix", "here", "verdict"], rows) if rows else "No matrix yet.",
        "",
        "The paper gives its gains in % without saying of what; here both the change in "
        "points (years for age) and the relative change against the target's own features. "
        "Its age task classifies age groups; here age is regressed and scored by MAE.",
        "",
        "## What this shows",
        "",
        *[f"- {line}" for line in r["findings"]],
        "",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def check_data(data: Path) -> None:
    """Stop with a clear message when ``data`` lacks LFW or UTKFace's crop_part1."""
    for needed in (data / "lfw", data / "utkface" / "crop_part1"):
        if not needed.is_dir():
            raise SystemExit(f"{needed}: not a folder; give --data, laid out like ../shared/data")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    scale = SCALES[args.scale]
    work = args.work / args.scale
    out = args.out or (ROOT / "bench" / "results" if args.scale == "full" else work / "results")
    check_data(args.data)
    carving = utkface_split(args.data, scale)
    context = {"work": work, "scale": scale, "carving": carving}
    for model in MODELS:  # before touching anything: a run of other settings stops the script
        check_recipe(work / model.name, recipe(model, scale, carving["digest"]))
    if not args.report_only:
        install_plugins(SITE)
        context["env"] = environment(SITE, args.threads)
        context["utkface"] = make_utkface_folders(carving, work / "utkface")
        trained = set()
        for index, model in enumerate(MODELS, 1):
            print(f"[{index}/{len(MODELS)}] {model.name}", flush=True)
            if run_model(model, args, context):
                trained.add(model.name)
        for kind, names in MATRICES.items():
            if trained & set(names):  # its features and matrix came from weights since retrained
                shutil.rmtree(work / "features" / kind, ignore_errors=True)
                (work / f"probe-{kind}" / "probe.json").unlink(missing_ok=True)
        for kind in MATRICES:
            run_probe(kind, args, context)
    result = collect(args, context)
    result["seconds"] = time.perf_counter() - started
    write_results(out, "fusion", result, findings, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
