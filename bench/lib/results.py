"""A benchmark's results file: ``OUT/<name>.json`` (every setting, every raw number and the
findings) beside its report, ``OUT/<name>.md``; and how a result says it was made."""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from bench.lib.environment import machine, versions

PYTHON = ".venv/bin/python"
"""The project's interpreter, as the commands in results and reports name it."""


def command_line(script: str, argv: list[str] | None = None) -> str:
    """How a result was made, as a reader reruns it from the repository root:
    ``.venv/bin/python -m bench.<script> ARGUMENTS`` (``argv``; default this process's)."""
    arguments = sys.argv[1:] if argv is None else argv
    return shlex.join([PYTHON, "-m", f"bench.{script}", *arguments])


def timestamp() -> str:
    """Now, as results record it: ``2026-12-06 13:05 UTC``."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def header(threads: int) -> dict[str, Any]:
    """What every result opens with: its date, the machine and the versions."""
    return {"date": timestamp(), "machine": machine(threads), "versions": versions()}


class Report(Protocol):
    """A benchmark's report (a module of :mod:`bench.reports`): functions of its results."""

    def findings(self, r: dict[str, Any]) -> list[str]:
        """The "what this shows" sentences, every number from ``r``."""
        ...

    def markdown(self, r: dict[str, Any]) -> str:
        """The whole report, ``r["findings"]`` among it."""
        ...


def write_results(out: Path, name: str, result: dict[str, Any], report: Report) -> None:
    """``result`` with its findings as ``OUT/<name>.json``, and its report as ``OUT/<name>.md``."""
    result["findings"] = report.findings(result)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(report.markdown(result))
    print(f"wrote {out / name}.json and {out / name}.md")


def write_timings(
    args: argparse.Namespace,
    script: str,
    argv: list[str] | None,
    seconds: dict[str, dict[str, list]],
    start: float,
    report: Report,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write an interleaved timing benchmark's results (``seconds_per_call`` by case and variant,
    the machine, command and settings, its own duration since ``start``, and ``extra``'s keys)
    and its report."""
    result = {
        **header(args.threads),
        "command": command_line(script, argv),
        "settings": {k: str(v) for k, v in vars(args).items()},
        "seconds_per_call": seconds,
        "seconds": round(time.perf_counter() - start, 1),
        **(extra or {}),
    }
    write_results(args.out, args.name, result, report)


def read_results(out: Path, name: str) -> dict[str, Any]:
    """``OUT/<name>.json``; a clear stop when there is none."""
    path = out / f"{name}.json"
    if not path.is_file():
        raise SystemExit(
            f"{path}: no results to report on; run the benchmark first, or give the --out (and "
            "--name) it wrote to"
        )
    return json.loads(path.read_text())


def rewrite_report(out: Path, name: str, report: Report) -> None:
    """``--report-only``: ``OUT/<name>.md`` and the findings in ``OUT/<name>.json`` written again
    from that file's results, after a change to the report's code; nothing measured."""
    write_results(out, name, read_results(out, name), report)
