"""How long ``make demo`` takes and what its model learns: the quick start's promise, measured.

Runs ``make demo`` (synthetic faces, the 3-task model of ``examples/demo.toml``, its test scores)
and writes ``bench/results/demo.{json,md}``: the wall time of the whole target and of the
training, and every test score of ``build/demo/eval.json`` against the quick start's targets:
every parsing class above 50 % F1 and landmarks below 10 % NME.

    .venv/bin/python -m bench.demo
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from bench.lib.paths import RESULTS, ROOT
from bench.lib.results import header, write_results
from bench.reports import demo as report


def main() -> int:
    """Run and time ``make demo``, then write its results; ``make demo``'s exit when it fails."""
    started = time.perf_counter()
    done = subprocess.run(["make", "demo"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        return done.returncode
    trained = re.search(r"done: \d+ updates in (\d+) s", done.stdout)
    result = {
        **header(len(os.sched_getaffinity(0))),
        "seconds": seconds,
        "train_seconds": float(trained.group(1)) if trained else float("nan"),
        "scores": json.loads((ROOT / "build" / "demo" / "eval.json").read_text()),
    }
    write_results(RESULTS, "demo", result, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
