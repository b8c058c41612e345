"""The command-line options several benchmarks share, each with one meaning and one default."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.lib.paths import DATA, RESULTS


def parser(doc: str | None) -> argparse.ArgumentParser:
    """A benchmark's parser, described by the first paragraph of its module's docstring."""
    return argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])


def add_data(parser: argparse.ArgumentParser, help: str = "a folder laid out like ../shared/data"):
    """``--data``: the real datasets (default ``../shared/data``)."""
    parser.add_argument("--data", type=Path, default=DATA, help=help)


def add_out(
    parser: argparse.ArgumentParser, default: Path | None = RESULTS, help: str = ""
) -> None:
    """``--out``: where the results go (default ``bench/results``)."""
    parser.add_argument(
        "--out", type=Path, default=default, help=help or "where the JSON and Markdown go"
    )


def add_name(parser: argparse.ArgumentParser, default: str) -> None:
    """``--name``: the results' file name in ``--out``."""
    parser.add_argument("--name", default=default, help=f"results file name ({default})")


def add_work(parser: argparse.ArgumentParser, default: Path, help: str) -> None:
    """``--work``: the folder of a resumable benchmark's runs."""
    parser.add_argument("--work", type=Path, default=default, help=help)


def add_threads(parser: argparse.ArgumentParser, default: int, help: str) -> None:
    """``--threads N``: torch threads (what each benchmark applies them to, ``help`` says)."""
    parser.add_argument("--threads", type=int, default=default, metavar="N", help=help)


def add_report_only(parser: argparse.ArgumentParser, help: str) -> None:
    """``--report-only``: write the report from what is already measured, measuring nothing."""
    parser.add_argument("--report-only", action="store_true", help=help)


def add_update_timing(parser: argparse.ArgumentParser, name: str) -> None:
    """The options of a benchmark that times the recipe's updates on replayed real batches:
    ``--data``, ``--repeats`` (5), ``--threads`` (2, the recipe's), ``--out``, ``--name`` and
    ``--report-only``."""
    add_data(parser)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per variant (5)")
    add_threads(parser, 2, "torch threads (2, the recipe's)")
    add_out(parser)
    add_name(parser, name)
    add_report_only(parser, "measure nothing: rewrite the report from OUT/NAME.json")
