"""How long ``make demo`` takes and what its model learns: the quick start's promise, measured.

Runs ``make demo`` (synthetic faces, the 3-task model of ``examples/demo.toml``, its test scores)
and writes ``bench/results/demo.{json,md}``: the wall time of the whole target and of the
training, and every test score of ``build/demo/eval.json`` against the quick start's targets:
every parsing class above 50 % F1 and landmarks below 10 % NME.

    .venv/bin/python bench/demo.py
"""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import machine, provenance, table, versions, write_results  # noqa: E402

F1 = "parsing.f1_"
GROUPS = ("eyes", "brows", "overall")
"""The merged groups of examples/demo.toml: not classes of their own."""


def findings(r: dict[str, Any]) -> list[str]:
    s = r["scores"]
    classes = {
        k[len(F1) :]: v for k, v in s.items() if k.startswith(F1) and k[len(F1) :] not in GROUPS
    }
    weakest = min(classes, key=classes.get)
    return [
        f"`make demo` took {r['seconds']:.0f} s, of which training {r['train_seconds']:.0f} s",
        f"weakest parsing class {weakest}: {classes[weakest]:.1%} F1 "
        f"({'above' if classes[weakest] > 0.5 else '**below**'} the 50 % target)",
        f"landmarks NME {s['landmarks.nme']:.2%} "
        f"({'below' if s['landmarks.nme'] < 0.1 else '**above**'} the 10 % target)",
        f"emotion accuracy {s['emotion.accuracy']:.1%}",
    ]


def markdown(r: dict[str, Any]) -> str:
    rows = [[key, f"{value:.2%}"] for key, value in sorted(r["scores"].items())]
    return (
        "\n\n".join(
            [
                "# `make demo`: time and test scores",
                provenance("bench/demo.py", r),
                "Command: `make demo` (timed whole), with nothing else running.",
                "## What this shows\n\n" + "\n".join(f"- {line}" for line in findings(r)),
                table(["score (test split)", "value"], rows),
            ]
        )
        + "\n"
    )


def main() -> int:
    started = time.perf_counter()
    done = subprocess.run(["make", "demo"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        return done.returncode
    trained = re.search(r"done: \d+ updates in (\d+) s", done.stdout)
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(len(os.sched_getaffinity(0))),
        "versions": versions(),
        "seconds": seconds,
        "train_seconds": float(trained.group(1)) if trained else float("nan"),
        "scores": json.loads((ROOT / "build" / "demo" / "eval.json").read_text()),
    }
    write_results(ROOT / "bench" / "results", "demo", result, findings, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
