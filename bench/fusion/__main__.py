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
test when the SHA-256 of its name falls in the first 15 % (:mod:`bench.fusion.carving`), into
folders of symbolic links in ``WORK/utkface/{train,test}`` that age, gender and race read.

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

Resumable, like ``python -m bench.reproduce``: a model lives in ``WORK/<scale>/<name>/`` with the
settings it was trained with (``recipe.json``); a finished step (training, its evaluation, a
matrix) is not redone, a stopped training continues from its last checkpoint (``ifan train
--resume``), a matrix reuses the features already extracted
(``WORK/<scale>/features/<matrix>``; a model trained again makes its scores and matrix stale,
and they are redone), and a folder of other settings stops the script instead of being mixed in.
Kill it and run the same command again.

    .venv/bin/python -m bench.fusion --scale quick --threads 1   # the plumbing, minutes
    .venv/bin/python -m bench.fusion                              # full: about 2 hours
    .venv/bin/python -m bench.fusion --report-only                # the report from what is done
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from bench.fusion.carving import make_utkface_folders, utkface_split
from bench.fusion.collect import collect
from bench.fusion.commands import data_settings, recipe
from bench.fusion.design import MATRICES, MODELS, SCALES
from bench.fusion.plugins import SITE, install_plugins
from bench.fusion.runs import check_recipe, run_model, run_probe
from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.results import write_results
from bench.lib.runs import ifan_environment
from bench.reports import fusion as report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The scale, the data, the runs' folder, the threads, the probe heads and where the report
    goes."""
    parser = options.parser(__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    options.add_data(
        parser, "a folder holding lfw/ and utkface/crop_part1/, laid out like ../shared/data"
    )
    options.add_work(
        parser,
        ROOT / "build" / "bench-fusion",
        "runs, features and scores, in WORK/<scale>/ (resumable)",
    )
    options.add_out(
        parser,
        None,
        "where fusion.{json,md} go (default: bench/results at the full scale, "
        "WORK/<scale>/results otherwise)",
    )
    options.add_threads(parser, 1, "torch threads of every ifan command (0: torch's default)")
    parser.add_argument(
        "--head",
        choices=("linear", "mlp"),
        default="linear",
        help="the probe heads (ifan probe --head)",
    )
    options.add_report_only(parser, "run nothing: write the report from what WORK holds")
    return parser.parse_args(argv)


def check_data(data: Path) -> None:
    """Stop with a clear message when ``data`` lacks LFW or UTKFace's crop_part1."""
    for needed in (data / "lfw", data / "utkface" / "crop_part1"):
        if not needed.is_dir():
            raise SystemExit(f"{needed}: not a folder; give --data, laid out like ../shared/data")


def run_all(args: argparse.Namespace, work: Path, carving: dict) -> None:
    """Train and score every model, then probe each matrix; a matrix whose models were trained
    again is probed again, its features extracted anew."""
    scale = SCALES[args.scale]
    install_plugins(SITE)
    env = ifan_environment(args.threads, SITE)
    utkface = make_utkface_folders(carving, work / "utkface")
    trained = set()
    for index, model in enumerate(MODELS, 1):
        print(f"[{index}/{len(MODELS)}] {model.name}", flush=True)
        expected = recipe(model, scale, carving["digest"])
        paths = data_settings(model, args.data, utkface)
        if run_model(model, work / model.name, expected, paths, args.threads, env):
            trained.add(model.name)
    for kind, names in MATRICES.items():
        if trained & set(names):  # its features and matrix came from weights since retrained
            shutil.rmtree(work / "features" / kind, ignore_errors=True)
            (work / f"probe-{kind}" / "probe.json").unlink(missing_ok=True)
    for kind in MATRICES:
        run_probe(kind, work, args.head, scale.probe_epochs, env)


def main(argv: list[str] | None = None) -> int:
    """Train, score and probe what is not done yet (unless ``--report-only``), then write the
    report."""
    args = parse_args(argv)
    started = time.perf_counter()
    scale = SCALES[args.scale]
    work = args.work / args.scale
    out = args.out or (ROOT / "bench" / "results" if args.scale == "full" else work / "results")
    check_data(args.data)
    carving = utkface_split(args.data, scale)
    for model in MODELS:  # before touching anything: a run of other settings stops the script
        check_recipe(work / model.name, recipe(model, scale, carving["digest"]))
    if not args.report_only:
        run_all(args, work, carving)
    result = collect(work, args.data, args.scale, scale, carving, args.threads, args.head)
    result["seconds"] = time.perf_counter() - started
    write_results(out, "fusion", result, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
